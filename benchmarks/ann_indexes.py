"""HNSW vs exact on 200k clustered vectors (dim 384): hnswlib and usearch, measured to keep one.

Run: .venv/bin/python benchmarks/ann_indexes.py [N]   (default 200,000; 1,000 queries)

Data: 1,000 Gaussian cluster centres in 384 dimensions, points = centre + 0.7 noise, unit length
(cosine); queries drawn the same way, not in the index. Ground truth from embedlab's ExactIndex.
Each library builds with M = 16 and ef_construction = 200 on 2 threads, in its own process
(resident memory added by the index over the data), then answers all queries at several ef.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import machine, table


def make(n: int, d: int = 384) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(1000, d)).astype(np.float32)
    x = centres[rng.integers(0, 1000, n)] + 0.7 * rng.normal(size=(n, d)).astype(np.float32)
    q = centres[rng.integers(0, 1000, 1000)] + 0.7 * rng.normal(size=(1000, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return x, q


def rss() -> float:
    """Current resident memory in MB (after the data exist, the growth is the index's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(kind: str, n: int) -> None:
    from embedlab.search import ExactIndex, HNSWIndex

    x, q = make(n)
    base = rss()
    ids = [str(i) for i in range(n)]
    out: dict[str, object] = {}
    start = time.perf_counter()
    if kind == "exact":
        index = ExactIndex(384)
        index.add(ids, x)
        out["build"] = time.perf_counter() - start
        out["memory"] = rss() - base
        t = time.perf_counter()
        hits = index.search(q, 10)
        out["runs"] = [["-", time.perf_counter() - t, [h.ids for h in hits]]]
    elif kind == "hnswlib":
        index = HNSWIndex(384, m=16, ef_construction=200, threads=2)
        index.add(ids, x)
        out["build"] = time.perf_counter() - start
        out["memory"] = rss() - base
        runs = []
        for ef in (32, 64, 128):
            index.ef = ef
            t = time.perf_counter()
            hits = index.search(q, 10)
            runs.append([ef, time.perf_counter() - t, [h.ids for h in hits]])
        out["runs"] = runs
    else:
        from usearch.index import Index

        u = Index(ndim=384, metric="cos", dtype="f32", connectivity=16, expansion_add=200)
        u.add(np.arange(n), x, threads=2)
        out["build"] = time.perf_counter() - start
        out["memory"] = rss() - base
        runs = []
        for ef in (32, 64, 128):
            u.expansion_search = ef
            t = time.perf_counter()
            m = u.search(q, 10, threads=2)
            runs.append([ef, time.perf_counter() - t, [[str(k) for k in row] for row in m.keys]])
        out["runs"] = runs
    print(json.dumps(out))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    results = {}
    for kind in ("exact", "hnswlib", "usearch"):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
    truth = [set(ids) for ids in results["exact"]["runs"][0][2]]
    rows = []
    for kind, r in results.items():
        for ef, took, ids in r["runs"]:
            recall = np.mean([len(truth[i] & set(row)) / 10 for i, row in enumerate(ids)])
            rows.append(
                [
                    kind,
                    str(ef),
                    f"{r['build']:.1f} s",
                    f"{r['memory']:.0f} MB",
                    f"{recall:.4f}",
                    f"{1000 / took:,.0f}",
                ]
            )
    print(
        f"# ann_indexes ({machine()}, {n:,} x 384 clustered unit vectors, 1,000 queries, "
        f"{time.strftime('%Y-%m-%d')})\n"
    )
    print(table(["index", "ef", "build", "memory over data", "recall@10", "queries/s"], rows))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
