"""Load test of `embedlab serve` on loopback: 16 concurrent clients, 2,000 requests of 1-8 sentences.

Run: .venv/bin/python benchmarks/server_load.py [REQUESTS] [CLIENTS]   (BACKENDS=torch,onnx)

The server (all-MiniLM-L6-v2, torch, 2 threads, micro-batching, the model in its own worker
process as `embedlab serve` does by default) runs on 127.0.0.1; 16 clients send OpenAI-style
requests (base64 vectors, as the official client does) over keep-alive connections from one
asyncio loop, written as raw HTTP/1.1: the clients share the 2 cores with the server, and a lean
load generator keeps that share small (httpx took ~0.65 ms of CPU a request). Reported: errors,
throughput in sentences/s against in-process batched encoding of the same sentences (one call,
in a fresh process, measured before and after the server run and averaged; goal >= 90%), and
latency percentiles. Bounded: the run stops after the requests or 600 s, whichever comes first.
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


def one(backend: str, jobs: list[list[str]], clients: int) -> list[list[str]]:
    requests, sentences = len(jobs), sum(len(j) for j in jobs)
    source = "default"
    if backend == "onnx":
        from encoders import onnx_folder

        source = str(onnx_folder())
    flat = [s for j in jobs for s in j]

    def in_process() -> float:
        """Sentences/s of one batched call, in a fresh process like the server's worker."""
        make = (
            "TransformerEncoder(threads=2)"
            if backend == "torch"
            else "load_encoder(src, threads=2)"
        )
        code = (
            "import sys, time, json\n"
            "from embedlab.encoders import TransformerEncoder, load_encoder\n"
            "flat, src = json.loads(sys.stdin.read()), sys.argv[1]\n"
            f"enc = {make}\n"
            "enc.encode(flat[:64])\n"
            "t = time.perf_counter()\n"
            "enc.encode(flat)\n"
            "print(len(flat) / (time.perf_counter() - t))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, source], input=json.dumps(flat), capture_output=True,
            text=True, check=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "2"},
        )  # fmt: skip
        return float(out.stdout.strip().splitlines()[-1])

    before = in_process()

    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    wait = os.environ.get("MAX_WAIT_MS", "5")
    server, url = start_server(["-m", f"minilm={source}", "--max-wait-ms", wait], env)
    try:
        import httpx

        asyncio.run(drive(url, jobs[:32], clients))  # warm-up
        busy0 = httpx.get(f"{url}/health").json()["encoder_busy_seconds"]["minilm"]
        t = time.perf_counter()
        cpu, server_cpu = time.process_time(), cpu_seconds(server.pid)
        latencies, errors = asyncio.run(drive(url, jobs, clients))
        took = time.perf_counter() - t
        client_cpu = time.process_time() - cpu
        server_cpu = {k: v - server_cpu.get(k, 0.0) for k, v in cpu_seconds(server.pid).items()}
        health = httpx.get(f"{url}/health").json()
        calls = health["encoder_calls"]["minilm"]
        busy = health["encoder_busy_seconds"]["minilm"]
    finally:
        server.terminate()
        server.wait(30)
    after = in_process()
    inproc = (before + after) / 2  # the machine's speed drifts by a few % between minutes
    served = sentences / took
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
            f"mean of {before:,.0f} before and {after:,.0f} after the server run",
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
            f"{busy - busy0:.1f} s of {took:.1f} s",
            f"{(busy - busy0) / took:.0%} of the run",
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
