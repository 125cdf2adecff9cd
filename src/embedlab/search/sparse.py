"""An inverted index for learned sparse vectors (SPLADE): exact dot-product top-k over scipy CSR.

``SparseIndex().add(ids, splade.encode(docs))`` keeps the documents as a compressed sparse column
matrix (one posting list of ``(document, weight)`` per vocabulary entry); ``search(queries, k)``
scores each query by its dot product with every document that shares a term with it — scipy's
sparse product walks only the posting lists of the query's terms — and returns :class:`Hits`.
SPLADE queries have tens of terms, so a query touches a small part of the index. ``save`` /
``load`` write the matrix with ``scipy.sparse.save_npz`` (read back without pickle) and the ids
as text. This module does not encode.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, ParameterError
from ..files import atomic_dir
from ..optional import require
from .base import Hits, check_ids, check_k

__all__ = ["SparseIndex"]


def _sparse() -> Any:
    return require("scipy.sparse", None, "sparse indexes", package="scipy")


class SparseIndex:
    """Documents as sparse vectors (``(n, vocab)`` CSR rows); queries scored by dot product."""

    kind = "sparse"

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._matrix: Any = None  # (vocab, n) CSC: a posting list per term

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __repr__(self) -> str:
        return f"SparseIndex({len(self)} documents)"

    @property
    def vocab_size(self) -> int | None:
        return None if self._matrix is None else int(self._matrix.shape[0])

    def add(self, ids: Sequence[str], vectors: Any) -> None:
        """Append documents ``ids`` with their sparse rows (anything scipy turns into CSR)."""
        sparse = _sparse()
        rows = sparse.csr_matrix(vectors, dtype=np.float32)
        new = check_ids(ids, rows.shape[0], "SparseIndex.add")
        clash = [i for i in new if i in self._rows]
        if clash:
            raise ParameterError(f"ids already in the index: {clash[:5]}")
        if self._matrix is not None and rows.shape[1] != self._matrix.shape[0]:
            raise ParameterError(
                f"vectors over a vocabulary of {rows.shape[1]} added to an index of "
                f"{self._matrix.shape[0]}"
            )
        block = rows.T.tocsc()
        self._matrix = (
            block if self._matrix is None else sparse.hstack([self._matrix, block], "csc")
        )
        for i in new:
            self._rows[i] = len(self._ids)
            self._ids.append(i)

    def search(self, queries: Any, k: int = 10) -> list[Hits]:
        """The ``k`` best documents for each query row, by dot product (best first)."""
        check_k(k, "SparseIndex.search")
        sparse = _sparse()
        q = sparse.csr_matrix(queries, dtype=np.float32)
        if self._matrix is None:
            return [Hits([], np.zeros(0, np.float32)) for _ in range(q.shape[0])]
        if q.shape[1] != self._matrix.shape[0]:
            raise ParameterError(
                f"queries over a vocabulary of {q.shape[1]}; the index has {self._matrix.shape[0]}"
            )
        scores = (q @ self._matrix).toarray()  # (queries, documents)
        kk = min(k, len(self._ids))
        out = []
        for row in scores:
            top = np.argpartition(-row, kk - 1)[:kk] if kk < len(row) else np.arange(len(row))
            top = top[np.argsort(-row[top], kind="stable")]
            top = top[row[top] > 0]  # no shared term: not a match
            out.append(Hits([self._ids[i] for i in top], row[top].astype(np.float32)))
        return out

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``matrix.npz``, ``ids.txt`` and ``sparse.json`` into ``folder`` atomically."""
        sparse = _sparse()
        path = Path(folder)
        with atomic_dir(path) as tmp:
            if self._matrix is not None:
                sparse.save_npz(tmp / "matrix.npz", self._matrix.tocsc())
            (tmp / "ids.txt").write_text("".join(i + "\n" for i in self._ids), encoding="utf-8")
            meta = {"kind": "embedlab.sparse", "version": 1, "count": len(self._ids)}
            (tmp / "sparse.json").write_text(json.dumps(meta) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> SparseIndex:
        sparse = _sparse()
        path = Path(folder)
        try:
            meta = json.loads((path / "sparse.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FormatError(path, "expected sparse.json in the folder") from None
        except ValueError as e:
            raise FormatError(path / "sparse.json", f"expected JSON: {e}") from None
        if not isinstance(meta, dict) or meta.get("kind") != "embedlab.sparse":
            raise FormatError(path / "sparse.json", "expected kind 'embedlab.sparse'")
        if meta.get("version") != 1:
            raise FormatError(
                path / "sparse.json", f"expected version 1, found {meta.get('version')!r}"
            )
        ids = (path / "ids.txt").read_text(encoding="utf-8").splitlines()
        index = cls()
        if ids:
            matrix = sparse.load_npz(path / "matrix.npz")  # numpy arrays only: no pickle
            if matrix.shape[1] != len(ids) or meta.get("count") != len(ids):
                raise FormatError(
                    path, f"{len(ids)} ids for a matrix of {matrix.shape[1]} documents"
                )
            index._matrix = matrix.tocsc().astype(np.float32)
            index._ids = ids
            index._rows = {i: n for n, i in enumerate(ids)}
        return index
