"""GloVe benchmark: embedlab GloVe end to end (scan + co-occurrences + 15 epochs) on the 10M corpus.

Run: .bench-venv/bin/python benchmarks/glove_training.py (or .venv). The GloVe C reference cannot be
built on these machines (no registry ships its source; glovpy clones it at run time, which fails
offline), so the peer figures are the ones measured on this machine kind in ../shared/PEERS.md:
vocab + cooccur + shuffle 7.5-8.2 s, training 121-124 s (window 5, x_max 100, alpha 0.75,
15 iterations, 2 threads) and analogy 0.085 / WS-353 0.145 / SimLex-999 0.043.
"""

from __future__ import annotations

import resource
import sys
import time

from _common import machine, table
from embedlab.evaluate import word_analogy, word_similarity
from embedlab.static import GloVe
from embedlab.text import Corpus
from static_training import tokenize

PEER_TIME = (7.5 + 121.0, 8.2 + 124.0)
PEER_SCORES = {"analogy": 0.085, "ws353": 0.145, "simlex": 0.043}


def one_run(path: str, seed: int) -> dict[str, float]:
    start = time.perf_counter()
    model = GloVe(
        dim=100,
        window=5,
        min_count=5,
        x_max=100.0,
        alpha=0.75,
        epochs=15,
        workers=2,
        seed=seed,
        show_progress=False,
    ).fit(Corpus(path, tokenizer=str.split))
    took = time.perf_counter() - start
    v = model.vectors_
    return {
        "time": took,
        "nnz": model.cooccurrence_nnz_,
        "cost": model.loss_history_[-1],
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "analogy": word_analogy(v, "google", restrict_vocab=30000).accuracy,
        "ws353": word_similarity(v, "ws353").spearman,
        "simlex": word_similarity(v, "simlex999").spearman,
    }


def main() -> None:
    path = tokenize("en_gutenberg_10m.txt", "en10m.tok")
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    runs = [one_run(path, seed) for seed in range(1, seeds + 1)]

    def avg(key: str) -> float:
        return sum(r[key] for r in runs) / len(runs)

    lo, hi = PEER_TIME
    took = avg("time")
    rows = [
        [
            "end to end (scan, co-occurrences, 15 epochs)",
            f"{took:.1f} s",
            f"{lo:.0f}-{hi:.0f} s",
            f"{took / lo:.2f}-{took / hi:.2f}x (goal <= 0.67x)",
        ],
        ["non-zero co-occurrences", f"{runs[0]['nnz']:,.0f}", "-", "-"],
        ["final mean cost", f"{avg('cost'):.4f}", "-", "-"],
        ["peak RSS", f"{max(r['rss'] for r in runs):.0f} MB", "-", "-"],
    ]
    for key, label in (
        ("analogy", "Google analogy (30k)"),
        ("ws353", "WS-353"),
        ("simlex", "SimLex-999"),
    ):
        each = ", ".join(f"{r[key]:.3f}" for r in runs)
        rows.append(
            [
                f"{label}, mean of {seeds} seeds ({each})",
                f"{avg(key):.4f}",
                f"{PEER_SCORES[key]:.3f}",
                f"{100 * (avg(key) - PEER_SCORES[key]):+.1f} points",
            ]
        )
    print(f"# glove_training ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(table(["measure", "embedlab GloVe", "GloVe C (PEERS.md)", "ratio / difference"], rows))


if __name__ == "__main__":
    main()
