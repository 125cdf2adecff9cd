"""Load test of `embedlab serve` on loopback: 16 concurrent clients, 2,000 requests of 1-8 sentences.

Run: .venv/bin/python benchmarks/server_load.py [REQUESTS] [CLIENTS]   (BACKENDS=torch,onnx)

The server (all-MiniLM-L6-v2, torch, 2 threads, micro-batching, the model in its own worker
process as `embedlab serve` does by default) runs on 127.0.0.1; 16 clients send OpenAI-style
requests (base64 vectors, as the official client does) over keep-alive connections from one
asyncio loop, written as raw HTTP/1.1: the clients share the 2 cores with the server, and a lean
load generator keeps that share small (httpx took ~0.65 ms of CPU a request). Reported: errors,
throughput in sentences/s against in-process batched encoding of the same sentences (goal >=
90%), and latency percentiles. This host's speed drifts by 10-20% within minutes, more than the
gap being measured, so the two are interleaved: the requests are served in four parts, and the
same encoder in a process of its own encodes each part's sentences in one batched call just
before or just after that part (alternating). Bounded: each part stops after its requests or
600 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import ROOT, machine, start_server, table
from encoders import corpus_sentences


def workload(requests: int) -> list[list[str]]:
    pool = corpus_sentences(4000)
    rng = random.Random(0)
    return [rng.sample(pool, rng.randint(1, 8)) for _ in range(requests)]


async def drive(url: str, jobs: list[list[str]], clients: int) -> tuple[list[float], int]:
    """``clients`` keep-alive connections, each sending its next request when the last returns."""
    host, port = url.removeprefix("http://").split(":")
    queue: asyncio.Queue[list[str]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies: list[float] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while not queue.empty():
                job = queue.get_nowait()
                body = json.dumps(
                    {"model": "minilm", "input": job, "encoding_format": "base64"}
                ).encode()
                t = time.perf_counter()
                writer.write(
                    b"POST /v1/embeddings HTTP/1.1\r\nHost: %s\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (host.encode(), len(body), body)
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                data = await reader.readexactly(int(length.group(1))) if length else b""
                latencies.append(time.perf_counter() - t)
                ok = head.startswith(b"HTTP/1.1 200") and data
                if not ok or len(json.loads(data)["data"]) != len(job):
                    errors += 1
        finally:
            writer.close()

    await asyncio.wait_for(asyncio.gather(*[client() for _ in range(clients)]), 600)
    return latencies, errors


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of process ``pid`` and of each of its children, by name."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(p: str) -> tuple[int, float]:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick

    out = {"server": stat(str(pid))[1]}
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent, seconds = stat(p)
            if parent == pid:
                name = Path(f"/proc/{p}/cmdline").read_text().replace("\0", " ")
                key = "worker" if "spawn_main" in name else "other"
                out[key] = out.get(key, 0.0) + seconds
        except OSError:
            continue
    return out


_IN_PROCESS = """
import json, sys, time
from embedlab.encoders import TransformerEncoder, load_encoder
enc = TransformerEncoder(threads=2) if sys.argv[1] == "torch" else load_encoder(sys.argv[2], threads=2)
enc.encode(["warm up"] * 64)
print("ready", flush=True)
for line in sys.stdin:
    texts = json.loads(line)
    t = time.perf_counter()
    enc.encode(texts)
    print(time.perf_counter() - t, flush=True)
"""


class InProcess:
    """The same encoder in a process of its own (as the server's worker is), encoding a list of
    sentences in one batched call when asked: the in-process figure, measured between the
    server's parts so that both see the same minutes of this host."""

    def __init__(self, backend: str, source: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _IN_PROCESS, backend, source], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "2"},
        )  # fmt: skip
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def seconds(self, texts: list[str]) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(texts) + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


