"""`BM25Index`: Okapi BM25 sparse retrieval on scipy sparse matrices, jieba-aware through the text pipeline.

Documents are tokenized with :class:`embedlab.text.Tokenizer` (regex words; Han runs segmented by
jieba; lower-cased), and each (document, term) weight is precomputed as Lucene's BM25:
``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))`` with
``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``, stored term-major, so a query's scores are the sum
of its terms' rows weighted by their counts in the query. Adding documents recomputes the weights (IDF and the
average length depend on the whole collection); removing one drops its row. ``allowed`` restricts
candidates as for dense indexes. Saved as a folder: ``index.json`` and ``documents.jsonl`` (each
id with its term counts). This module does not embed text.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError
from ..files import atomic_dir
from ..text.tokenize import Tokenizer
from .base import Hits, check_ids, check_k, missing

logger = logging.getLogger(__name__)

__all__ = ["BM25Index"]


class BM25Index:
    """Keyword retrieval by BM25; ``search`` takes query strings."""

    kind = "bm25"

    def __init__(
        self, *, k1: float = 1.2, b: float = 0.75, tokenizer: Tokenizer | None = None
    ) -> None:
        if not k1 >= 0 or not 0 <= b <= 1:
            raise ParameterError(f"BM25 needs k1 >= 0 and b in [0, 1]; got k1={k1!r}, b={b!r}")
        self.k1, self.b = float(k1), float(b)
        self.tokenizer = tokenizer or Tokenizer()
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._docs: list[Counter[str]] = []
        self._vocab: dict[str, int] = {}
        self._weights: Any = None

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __repr__(self) -> str:
        return (
            f"BM25Index({len(self)} documents, {len(self._vocab)} terms, k1={self.k1}, b={self.b})"
        )

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def add(self, ids: Sequence[str], texts: Sequence[str], *, rebuild: bool = True) -> None:
        """Add (or replace) documents; ``rebuild=False`` defers the weights to a later add or
        :meth:`rebuild` (a bulk load adds batch after batch and rebuilds once)."""
        keys = check_ids(ids, len(texts), "BM25Index")
        for k, text in zip(keys, texts):
            counts = Counter(self.tokenizer(text))
            if k in self._rows:
                self._docs[self._rows[k]] = counts
            else:
                self._rows[k] = len(self._ids)
                self._ids.append(k)
                self._docs.append(counts)
        if rebuild:
            self._rebuild()

    def rebuild(self) -> None:
        """Recompute the weights after adds with ``rebuild=False``."""
        self._rebuild()

    def remove(self, ids: Sequence[str]) -> None:
        keys = {str(i) for i in ids}
        missing(keys, self._rows, "BM25Index")
        keep = [n for n, k in enumerate(self._ids) if k not in keys]
        self._ids = [self._ids[n] for n in keep]
        self._docs = [self._docs[n] for n in keep]
        self._rows = {k: n for n, k in enumerate(self._ids)}
        self._rebuild()

    def _rebuild(self) -> None:
        import scipy.sparse as sp

        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        for r, counts in enumerate(self._docs):
            for term, tf in counts.items():
                rows.append(r)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        self._vocab = vocab
        n = len(self._docs)
        tf_arr = np.asarray(tfs, dtype=np.float64)
        r_arr = np.asarray(rows, dtype=np.int64)
        c_arr = np.asarray(cols, dtype=np.int64)
        lengths = np.array([sum(d.values()) for d in self._docs], dtype=np.float64)
        avg = lengths.mean() if n and lengths.mean() > 0 else 1.0
        df = np.bincount(c_arr, minlength=len(vocab)).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        norm = self.k1 * (1 - self.b + self.b * lengths[r_arr] / avg) if n else np.zeros(0)
        weight = idf[c_arr] * tf_arr * (self.k1 + 1) / (tf_arr + norm)
        # stored term-major (terms x documents): a query reads only its terms' rows
        self._weights = sp.csr_matrix(
            (weight, (c_arr, r_arr)), shape=(len(vocab), n), dtype=np.float32
        )

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """BM25 score of every document for one query (term counts in the query count)."""
        terms = Counter(t for t in self.tokenizer(query) if t in self._vocab)
        if not terms or self._weights is None:
            return np.zeros(len(self._ids), dtype=np.float32)
        rows = np.array([self._vocab[t] for t in terms], dtype=np.int64)
        qtf = np.array(list(terms.values()), dtype=np.float32)
        return np.asarray(self._weights[rows].T @ qtf, dtype=np.float32).ravel()

    def search(
        self, queries: str | Sequence[str], k: int = 10, *, allowed: Collection[str] | None = None
    ) -> Hits | list[Hits]:
        """The ``k`` best documents per query string; documents scoring 0 are not returned."""
        check_k(k, "BM25Index")
        single = isinstance(queries, str)
        items = [queries] if isinstance(queries, str) else list(queries)
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self._ids), dtype=bool)
            mask[[self._rows[a] for a in allowed if a in self._rows]] = True
        out = []
        for q in items:
            s = self.scores(q)
            if mask is not None:
                s = np.where(mask, s, 0.0)
            hits = np.flatnonzero(s > 0)
            if len(hits) > k:
                hits = hits[np.argpartition(-s[hits], k - 1)[:k]]
            top = hits[np.lexsort((hits, -s[hits]))]
            out.append(Hits([self._ids[i] for i in top], s[top].astype(np.float32)))
        return out[0] if single else out

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str]) -> Path:
        target = Path(folder)
        header = {
            "format_version": 1,
            "kind": self.kind,
            "k1": self.k1,
            "b": self.b,
            "tokenizer": self.tokenizer.options(),
        }
        with atomic_dir(target) as tmp:
            (tmp / "index.json").write_text(json.dumps(header), encoding="utf-8")
            with open(tmp / "documents.jsonl", "w", encoding="utf-8") as f:
                for key, counts in zip(self._ids, self._docs):
                    f.write(json.dumps([key, counts], ensure_ascii=False) + "\n")
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> BM25Index:
        from .exact import read_header, reading

        root = Path(folder)
        with reading(root):
            h = read_header(root, cls.kind)
            index = cls(k1=float(h["k1"]), b=float(h["b"]), tokenizer=Tokenizer(**h["tokenizer"]))
            path = root / "documents.jsonl"
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    key, counts = json.loads(line)
                    doc = Counter({str(t): int(c) for t, c in counts.items()})
                except (json.JSONDecodeError, ValueError, TypeError, AttributeError) as e:
                    raise FormatError(
                        path, f"expected [id, {{term: count}}], found {line[:40]!r}", line=n
                    ) from e
                index._rows[str(key)] = len(index._ids)
                index._ids.append(str(key))
                index._docs.append(doc)
            index._rebuild()
        return index
