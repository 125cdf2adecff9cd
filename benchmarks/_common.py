"""Helpers shared by the benchmark scripts: timing and table printing (no product logic here)."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
WORK = ROOT / "benchmarks" / "_work"


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Fastest wall time of ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    """The CPU model, cores, Python, and the instruction sets the kernels can use: AVX-512 (with
    bf16 / VNNI) or AVX2, AMX or not, and the CPU LLVM (numba) compiles for."""
    import os

    cpu = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:  # the model name (Intel with AMX and AMD EPYC hosts differ)
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            lines = f.read().splitlines()
        cpu = next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
        flags = set(next(ln for ln in lines if ln.startswith("flags")).split(":", 1)[1].split())
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {isa(flags)}"


def isa(flags: set[str]) -> str:
    """``AVX-512 (bf16, VNNI), no AMX, LLVM target znver4`` from /proc/cpuinfo's flags."""
    if "avx512f" in flags:
        extra = [name for flag, name in (("avx512_bf16", "bf16"), ("avx512_vnni", "VNNI"))
                 if flag in flags]  # fmt: skip
        parts = ["AVX-512" + (f" ({', '.join(extra)})" if extra else "")]
    else:
        parts = ["AVX2" if "avx2" in flags else "no AVX2"]
    parts.append("AMX" if "amx_tile" in flags else "no AMX")
    try:
        from llvmlite import binding

        parts.append(f"LLVM target {binding.get_host_cpu_name()}")
    except ImportError:
        pass
    return ", ".join(parts)


def start_server(args: list[str], env: dict[str, str]) -> tuple[Any, str]:
    """``embedlab serve ARGS`` on a free loopback port: the process and its URL, once ``/health``
    answers (at most 120 s). The caller terminates it."""
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "embedlab", "-q", "serve", *args, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError(f"the server did not start: {server.communicate()[1][-2000:]!r}")
