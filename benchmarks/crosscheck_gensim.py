"""Cross-check word-level evaluation against gensim on the same vectors.

Run in the bench venv: .bench-venv/bin/python benchmarks/crosscheck_gensim.py [VECTORS]
Default vectors: benchmarks/_work/gutenberg_sg100.bin (made by benchmarks/make_sample_vectors.py),
else the bundled sample. Asserts: Spearman equal to 1e-6, analogy accuracy (and counts) exactly equal.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from gensim.models import KeyedVectors

from _common import WORK, machine, table
from embedlab import load_vectors
from embedlab.cli.demo import sample_path
from embedlab.evaluate import word_analogy, word_similarity
from embedlab.evaluate.datasets import BUILTIN_ANALOGIES, BUILTIN_PAIRS, _resolve


def main() -> None:
    default = WORK / "gutenberg_sg100.bin"
    src = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else (default if default.exists() else sample_path())
    )
    ours = load_vectors(src)
    with (
        tempfile.TemporaryDirectory() as tmp
    ):  # gensim reads word2vec binary: hand it the same rows
        w2v = Path(tmp) / "v.bin"
        ours.save(w2v)
        kv = KeyedVectors.load_word2vec_format(str(w2v), binary=True)
    rows, failures = [], []
    for name in ("ws353", "ws353-sim", "ws353-rel", "simlex999", "mc30", "rg65", "mturk287"):
        path = str(_resolve(name, BUILTIN_PAIRS)[1])
        g_pearson, g_spearman, g_oov = kv.evaluate_word_pairs(path, restrict_vocab=300000)
        r = word_similarity(ours, name)
        diff = abs(r.spearman - g_spearman.statistic)
        rows.append(
            [
                f"{name} spearman",
                f"{r.spearman:.6f}",
                f"{g_spearman.statistic:.6f}",
                f"{diff:.1e}",
                f"oov {r.oov_pairs / r.pairs * 100:.1f}% / {g_oov:.1f}%",
            ]
        )
        if diff > 1e-6 or abs(r.pearson - g_pearson.statistic) > 1e-6:
            failures.append(name)
    for restrict in (30_000, 300_000):
        gz = _resolve("google", BUILTIN_ANALOGIES)[1]
        start = time.perf_counter()
        g_score, sections = kv.evaluate_word_analogies(str(gz), restrict_vocab=restrict)
        g_time = time.perf_counter() - start
        start = time.perf_counter()
        r = word_analogy(ours, "google", restrict_vocab=restrict)
        e_time = time.perf_counter() - start
        g_correct = len(sections[-1]["correct"])
        g_total = g_correct + len(sections[-1]["incorrect"])
        same = (r.correct, r.evaluated) == (g_correct, g_total) and r.accuracy == g_score
        rows.append(
            [
                f"google analogy (restrict {restrict:,})",
                f"{r.accuracy:.6f} ({r.correct}/{r.evaluated})",
                f"{g_score:.6f} ({g_correct}/{g_total})",
                "equal" if same else "DIFFERENT",
                f"time {e_time:.2f} s vs {g_time:.2f} s ({g_time / e_time:.1f}x)",
            ]
        )
        per_section = all(s.correct == len(g["correct"]) for s, g in zip(r.sections, sections[:-1]))
        if not same or not per_section:
            failures.append(f"google@{restrict}")
    print(
        f"# crosscheck vs gensim 4.4 on {src.name} ({len(ours):,} x {ours.dim}; {machine()}, "
        f"{time.strftime('%Y-%m-%d')})\n"
    )
    print(table(["measure", "embedlab", "gensim", "difference", "notes"], rows))
    if failures:
        raise SystemExit(f"MISMATCH: {failures}")
    print("\nall figures agree (Spearman/Pearson to 1e-6, analogy counts exactly, per section too)")


if __name__ == "__main__":
    main()
