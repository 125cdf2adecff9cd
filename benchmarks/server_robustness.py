"""A hostile client against `embedlab serve` on loopback, then ordinary load: does it hold up?

Run: .venv/bin/python benchmarks/server_robustness.py

The server (`embedlab serve -c config.json`: all-MiniLM-L6-v2 in its own worker process, a search
collection and a FAQ, EMBEDLAB_API_KEY set, header/body deadlines of 2 s) first gets ~200 bad
requests: malformed JSON, wrong types, huge and deeply nested inputs, bad tokens, traversal-like
names and paths, SQL-like filters, wrong methods; then idle, slow (slowloris), half-sent and
abandoned connections; then 64 clients x 20 ordinary requests. Checked: every bad request gets a
4xx in OpenAI's error shape (never a 500), `/health` answers after each one, the server closes
the slow connections itself, the load runs without errors, and the resident memory of the server
and its worker stays bounded. Bounded: ~250 bad requests, 1,280 good ones, 600 s at most.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from _common import ROOT, WORK, machine, start_server, table

KEY = "bench-key-" + "x" * 16
AUTH = {"authorization": f"Bearer {KEY}"}
FAQ_ROWS = [
    ("How do I reset my password?", "Use the reset link on the sign-in page."),
    ("I forgot my password", "Use the reset link on the sign-in page."),
    ("Where is my parcel?", "Track it with the number in your confirmation e-mail."),
    ("How long does delivery take?", "Three to five working days."),
    ("Can I pay by bank transfer?", "Yes, and by card."),
    ("How do I get a refund?", "Open the order and choose 'return'."),
]
DOCS = [
    {"id": f"d{i}", "text": q + " " + a, "topic": t}
    for i, ((q, a), t) in enumerate(
        zip(FAQ_ROWS, ["account", "account", "shipping", "shipping", "billing", "billing"])
    )
]


def own_rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    except (OSError, AttributeError):
        return 0.0


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (the encoder worker), in MB."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += own_rss_mb(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    if os.environ.get("RSS_DEBUG"):
        print(f"  rss: server {own_rss_mb(pid):.0f} MB, total {total:.0f} MB", flush=True)
    return total


def setup(work: Path) -> Path:
    """A collection and a FAQ built by the CLI, and the server config naming them."""
    work.mkdir(parents=True, exist_ok=True)
    for name in ("col", "faq"):
        if (work / name).exists():
            import shutil

            shutil.rmtree(work / name)
    docs = work / "docs.jsonl"
    docs.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    faq_csv = work / "faq.csv"
    faq_csv.write_text("question,answer\n" + "".join(f'"{q}","{a}"\n' for q, a in FAQ_ROWS))
    cli = [sys.executable, "-m", "embedlab", "-q"]
    subprocess.run(
        [*cli, "index", "build", str(docs), "-o", str(work / "col"), "--meta", "topic"],
        check=True,
        cwd=ROOT,
    )
    subprocess.run(
        [*cli, "faq", "build", str(faq_csv), "-o", str(work / "faq")], check=True, cwd=ROOT
    )
    config = {
        "models": {"minilm": "default"},
        "collections": {"docs": {"path": "col"}},
        "faqs": {"support": {"path": "faq"}},
        "limits": {"header_timeout_s": 2, "body_timeout_s": 2, "request_timeout_s": 30},
    }
    (work / "server.json").write_text(json.dumps(config))
    return work / "server.json"


def bad_requests() -> list[tuple[str, str, str, Any, dict[str, str], set[int]]]:
    """(category, method, path, body, headers, allowed statuses)."""
    out: list[tuple[str, str, str, Any, dict[str, str], set[int]]] = []
    emb, srch, ask = "/v1/embeddings", "/v1/search", "/v1/faq/ask"
    raw_bodies = [
        b"",
        b"{",
        b'{"model": ',
        b"null",
        b"[]",
        b'"text"',
        b"123",
        b"\xff\xfe\x00{",
        b'{"model":"minilm","input":"x"}trailing',
        b'{"model":"minilm","input":"x",}',
        b'{"model":"minilm","input":"\\ud800"}',
        b"{'model': 'minilm'}",
        b"NaN",
        b"{" * 5000,
        b"[" * 100_000,
        b'{"a":' * 20_000,
        b'{"model":"minilm","input":"x"' + b" " * 1000,
    ]
    for path in (emb, srch, ask):
        for raw in raw_bodies:
            out.append(("malformed JSON", "POST", path, raw, {}, {400, 422}))
    wrong = [
        {"model": 1, "input": "x"},
        {"model": None, "input": "x"},
        {"model": [], "input": "x"},
        {"model": "minilm"},
        {"input": "x"},
        {"model": "minilm", "input": 1},
        {"model": "minilm", "input": None},
        {"model": "minilm", "input": {}},
        {"model": "minilm", "input": [1, 2]},
        {"model": "minilm", "input": [[1, 2]]},
        {"model": "minilm", "input": [None]},
        {"model": "minilm", "input": [""]},
        {"model": "minilm", "input": ""},
        {"model": "minilm", "input": []},
        {"model": "minilm", "input": "x", "dimensions": True},
        {"model": "minilm", "input": "x", "dimensions": "8"},
        {"model": "minilm", "input": "x", "dimensions": -1},
        {"model": "minilm", "input": "x", "dimensions": 0},
        {"model": "minilm", "input": "x", "dimensions": 10**12},
        {"model": "minilm", "input": "x", "dimensions": 1.5},
        {"model": "minilm", "input": "x", "encoding_format": "int4"},
        {"model": "minilm", "input": "x", "encoding_format": 1},
        {"model": "minilm", "input": "x", "user": {"a": 1}},
    ]
    out += [("wrong types", "POST", emb, b, {}, {422}) for b in wrong]
    wrong_search = [
        {"collection": "docs"},
        {"collection": "docs", "query": ""},
        {"collection": "docs", "query": 1},
        {"collection": "docs", "query": "x", "k": 0},
        {"collection": "docs", "query": "x", "k": "5"},
        {"collection": "docs", "query": "x", "k": 10**9},
        {"collection": "docs", "query": "x", "mode": "magic"},
        {"collection": "docs", "query": "x", "extra": 1},
        {"collection": ["docs"], "query": "x"},
    ]
    out += [("wrong types", "POST", srch, b, {}, {422}) for b in wrong_search]
    out += [
        ("wrong types", "POST", ask, b, {}, {422})
        for b in (
            {"faq": "support"},
            {"faq": "support", "question": ""},
            {"faq": "support", "question": "x", "k": 0},
            {"faq": "support", "question": "x", "k": True},
        )
    ]
    huge = [
        ("over max_inputs", {"model": "minilm", "input": ["a"] * 2049}, {422}),
        ("over max_chars", {"model": "minilm", "input": "x" * 32769}, {422}),
        ("over the body limit", {"model": "minilm", "input": ["y" * 30000] * 300}, {413}),
        ("a long query", {"collection": "docs", "query": "q" * 40000}, {422}),
        ("a long model name", {"model": "m" * 100_000, "input": "x"}, {422}),
        (
            "many filter keys",
            {"collection": "docs", "query": "x", "where": {f"k{i}": i for i in range(1001)}},
            {422},
        ),
        ("a huge integer", {"collection": "docs", "query": "x", "where": {"topic": 2**64}}, {422}),
        (
            "a nested filter",
            {"collection": "docs", "query": "x", "where": {"topic": {"$ne": 1}}},
            {422},
        ),
    ]
    for _, body, allowed in huge:
        path = emb if "model" in body else srch
        out.append(("huge and nested inputs", "POST", path, body, {}, allowed))
    tokens = [
        {},
        {"authorization": "Bearer wrong"},
        {"authorization": "Basic " + KEY},
        {"authorization": KEY},
        {"authorization": "Bearer"},
        {"authorization": "Bearer " + KEY + "x"},
        {"authorization": "Bearer " + KEY[:-1]},
        {"authorization": "Bearer " + "k" * 6000},
        {"authorization": "Token " + KEY},
    ]
    for h in tokens:
        for path in (emb, srch, ask, "/v1/models", "/docs", "/openapi.json"):
            method = "GET" if path in ("/v1/models", "/docs", "/openapi.json") else "POST"
            out.append(
                (
                    "bad tokens",
                    method,
                    path,
                    {"model": "minilm", "input": "x"},
                    {**h, "x-no-auth": "1"},
                    {401},
                )
            )
    names = [
        "../../etc/passwd",
        "..%2f..%2fetc",
        "/abs/path",
        "col\x00x",
        "C:\\windows",
        "docs/../docs",
    ]
    for n in names:
        out.append(("traversal-like names", "POST", emb, {"model": n, "input": "x"}, {}, {404}))
        out.append(
            ("traversal-like names", "POST", srch, {"collection": n, "query": "x"}, {}, {404})
        )
        out.append(("traversal-like names", "POST", ask, {"faq": n, "question": "x"}, {}, {404}))
    for p in (
        "/v1/../../etc/passwd",
        "/v1/models/..%2f..%2fserver.json",
        "/%2e%2e/server.json",
        "/col/collection.sqlite",
        "/v1/search/../../faq",
    ):
        out.append(("traversal-like names", "GET", p, None, {}, {404, 405}))
    sql_keys = [
        "topic') OR 1=1 --",
        "topic'; DROP TABLE docs; --",
        "a.b",
        "$.topic",
        "topic[0]",
        "1=1",
    ]
    for k in sql_keys:
        out.append(
            (
                "SQL-like filters",
                "POST",
                srch,
                {"collection": "docs", "query": "x", "where": {k: "x"}},
                {},
                {422},
            )
        )
    for v in [
        "x' OR '1'='1",
        "'; DROP TABLE docs; --",
        "%",
        "_",
        "\\",
    ]:  # harmless values: 200, nothing found
        out.append(
            (
                "SQL-like filters",
                "POST",
                srch,
                {"collection": "docs", "query": "x", "where": {"topic": v}},
                {},
                {200},
            )
        )
    for method, path in (
        ("GET", emb),
        ("PUT", emb),
        ("DELETE", srch),
        ("PATCH", ask),
        ("GET", "/v1/nothing"),
    ):
        out.append(("wrong methods and routes", method, path, None, {}, {404, 405}))
    return out


def openai_shaped(data: bytes) -> bool:
    try:
        err = json.loads(data)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(err, dict) and set(err) == {"message", "type", "param", "code"}


def run_bad(url: str, pid: int) -> tuple[list[list[str]], dict[str, Any]]:
    stats: dict[str, Counter[str]] = defaultdict(Counter)
    failures: list[str] = []
    with httpx.Client(timeout=60) as client:
        for category, method, path, body, headers, allowed in bad_requests():
            h = {k: v for k, v in headers.items() if k != "x-no-auth"}
            if "x-no-auth" not in headers:
                h = {**AUTH, **h}
            if isinstance(body, bytes):
                r = client.request(
                    method,
                    url + path,
                    content=body,
                    headers={**h, "content-type": "application/json"},
                )
            elif body is None:
                r = client.request(method, url + path, headers=h)
            else:
                r = client.request(method, url + path, json=body, headers=h)
            s = stats[category]
            s["requests"] += 1
            ok = r.status_code in allowed and (r.status_code == 200 or openai_shaped(r.content))
            s["as expected"] += ok
            s["500s"] += r.status_code >= 500
            if not ok:
                failures.append(f"{category}: {method} {path} -> {r.status_code} {r.text[:120]!r}")
            s["healthy after"] += client.get(url + "/health", headers=AUTH).status_code == 200
    rows = [
        [cat, str(s["requests"]), f"{s['as expected']}", str(s["500s"]), str(s["healthy after"])]
        for cat, s in stats.items()
    ]
    total = {
        k: sum(s[k] for s in stats.values())
        for k in ("requests", "as expected", "500s", "healthy after")
    }
    rows.append(
        [
            "**all**",
            str(total["requests"]),
            str(total["as expected"]),
            str(total["500s"]),
            str(total["healthy after"]),
        ]
    )
    return rows, {"failures": failures, **total}


def connections(port: int) -> list[list[str]]:
    """Idle, slow (slowloris), half-sent and abandoned connections: does the server close them?"""

    def opened() -> socket.socket:
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(15)
        return s

    def closed_after(s: socket.socket, start: float) -> float | None:
        try:
            while s.recv(65536):
                pass
            return time.perf_counter() - start
        except (TimeoutError, ConnectionResetError):
            return None

    rows = []
    start = time.perf_counter()
    idle = [opened() for _ in range(16)]
    slow = [opened() for _ in range(16)]
    for s in slow:
        s.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n")
    time.sleep(1.0)
    for s in slow:
        s.sendall(b"X-Slow: 1\r\n")
    half = [opened() for _ in range(16)]
    for s in half:
        s.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + KEY.encode()
            + b'\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model"'
        )
    for name, group in (
        ("idle (nothing sent)", idle),
        ("slow headers (slowloris)", slow),
        ("half-sent body", half),
    ):
        times = [closed_after(s, start) for s in group]
        done = [t for t in times if t is not None]
        rows.append([name, str(len(group)), str(len(done)), f"{max(done):.1f} s" if done else "-"])
        for s in group:
            s.close()
    body = json.dumps({"model": "minilm", "input": ["abandoned request"] * 64}).encode()
    for _ in range(16):  # send a full request and go away without reading the answer
        s = opened()
        s.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + KEY.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        s.close()
    rows.append(["abandoned (request sent, answer not read)", "16", "16 (client closed)", "-"])
    return rows


async def load(url: str, clients: int, per_client: int) -> tuple[list[float], int]:
    rng = random.Random(0)
    sentences = [q for q, _ in FAQ_ROWS] + [d["text"] for d in DOCS]
    latencies: list[float] = []
    errors = 0

    async def client(c: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in range(per_client):
            kind = rng.choice(["embed", "embed", "search", "ask"])
            if kind == "embed":
                req = (
                    "/v1/embeddings",
                    {"model": "minilm", "input": rng.sample(sentences, rng.randint(1, 8))},
                )
            elif kind == "search":
                req = (
                    "/v1/search",
                    {
                        "collection": "docs",
                        "query": rng.choice(sentences),
                        "k": 3,
                        "where": {"topic": "billing"} if i % 2 else None,
                    },
                )
            else:
                req = ("/v1/faq/ask", {"faq": "support", "question": rng.choice(sentences)})
            t = time.perf_counter()
            r = await c.post(
                url + req[0], json={k: v for k, v in req[1].items() if v is not None}, headers=AUTH
            )
            latencies.append(time.perf_counter() - t)
            errors += r.status_code != 200

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as c:
        await asyncio.wait_for(asyncio.gather(*[client(c) for _ in range(clients)]), 600)
    return latencies, errors


def main() -> None:
    work = WORK / "robustness"
    config = setup(work)
    env = {**os.environ, "EMBEDLAB_API_KEY": KEY, "OMP_NUM_THREADS": "2"}
    server, url = start_server(["-c", str(config)], env)
    port = int(url.rsplit(":", 1)[1])
    try:
        httpx.post(
            f"{url}/v1/embeddings", json={"model": "minilm", "input": ["warm up"]}, headers=AUTH
        )
        rss0 = rss_mb(server.pid)
        t0 = time.perf_counter()
        bad_rows, bad = run_bad(url, server.pid)
        t_bad = time.perf_counter() - t0
        rss1 = rss_mb(server.pid)
        conn_rows = connections(port)
        rss2 = rss_mb(server.pid)
        t1 = time.perf_counter()
        latencies, errors = asyncio.run(load(url, 64, 20))
        t_load = time.perf_counter() - t1
        rss3 = rss_mb(server.pid)
        rounds = [rss3]  # the same load again: memory that keeps growing is a leak
        errors_again, again = 0, 0
        for _ in range(int(os.environ.get("ROUNDS", "4"))):
            more, errs = asyncio.run(load(url, 64, 20))
            again, errors_again = again + len(more), errors_again + errs
            rounds.append(rss_mb(server.pid))
        rss4 = rounds[-1]
        healthy = httpx.get(f"{url}/health", headers=AUTH).json()["status"] == "ok"
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    lat = np.array(latencies) * 1000
    print(f"# server_robustness ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(
        table(
            [
                "bad requests",
                "sent",
                "4xx in OpenAI's shape (as expected)",
                "500s",
                "/health 200 after",
            ],
            bad_rows,
        )
    )
    print(f"\n{bad['requests']} bad requests in {t_bad:.1f} s\n")
    print(table(["connections", "opened", "closed by the server", "last closed after"], conn_rows))
    print()
    print(
        table(
            ["load and memory", "value", "note"],
            [
                [
                    "requests (64 clients x 20: embeddings, search, FAQ)",
                    f"{len(latencies):,}",
                    f"{t_load:.1f} s",
                ],
                ["errors", str(errors), "goal 0"],
                [
                    "latency p50 / p99",
                    f"{np.percentile(lat, 50):.0f} / {np.percentile(lat, 99):.0f} ms",
                    "64 concurrent clients",
                ],
                [
                    f"the same load {len(rounds) - 1} times more: requests / errors",
                    f"{again:,} / {errors_again}",
                    "goal 0 errors",
                ],
                [
                    "server + worker RSS: start / after bad / after connections / after load",
                    f"{rss0:.0f} / {rss1:.0f} / {rss2:.0f} / {rss3:.0f} MB",
                    f"growth {rss3 - rss0:+.0f} MB",
                ],
                [
                    "server + worker RSS after each further load",
                    " / ".join(f"{r:.0f}" for r in rounds[1:]) + " MB",
                    f"{rss4 - rounds[-2]:+.0f} MB in the last round",
                ],
                ["healthy at the end", str(healthy), ""],
            ],
        )
    )
    if bad["failures"]:
        print("\nunexpected answers:")
        for f in bad["failures"]:
            print(" ", f)
    tracebacks = err.decode(errors="replace").count("Traceback")
    print(f"\nserver log: {tracebacks} tracebacks (logged internal errors)")


if __name__ == "__main__":
    main()
