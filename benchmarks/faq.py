"""FAQ answering with all-MiniLM-L6-v2 on StackFAQ and BANKING77: accuracy, precision/coverage.

Run: .venv/bin/python benchmarks/faq.py

StackFAQ: each of the 125 threads is an answer (its question and answers); the first half of its
rephrasings build the FAQ, the rest are split (seed 0) into a calibration half and a test half.
BANKING77: each of the 77 intents is an answer; 20 training queries per intent build it, the
validation queries calibrate, the official test queries test. Out-of-scope questions for the
threshold (labelled "no answer is right") are 200 BANKING77 queries for StackFAQ and 200 StackFAQ
rephrasings for BANKING77, split the same way. The threshold targets 90% precision.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import SHARED, machine, table
from embedlab.apps import FAQ
from embedlab.encoders import TransformerEncoder
from embedlab.evaluate.retrieval import load_stackfaq
from embedlab.records import read_columns


def stackfaq() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    data = load_stackfaq(SHARED / "faq" / "stackfaq" / "stackExchange-FAQ.xml")
    by_doc: dict[str, list[str]] = defaultdict(list)
    for qid, rel in data.qrels.items():
        by_doc[next(iter(rel))].append(data.queries[qid])
    build, held = [], []
    for doc in data.corpus:
        phr = by_doc[doc]
        half = len(phr) // 2
        build += [(p, doc) for p in phr[:half]]
        held += [(p, doc) for p in phr[half:]]
    return build, held


def run(
    name: str,
    build: list[tuple[str, str]],
    answers: dict[str, str],
    held: list[tuple[str, str]],
    test: list[tuple[str, str]],
    enc: TransformerEncoder,
) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        faq = FAQ.build(
            Path(tmp) / "faq",
            enc,
            [q for q, _ in build],
            [answers[a] for _, a in build],
            answer_ids=[a for _, a in build],
        )
        built = time.perf_counter() - start
        cal = faq.calibrate([q for q, _ in held], [a for _, a in held], target_precision=0.9)
        t = time.perf_counter()
        report = faq.evaluate([q for q, _ in test], [a for _, a in test])
        per_q = (time.perf_counter() - t) / len(test) * 1000
    in_scope = [x for x in test if x[1]]
    return [
        name,
        f"{len(faq)} / {len(build)}",
        f"{built:.1f} s",
        f"{report['accuracy_at_1']:.3f}",
        f"{report['mrr_at_10']:.3f}",
        f"{cal.threshold:.3f} (cal. precision {cal.precision:.3f}, coverage {cal.coverage:.3f})",
        f"{report['precision']:.3f} / {report['coverage']:.3f} (out of scope answered "
        f"{report['out_of_scope_answered']:.2f})",
        f"{len(in_scope)} + {len(test) - len(in_scope)} out of scope",
        f"{per_q:.1f} ms",
    ]


def modes(
    build: list[tuple[str, str]],
    answers: dict[str, str],
    test: list[tuple[str, str]],
    enc: TransformerEncoder,
) -> list[list[str]]:
    """accuracy@1 and MRR@10 on in-scope questions, ranked by MiniLM, BM25 or their fusion."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        faq = FAQ.build(
            Path(tmp) / "faq", enc, [q for q, _ in build], [answers[a] for _, a in build],
            answer_ids=[a for _, a in build],
        )  # fmt: skip
        for mode, label in (
            ("dense", "MiniLM (dense)"),
            ("sparse", "BM25"),
            ("hybrid", "hybrid (0.8 MiniLM + 0.2 BM25)"),
        ):
            r = faq.evaluate([q for q, _ in test], [a for _, a in test], k=10, mode=mode)  # type: ignore[arg-type]
            rows.append(
                [
                    label,
                    f"{r['accuracy_at_1']:.3f}",
                    f"{r['mrr_at_10']:.3f}",
                    f"{int(r['in_scope'])}",
                ]
            )
    return rows


def main() -> None:
    rng = random.Random(0)
    enc = TransformerEncoder(threads=2)
    # BANKING77
    tr = read_columns(
        SHARED / "faq" / "banking77" / "banking77_train.csv", {"t": "text", "l": "label"}
    )
    va = read_columns(
        SHARED / "faq" / "banking77" / "banking77_val.csv", {"t": "text", "l": "label"}
    )
    te = read_columns(SHARED / "faq" / "banking77" / "test.csv", {"t": 2, "l": 0}, header=False)
    names = (SHARED / "faq" / "banking77" / "labels.txt").read_text().split("\n")
    per: dict[str, list[str]] = defaultdict(list)
    for t, lab in zip(tr["t"], tr["l"]):
        per[str(lab)].append(t)
    b_build = [(q, lab) for lab, qs in per.items() for q in qs[:20]]
    b_answers = {lab: f"intent: {names[int(lab)] if int(lab) < len(names) else lab}" for lab in per}
    # StackFAQ
    s_build, s_held = stackfaq()
    data = load_stackfaq(SHARED / "faq" / "stackfaq" / "stackExchange-FAQ.xml")
    rng.shuffle(s_held)
    s_cal, s_test = s_held[: len(s_held) // 2], s_held[len(s_held) // 2 :]
    oos_bank = [(t, "") for t in rng.sample(list(te["t"]), 200)]
    oos_stack = [(q, "") for q, _ in rng.sample(s_held, 200)]
    rows = [
        run(
            "StackFAQ",
            s_build,
            dict(data.corpus),
            s_cal + oos_bank[:100],
            s_test + oos_bank[100:],
            enc,
        ),
        run(
            "BANKING77",
            b_build,
            b_answers,
            [(t, str(lab)) for t, lab in zip(va["t"], va["l"])] + oos_stack[:100],
            [(t, str(lab)) for t, lab in zip(te["t"], te["l"])] + oos_stack[100:],
            enc,
        ),
    ]
    print(f"# faq ({machine()}, all-MiniLM-L6-v2, {time.strftime('%Y-%m-%d')})\n")
    ranked = modes(s_build, dict(data.corpus), s_test, enc)
    print("StackFAQ, test rephrasings, answers ranked three ways:\n")
    print(table(["ranking", "accuracy@1", "MRR@10", "questions"], ranked) + "\n")
    print(
        table(
            [
                "FAQ",
                "answers / phrasings",
                "build",
                "accuracy@1 (in scope)",
                "MRR@10",
                "threshold (target precision 0.9)",
                "test precision / coverage",
                "test questions",
                "per question",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
