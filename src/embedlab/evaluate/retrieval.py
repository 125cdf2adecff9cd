"""Retrieval: data layouts, exact dense search, and trec_eval-compatible metrics.

Layouts: a BEIR folder (``corpus.jsonl`` with ``_id``/``title``/``text``, ``queries.jsonl``,
``qrels/<split>.tsv`` with a ``query-id corpus-id score`` header); three plain files (corpus and
queries as CSV/TSV/JSONL with id and text columns, qrels as ``query_id doc_id [score]`` rows); an
FAQ layout (items with an id and text, and a file of paraphrased queries naming the item they ask
for); and the StackFAQ XML (each thread is one item: its question and answers; its rephrasings are
the queries). ``search`` ranks documents by cosine with an exact chunked matrix product and
``argpartition``. ``retrieval_metrics`` averages nDCG@10, MRR@10 and recall@1/10/100 over the
queries that have a relevant document, with trec_eval's conventions (linear gain, log2 discount,
ties broken by document id, descending), so its numbers equal pytrec_eval's on the same run.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError
from ..records import read_columns

logger = logging.getLogger(__name__)

__all__ = [
    "RetrievalData",
    "RetrievalResult",
    "load_beir",
    "load_faq",
    "load_retrieval_files",
    "load_stackfaq",
    "retrieval_metrics",
    "search",
]

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]


@dataclass
class RetrievalData:
    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


@dataclass(frozen=True)
class RetrievalResult:
    ndcg_at_10: float
    mrr_at_10: float
    recall_at_1: float
    recall_at_10: float
    recall_at_100: float
    queries: int
    documents: int

    @property
    def main(self) -> float:
        return self.ndcg_at_10


def _ranked(scores: Mapping[str, float]) -> list[str]:
    """trec_eval order: score descending, ties by document id descending."""
    by_id = sorted(scores, reverse=True)
    return sorted(by_id, key=lambda d: -scores[d])


def retrieval_metrics(run: Run, qrels: Qrels, *, documents: int = 0) -> RetrievalResult:
    """Mean metrics over the queries of ``qrels`` with at least one relevant document."""
    totals = np.zeros(5)
    counted = 0
    for qid, judged in qrels.items():
        relevant = {d: r for d, r in judged.items() if r > 0}
        if not relevant:
            continue
        counted += 1
        ranking = _ranked(run.get(qid, {}))
        gains = [relevant.get(d, 0) for d in ranking[:10]]
        dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
        ideal = sorted(relevant.values(), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        first = next((i for i, g in enumerate(gains) if g > 0), None)
        hits = [sum(1 for d in ranking[:k] if d in relevant) for k in (1, 10, 100)]
        totals += [
            dcg / idcg,
            0.0 if first is None else 1.0 / (first + 1),
            *(h / len(relevant) for h in hits),
        ]
    if not counted:
        raise ParameterError("no query has a relevant document in the relevance judgments")
    ndcg, mrr, r1, r10, r100 = (float(x) for x in totals / counted)
    return RetrievalResult(ndcg, mrr, r1, r10, r100, queries=counted, documents=documents)


def search(
    queries: npt.NDArray[np.float32],
    docs: npt.NDArray[np.float32],
    query_ids: list[str],
    doc_ids: list[str],
    *,
    k: int = 100,
    chunk: int = 256,
) -> dict[str, dict[str, float]]:
    """Top-``k`` documents per query by dot product (cosine for unit rows), as a run dict."""
    k = min(k, len(doc_ids))
    run: dict[str, dict[str, float]] = {}
    for start in range(0, len(queries), chunk):
        sims = queries[start : start + chunk] @ docs.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < len(doc_ids) else None
        for row in range(sims.shape[0]):
            idx = top[row] if top is not None else np.arange(len(doc_ids))
            run[query_ids[start + row]] = {doc_ids[j]: float(sims[row, j]) for j in idx}
    return run


def load_beir(folder: str | os.PathLike[str], split: str = "test") -> RetrievalData:
    """A BEIR dataset folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."""
    root = Path(folder)
    corpus_cols = read_columns(root / "corpus.jsonl", {"id": "_id", "text": "text"})
    titles = _optional_titles(root / "corpus.jsonl")
    corpus = {
        str(i): (f"{titles[n]} {t}".strip() if titles else str(t))
        for n, (i, t) in enumerate(zip(corpus_cols["id"], corpus_cols["text"]))
    }
    q = read_columns(root / "queries.jsonl", {"id": "_id", "text": "text"})
    queries = {str(i): str(t) for i, t in zip(q["id"], q["text"])}
    qrels = _read_qrels(root / "qrels" / f"{split}.tsv", header=True)
    return _restrict(RetrievalData(corpus, queries, qrels))


def _optional_titles(path: Path) -> list[str] | None:
    try:
        return [str(t) for t in read_columns(path, {"title": "title"})["title"]]
    except FormatError:
        return None


def load_retrieval_files(
    corpus: str | os.PathLike[str],
    queries: str | os.PathLike[str],
    qrels: str | os.PathLike[str],
    *,
    id_column: str | int = "id",
    text_column: str | int = "text",
) -> RetrievalData:
    """Corpus and queries files with id and text columns; qrels ``query_id doc_id [score]``."""
    c = read_columns(corpus, {"id": id_column, "text": text_column})
    q = read_columns(queries, {"id": id_column, "text": text_column})
    return _restrict(
        RetrievalData(
            {str(i): str(t) for i, t in zip(c["id"], c["text"])},
            {str(i): str(t) for i, t in zip(q["id"], q["text"])},
            _read_qrels(Path(qrels), header=None),
        )
    )


def _read_qrels(path: Path, header: bool | None) -> dict[str, dict[str, int]]:
    cols = read_columns(path, {"q": 0, "d": 1, "s": 2}, numeric=["s"], header=header)
    qrels: dict[str, dict[str, int]] = {}
    for q, d, s in zip(cols["q"], cols["d"], cols["s"]):
        qrels.setdefault(str(q), {})[str(d)] = int(s)
    return qrels


def load_faq(
    items: str | os.PathLike[str],
    queries: str | os.PathLike[str],
    *,
    item_id: str | int = "id",
    item_text: str | int = "text",
    query_text: str | int = "query",
    query_item: str | int = "id",
) -> RetrievalData:
    """FAQ items (id, text) and paraphrased queries (text, the id of the item they ask for)."""
    it = read_columns(items, {"id": item_id, "text": item_text})
    qs = read_columns(queries, {"text": query_text, "item": query_item})
    corpus = {str(i): str(t) for i, t in zip(it["id"], it["text"])}
    missing = sorted({str(i) for i in qs["item"]} - set(corpus))
    if missing:
        raise FormatError(queries, f"queries name items that are not in {items}: {missing[:5]}")
    qids = [f"q{n}" for n in range(len(qs["text"]))]
    return RetrievalData(
        corpus,
        dict(zip(qids, (str(t) for t in qs["text"]))),
        {q: {str(i): 1} for q, i in zip(qids, qs["item"])},
    )


_TAG = re.compile(r"<(rephr|question|answer)>(.*?)</\1>", re.S)


def load_stackfaq(path: str | os.PathLike[str]) -> RetrievalData:
    """StackFAQ XML: each <qapair> is one FAQ item (question + answers); rephrasings are queries."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    corpus: dict[str, str] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    pairs = re.findall(r"<qapair>(.*?)</qapair>", text, re.S)
    if not pairs:
        raise FormatError(p, "no <qapair> elements found")
    for n, body in enumerate(pairs):
        fields: dict[str, list[str]] = {"rephr": [], "question": [], "answer": []}
        for tag, content in _TAG.findall(body):
            fields[tag].append(" ".join(unescape(content).split()))
        doc = f"faq{n}"
        corpus[doc] = " ".join(fields["question"] + fields["answer"])
        for r in fields["rephr"]:
            if r and r != "*":
                qid = f"q{len(queries)}"
                queries[qid] = r
                qrels[qid] = {doc: 1}
    return RetrievalData(corpus, queries, qrels)


def _restrict(data: RetrievalData) -> RetrievalData:
    """Keep the queries that have judgments (BEIR ships queries of every split in one file)."""
    data.queries = {q: t for q, t in data.queries.items() if q in data.qrels}
    return data
