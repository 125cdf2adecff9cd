"""Multilingual distillation: a static en-zh student of all-MiniLM-L6-v2 against MiniLM itself.

Run: .venv/bin/python benchmarks/multilingual.py

Teacher: all-MiniLM-L6-v2. Students: the monolingual static model distilled at the teacher's
width (model2vec recipe, `distill(dims=None)`), and the same table fitted on the STS-B *train*
sentences (both columns, English with their Chinese translations: 11,498 pairs) so that both the
English sentence and its translation land on the teacher's vector of the English one
(`distill_parallel`, l2 = 0.1, chosen on STS-B dev). Reported on STS-B *test*: Spearman for
English and Chinese, and English->Chinese retrieval (each English test sentence finds its
translation among all the Chinese test sentences) accuracy@1.
"""

from __future__ import annotations

import time

import numpy as np

from _common import SHARED, machine, table
from embedlab.encoders import TransformerEncoder, distill
from embedlab.encoders.multilingual import distill_parallel
from embedlab.evaluate.sentence import sts_scores
from embedlab.records import read_columns

STS = SHARED / "sts" / "stsb"


def columns(lang: str, split: str) -> tuple[list[str], list[str], list[float]]:
    c = read_columns(
        STS / f"stsb-{lang}-{split}.csv", {"a": 0, "b": 1, "s": 2}, numeric=["s"], header=False
    )
    return [str(x) for x in c["a"]], [str(x) for x in c["b"]], [float(x) for x in c["s"]]


def row(name: str, enc: object) -> list[str]:
    scores = []
    for lang in ("en", "zh"):
        a, b, s = columns(lang, "test")
        scores.append(
            sts_scores(enc.encode(a, normalize=True), enc.encode(b, normalize=True), s).spearman  # type: ignore[attr-defined]
        )
    en_a, en_b, _ = columns("en", "test")
    zh_a, zh_b, _ = columns("zh", "test")
    pairs = dict(zip(en_a + en_b, zh_a + zh_b, strict=True))  # one translation per sentence
    en, zh = list(pairs), list(pairs.values())
    x = enc.encode(en, normalize=True)  # type: ignore[attr-defined]
    y = enc.encode(zh, normalize=True)  # type: ignore[attr-defined]
    acc = float(np.mean(np.argmax(x @ y.T, axis=1) == np.arange(len(en))))
    return [
        name,
        f"{100 * scores[0]:.2f}",
        f"{100 * scores[1]:.2f}",
        f"{100 * acc:.2f}",
        f"{len(en):,}",
    ]


def main() -> None:
    teacher = TransformerEncoder(threads=2)
    start = time.perf_counter()
    student = distill(teacher, dims=None)
    ea, eb, _ = columns("en", "train")
    za, zb, _ = columns("zh", "train")
    multi = distill_parallel(teacher, student, ea + eb, za + zb)
    took = time.perf_counter() - start
    print(f"# multilingual ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    rows = [
        row("all-MiniLM-L6-v2 (teacher)", teacher),
        row("static student (monolingual distillation)", student),
        row(f"static en-zh student (parallel distillation, {took:.0f} s)", multi),
    ]
    header = ["model", "STS-B en test", "STS-B zh test", "en->zh retrieval acc@1", "sentences"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
