"""BM25: embedlab's scipy-sparse BM25Index against bm25s, same tokens, same parameters.

Run: .venv/bin/python benchmarks/bm25.py

Quality: StackFAQ retrieval (1,249 rephrased queries against 125 threads), nDCG@10 and recall@1.
Speed: ~30,900 Gutenberg sentences indexed, 1,000 other sentences as queries (top 10). Both sides
get the tokens of embedlab's tokenizer, k1 = 1.2, b = 0.75 and Lucene's IDF (bm25s "lucene").
"""

from __future__ import annotations

import time

from _common import SHARED, machine, table
from embedlab.evaluate.retrieval import load_stackfaq, retrieval_metrics
from embedlab.search import BM25Index
from embedlab.text import Tokenizer
from encoders import corpus_sentences


def ours(ids: list[str], docs: list[str], queries: list[str], k: int) -> tuple[float, float, list]:
    t = time.perf_counter()
    index = BM25Index(k1=1.2, b=0.75)
    index.add(ids, docs)
    built = time.perf_counter() - t
    t = time.perf_counter()
    hits = index.search(queries, k)
    return built, time.perf_counter() - t, [dict(h) for h in hits]


def theirs(
    ids: list[str], docs: list[str], queries: list[str], k: int
) -> tuple[float, float, list]:
    import bm25s

    tok = Tokenizer()
    t = time.perf_counter()
    retriever = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    retriever.index([tok(d) for d in docs], show_progress=False)
    built = time.perf_counter() - t
    t = time.perf_counter()
    found = retriever.retrieve([tok(q) for q in queries], k=min(k, len(docs)), show_progress=False)
    took = time.perf_counter() - t
    runs = [
        {ids[int(d)]: float(s) for d, s in zip(row, srow) if s > 0}
        for row, srow in zip(found.documents, found.scores)
    ]
    return built, took, runs


def main() -> None:
    data = load_stackfaq(SHARED / "faq" / "stackfaq" / "stackExchange-FAQ.xml")
    d_ids, q_ids = list(data.corpus), list(data.queries)
    sents = corpus_sentences(101_000)  # the 1M-word corpus holds ~31,900 such sentences
    docs, queries = sents[:-1000], sents[-1000:]
    rows = []
    for name, fn in (("embedlab BM25Index (scipy)", ours), ("bm25s", theirs)):
        _, _, runs = fn(
            d_ids, [data.corpus[d] for d in d_ids], [data.queries[q] for q in q_ids], 100
        )
        m = retrieval_metrics(dict(zip(q_ids, runs)), data.qrels)
        built, took, _ = fn([str(i) for i in range(len(docs))], docs, queries, 10)
        rows.append(
            [
                name,
                f"{m.ndcg_at_10:.4f}",
                f"{m.recall_at_1:.4f}",
                f"{built:.1f} s",
                f"{len(queries) / took:,.0f}",
            ]
        )
    print(f"# bm25 ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(
        table(
            [
                "implementation",
                "StackFAQ nDCG@10",
                "recall@1",
                f"index {len(docs):,} sentences",
                "queries/s (top 10)",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
