"""An inverted index for learned sparse vectors (SPLADE): exact dot-product top-k over scipy CSR.

``SparseIndex().add(ids, splade.encode(docs))`` keeps the documents as a compressed sparse column
matrix (one posting list of ``(document, weight)`` per vocabulary entry); ``search(queries, k)``
scores each query by its dot product with every document that shares a term with it — scipy's
sparse product walks only the posting lists of the query's terms — and returns :class:`Hits`.
SPLADE queries have tens of terms, so a query touches a small part of the index. Adding an id
that is present replaces it, ``remove`` drops ids, ``allowed`` restricts a search. ``save`` /
``load`` write the matrix with ``scipy.sparse.save_npz`` (read back without pickle) and the ids
as JSON lines. This module does not encode.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, ParameterError
from ..files import atomic_dir
from ..optional import require
from .base import Hits, check_ids, check_k
from .exact import read_ids

__all__ = ["SparseIndex"]


def _sparse() -> Any:
    return require("scipy.sparse", None, "sparse indexes", package="scipy")


class SparseIndex:
    """Documents as sparse vectors (``(n, vocab)`` CSR rows); queries scored by dot product."""

    kind = "sparse"

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._alive = np.zeros(0, dtype=bool)
        self._matrix: Any = None  # (vocab, n) CSC: a posting list per term

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __repr__(self) -> str:
        return f"SparseIndex({len(self)} documents)"

    @property
    def vocab_size(self) -> int | None:
        return None if self._matrix is None else int(self._matrix.shape[0])

    def add(self, ids: Sequence[str], vectors: Any) -> None:
        """Add documents ``ids`` with their sparse rows (anything scipy turns into CSR); an id
        already present is replaced."""
        sparse = _sparse()
        rows = sparse.csr_matrix(vectors, dtype=np.float32)
        new = check_ids(ids, rows.shape[0], "SparseIndex")
        if self._matrix is not None and rows.shape[1] != self._matrix.shape[0]:
            raise ParameterError(
                f"vectors over a vocabulary of {rows.shape[1]} added to an index of "
                f"{self._matrix.shape[0]}"
            )
        self.remove([i for i in new if i in self._rows])
        block = rows.T.tocsc()
        self._matrix = (
            block if self._matrix is None else sparse.hstack([self._matrix, block], "csc")
        )
        self._alive = np.concatenate([self._alive, np.ones(len(new), dtype=bool)])
        for i in new:
            self._rows[i] = len(self._ids)
            self._ids.append(i)

    def remove(self, ids: Sequence[str]) -> None:
        absent = [i for i in ids if i not in self._rows]
        if absent:
            raise ParameterError(f"SparseIndex: unknown ids {absent[:5]}")
        for i in ids:
            self._alive[self._rows.pop(i)] = False

    def search(
        self, queries: Any, k: int = 10, *, allowed: Collection[str] | None = None
    ) -> list[Hits]:
        """The ``k`` best documents for each query row, by dot product (best first);
        ``allowed`` restricts the candidates."""
        check_k(k, "SparseIndex.search")
        sparse = _sparse()
        q = sparse.csr_matrix(queries, dtype=np.float32)
        if self._matrix is None or not self._rows:
            return [Hits([], np.zeros(0, np.float32)) for _ in range(q.shape[0])]
        if q.shape[1] != self._matrix.shape[0]:
            raise ParameterError(
                f"queries over a vocabulary of {q.shape[1]}; the index has {self._matrix.shape[0]}"
            )
        mask = self._alive.copy()
        if allowed is not None:
            permitted = np.zeros(len(self._ids), dtype=bool)
            permitted[[self._rows[a] for a in allowed if a in self._rows]] = True
            mask &= permitted
        scores = (q @ self._matrix).toarray()  # (queries, documents)
        scores[:, ~mask] = 0.0
        kk = min(k, len(self._ids))
        out = []
        for row in scores:
            top = np.argpartition(-row, kk - 1)[:kk] if kk < len(row) else np.arange(len(row))
            top = top[np.argsort(-row[top], kind="stable")]
            top = top[row[top] > 0]  # no shared term (or filtered out): not a match
            out.append(Hits([self._ids[i] for i in top], row[top].astype(np.float32)))
        return out

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``matrix.npz``, ``ids.txt`` and ``sparse.json`` into ``folder`` atomically."""
        sparse = _sparse()
        path = Path(folder)
        keep = np.flatnonzero(self._alive)
        ids = [self._ids[i] for i in keep]
        with atomic_dir(path) as tmp:
            if self._matrix is not None and ids:
                sparse.save_npz(tmp / "matrix.npz", self._matrix[:, keep].tocsc())
            (tmp / "ids.txt").write_text(
                "".join(json.dumps(i) + "\n" for i in ids), encoding="utf-8"
            )
            meta = {"kind": "embedlab.sparse", "version": 1, "count": len(ids)}
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
        ids = read_ids(path / "ids.txt")
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
            index._alive = np.ones(len(ids), dtype=bool)
        return index
