"""GloVe benchmark: embedlab GloVe against GloVe C, end to end, on the 10M-token corpus, same run.

Run: .bench-venv/bin/python benchmarks/glove_training.py [SEEDS] [--memory MB] (default 3 seeds;
--memory gives GloVe a working-memory budget, counting and shuffling on disk as GloVe C's -memory).
Each embedlab run is a process of its own, so its peak RSS is its own.

GloVe C (vocab_count, cooccur, shuffle, glove) is not on any package registry and glovpy clones it
from GitHub at run time, so it is built by hand: compile src/*.c of https://github.com/stanfordnlp/GloVe
(`make`) and put the four binaries in .bench-venv/glove-c/build (or point GLOVE_C at their folder).
Without them the script falls back to the GloVe C figures of ../shared/PEERS.md and says so.

Settings on both sides: min_count 5, symmetric window 5 with 1/distance weighting, x_max 100,
alpha 0.75, eta 0.05, dim 100, 15 iterations, 2 threads, output W + W~ (GloVe C's -model 2).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, WORK, machine, table
from embedlab import load_vectors
from embedlab.evaluate import word_analogy, word_similarity
from embedlab.static import GloVe
from embedlab.text import Corpus
from embedlab.vectors import Vectors
from static_training import tokenize

PEERS_TIME = (7.5 + 121.0, 8.2 + 124.0)
PEERS_SCORES = {"analogy": 0.085, "ws353": 0.145, "simlex": 0.043}
GLOVE_C = Path(os.environ.get("GLOVE_C", ROOT / ".bench-venv" / "glove-c" / "build"))


def scores(v: Vectors) -> dict[str, float]:
    return {
        "analogy": word_analogy(v, "google", restrict_vocab=30000).accuracy,
        "ws353": word_similarity(v, "ws353").spearman,
        "simlex": word_similarity(v, "simlex999").spearman,
    }


def embedlab_run(path: str, seed: int, memory: float | None) -> dict[str, float]:
    """One fit in a fresh process (its own peak RSS)."""
    import json

    cmd = [sys.executable, __file__, "--one", path, str(seed), str(memory or 0)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def one_run(path: str, seed: int, memory: float | None) -> dict[str, float]:
    start = time.perf_counter()
    model = GloVe(
        dim=100,
        window=5,
        min_count=5,
        x_max=100.0,
        alpha=0.75,
        eta=0.05,
        epochs=15,
        workers=2,
        seed=seed,
        memory=memory,
        show_progress=False,
    ).fit(Corpus(path, tokenizer=str.split))
    took = time.perf_counter() - start
    return {
        "time": took,
        "nnz": model.cooccurrence_nnz_,
        "cost": model.loss_history_[-1],
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **scores(model.vectors_),
    }


def glove_c_run(path: str, seed: int) -> dict[str, float]:
    """The four GloVe C steps as its demo.sh runs them, timed together; vectors read back."""
    work = WORK / "glove_c"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)

    peak = [0.0]

    def step(name: str, args: list[str], stdin: str | None, stdout: str | None) -> str:
        # /usr/bin/time reports the tool's own peak RSS (the fork from this process would not)
        with (
            open(stdin, "rb") if stdin else open(os.devnull, "rb") as fin,
            open(work / stdout, "wb") if stdout else open(os.devnull, "wb") as fout,
        ):
            proc = subprocess.run(
                ["/usr/bin/time", "-o", str(work / "rss"), "-f", "%M", str(GLOVE_C / name), *args],
                stdin=fin,
                stdout=fout,
                stderr=subprocess.PIPE,
                cwd=work,
                check=True,
            )
        peak[0] = max(peak[0], float((work / "rss").read_text().split()[-1]) / 1024)
        return proc.stderr.decode(errors="replace")

    start = time.perf_counter()
    step("vocab_count", ["-min-count", "5", "-verbose", "0"], path, "vocab.txt")
    step(
        "cooccur",
        ["-memory", "4.0", "-vocab-file", "vocab.txt", "-verbose", "0", "-window-size", "5"],
        path,
        "cooccurrence.bin",
    )
    counted = time.perf_counter() - start
    nnz = (work / "cooccurrence.bin").stat().st_size // 16  # CREC: two ints and a double
    step(
        "shuffle",
        ["-memory", "4.0", "-verbose", "0", "-seed", str(seed)],
        str(work / "cooccurrence.bin"),
        "cooccurrence.shuf.bin",
    )
    log = step(
        "glove",
        [
            *("-save-file", "vectors", "-threads", "2", "-input-file", "cooccurrence.shuf.bin"),
            *("-x-max", "100", "-alpha", "0.75", "-eta", "0.05", "-iter", "15"),
            *("-vector-size", "100", "-binary", "0", "-model", "2"),
            *("-vocab-file", "vocab.txt", "-verbose", "1", "-seed", str(seed)),
        ],
        None,
        None,
    )
    took = time.perf_counter() - start
    cost = float(log.strip().splitlines()[-1].rsplit("cost:", 1)[1])
    vectors = load_vectors(work / "vectors.txt", format="glove")
    # GloVe C appends an <unk> row (mean of the 100 rarest words); it is not a corpus word
    vectors = vectors.subset(k for k in vectors.index_to_key if k != "<unk>")
    return {
        "time": took,
        "count_time": counted,
        "nnz": nnz,
        "cost": cost,
        "rss": peak[0],
        **scores(vectors),
    }


def main() -> None:
    import json

    if sys.argv[1:2] == ["--one"]:
        memory = float(sys.argv[4]) or None
        print(json.dumps(one_run(sys.argv[2], int(sys.argv[3]), memory)))
        return
    args = sys.argv[1:]
    memory = None
    if "--memory" in args:
        at = args.index("--memory")
        memory = float(args[at + 1])
        del args[at : at + 2]
    path = tokenize("en_gutenberg_10m.txt", "en10m.tok")
    seeds = int(args[0]) if args else 3
    have_c = all((GLOVE_C / n).exists() for n in ("vocab_count", "cooccur", "shuffle", "glove"))
    ours = [embedlab_run(path, seed, memory) for seed in range(1, seeds + 1)]
    peer = [glove_c_run(path, seed) for seed in range(1, seeds + 1)] if have_c else []

    def avg(runs: list[dict[str, float]], key: str) -> float:
        return sum(r[key] for r in runs) / len(runs)

    def each(runs: list[dict[str, float]], key: str) -> str:
        return ", ".join(f"{r[key]:.3f}" for r in runs)

    took = avg(ours, "time")
    if peer:
        peer_time = avg(peer, "time")
        rows = [
            [
                "end to end (vocabulary, co-occurrences, 15 epochs)",
                f"{took:.1f} s",
                f"{peer_time:.1f} s (counting {avg(peer, 'count_time'):.1f} s)",
                f"{took / peer_time:.2f}x (goal <= 0.67x)",
            ],
            ["non-zero co-occurrences", f"{ours[0]['nnz']:,.0f}", f"{peer[0]['nnz']:,.0f}", "-"],
            ["final mean cost", f"{avg(ours, 'cost'):.5f}", f"{avg(peer, 'cost'):.5f}", "-"],
            [
                "peak RSS",
                f"{max(r['rss'] for r in ours):.0f} MB",
                f"{max(r['rss'] for r in peer):.0f} MB",
                "-",
            ],
        ]
    else:
        lo, hi = PEERS_TIME
        rows = [
            [
                "end to end (vocabulary, co-occurrences, 15 epochs)",
                f"{took:.1f} s",
                f"{lo:.0f}-{hi:.0f} s (PEERS.md; GloVe C not built)",
                f"{took / lo:.2f}-{took / hi:.2f}x (goal <= 0.67x)",
            ],
            ["non-zero co-occurrences", f"{ours[0]['nnz']:,.0f}", "-", "-"],
            ["final mean cost", f"{avg(ours, 'cost'):.5f}", "-", "-"],
            ["peak RSS", f"{max(r['rss'] for r in ours):.0f} MB", "-", "-"],
        ]
    for key, label in (
        ("analogy", "Google analogy (30k)"),
        ("ws353", "WS-353"),
        ("simlex", "SimLex-999"),
    ):
        ref = avg(peer, key) if peer else PEERS_SCORES[key]
        rows.append(
            [
                f"{label}, mean of {seeds} seeds",
                f"{avg(ours, key):.4f} ({each(ours, key)})",
                f"{ref:.4f} ({each(peer, key)})" if peer else f"{ref:.3f} (PEERS.md)",
                f"{100 * (avg(ours, key) - ref):+.2f} points",
            ]
        )
    budget = f"memory={memory:g} MB" if memory else "all in memory"
    print(f"# glove_training ({machine()}, {time.strftime('%Y-%m-%d')}, embedlab {budget})\n")
    print(table(["measure", "embedlab GloVe", "GloVe C", "ratio / difference"], rows))


if __name__ == "__main__":
    main()