def one(backend: str, jobs: list[list[str]], clients: int, segments: int = 4) -> list[list[str]]:
    """Serve ``jobs`` in ``segments`` parts; before or after each part (alternating, so a steady
    drift of the host's speed cancels) the in-process encoder encodes that part's sentences."""
    requests, sentences = len(jobs), sum(len(j) for j in jobs)
    source = "default"
    if backend == "onnx":
        from encoders import onnx_folder

        source = str(onnx_folder())
    parts = [
        jobs[i * len(jobs) // segments : (i + 1) * len(jobs) // segments] for i in range(segments)
    ]
    local = InProcess(backend, source)
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    wait = os.environ.get("MAX_WAIT_MS", "5")
    server, url = start_server(["-m", f"minilm={source}", "--max-wait-ms", wait], env)
    took = local_took = client_cpu = busy = 0.0
    server_cpu: dict[str, float] = {}
    latencies: list[float] = []
    errors, ratios = 0, []
    try:
        import httpx

        asyncio.run(drive(url, jobs[:32], clients))  # warm-up
        for i, part in enumerate(parts):
            flat = [s for j in part for s in j]
            if i % 2:
                local_seconds = local.seconds(flat)
            busy0 = httpx.get(f"{url}/health").json()["encoder_busy_seconds"]["minilm"]
            t = time.perf_counter()
            cpu, cpu0 = time.process_time(), cpu_seconds(server.pid)
            lat, err = asyncio.run(drive(url, part, clients))
            served_seconds = time.perf_counter() - t
            client_cpu += time.process_time() - cpu
            for k, v in cpu_seconds(server.pid).items():
                server_cpu[k] = server_cpu.get(k, 0.0) + v - cpu0.get(k, 0.0)
            health = httpx.get(f"{url}/health").json()
            busy += health["encoder_busy_seconds"]["minilm"] - busy0
            if not i % 2:
                local_seconds = local.seconds(flat)
            latencies += lat
            errors += err
            took += served_seconds
            local_took += local_seconds
            ratios.append(local_seconds / served_seconds)
        calls = health["encoder_calls"]["minilm"]
    finally:
        server.terminate()
        server.wait(30)
        local.close()
    inproc = sentences / local_took
    served = sentences / took
    spread = " / ".join(f"{r:.0%}" for r in ratios)
    lat = np.array(latencies) * 1000
    return [
        [backend, "requests / sentences", f"{requests:,} / {sentences:,}", "-"],
        [backend, "errors", str(errors), "goal 0"],
        [
            backend,
            "throughput, served",
            f"{served:,.0f} sentences/s",
            f"{served / inproc:.1%} of in-process (goal >= 90%)",
        ],
        [
            backend,
            "throughput, in-process batched",
            f"{inproc:,.0f} sentences/s",
            f"between the served parts; per part served / in-process: {spread}",
        ],
        [
            backend,
            "client CPU (same 2 cores)",
            f"{client_cpu:.1f} s of {took:.1f} s",
            f"{client_cpu / (2 * took):.0%} of the machine",
        ],
        [
            backend,
            "server CPU: HTTP process / encoder process",
            f"{server_cpu['server']:.1f} s / {server_cpu.get('worker', 0.0):.1f} s",
            f"{server_cpu['server'] / len(jobs) * 1000:.2f} ms of HTTP-side CPU a request",
        ],
        [
            backend,
            "encoder busy",
            f"{busy:.1f} s of {took:.1f} s",
            f"{busy / took:.0%} of the run",
        ],
        [
            backend,
            "latency p50 / p90 / p99",
            f"{np.percentile(lat, 50):.0f} / {np.percentile(lat, 90):.0f} / "
            f"{np.percentile(lat, 99):.0f} ms",
            f"{clients} concurrent clients",
        ],
        [
            backend,
            "encoder calls",
            f"{calls:,} (incl. warm-up)",
            f"{(requests + 32) / calls:.1f} requests per call",
        ],
    ]


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    jobs = workload(requests)
    backends = os.environ.get("BACKENDS", "torch,onnx").split(",")
    rows = [row for backend in backends for row in one(backend, jobs, clients)]
    print(f"# server_load ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(table(["backend", "measure", "value", "note"], rows))


if __name__ == "__main__":
    main()
