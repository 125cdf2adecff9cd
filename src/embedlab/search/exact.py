"""`ExactIndex`: brute-force nearest neighbours through BLAS, the reference every ANN is measured by.

Vectors live in one growable float32 matrix (rows of unit length for ``cosine``); queries are
scored in chunks (a block of queries times a block of rows, so memory stays bounded however large
the index), the top ``k`` of each block kept with ``argpartition`` and merged. Removing an id leaves
a tombstone that searches skip; the matrix is compacted when a quarter of it is dead. Saved as a
folder: ``vectors.npy``, ``ids.txt`` (one escaped id per line) and ``index.json``; no pickle.
This module does not embed text.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError
from ..files import atomic_dir, load_npy, read_json
from ..rows import normalized
from .base import (
    FloatMatrix,
    Hits,
    Metric,
    as_matrix,
    check_ids,
    check_k,
    check_metric,
    missing,
)

logger = logging.getLogger(__name__)

__all__ = ["ExactIndex"]

_QUERY_BLOCK = 256
_ROW_BLOCK = 1 << 16


class ExactIndex:
    """Exact top-k search by cosine, dot product or (negative squared) L2 distance."""

    kind = "exact"

    def __init__(self, dim: int, *, metric: Metric = "cosine") -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ParameterError(
                f"The 'dim' parameter of ExactIndex must be an int in [1, inf). Got {dim!r}."
            )
        self.dim = dim
        self.metric: Metric = check_metric(metric, "ExactIndex")
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __repr__(self) -> str:
        return f"ExactIndex({len(self)} x {self.dim}, metric={self.metric!r})"

    @property
    def ids(self) -> list[str]:
        return [i for i, alive in zip(self._ids, self._alive) if alive]

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        """Add new ids; an id already present is replaced (update)."""
        x, _ = as_matrix(vectors, self.dim, "ExactIndex")
        keys = check_ids(ids, len(x), "ExactIndex")
        if self.metric == "cosine":
            x = normalized(x)
        fresh = [n for n, k in enumerate(keys) if k not in self._rows]
        for n, k in enumerate(keys):
            if k in self._rows:
                self._matrix[self._rows[k]] = x[n]
        if fresh:
            start = len(self._ids)
            self._grow(start + len(fresh))
            self._matrix[start : start + len(fresh)] = x[fresh]
            self._alive[start : start + len(fresh)] = True
            for j, n in enumerate(fresh):
                self._ids.append(keys[n])
                self._rows[keys[n]] = start + j

    def _grow(self, size: int) -> None:
        if size <= len(self._matrix):
            if len(self._alive) < size:
                self._alive = np.concatenate([self._alive, np.zeros(size - len(self._alive), bool)])
            return
        capacity = max(size, 2 * len(self._matrix), 1024)
        matrix = np.zeros((capacity, self.dim), dtype=np.float32)
        matrix[: len(self._ids)] = self._matrix[: len(self._ids)]
        alive = np.zeros(capacity, dtype=bool)
        alive[: len(self._ids)] = self._alive[: len(self._ids)]
        self._matrix, self._alive = matrix, alive

    def remove(self, ids: Sequence[str]) -> None:
        keys = [str(i) for i in ids]
        missing(keys, self._rows, "ExactIndex")
        for k in keys:
            self._alive[self._rows.pop(k)] = False
        dead = len(self._ids) - len(self._rows)
        if dead > 1024 and dead * 4 > len(self._ids):
            self._compact()

    def _compact(self) -> None:
        keep = np.flatnonzero(self._alive[: len(self._ids)])
        self._matrix = np.ascontiguousarray(self._matrix[keep])
        self._ids = [self._ids[i] for i in keep]
        self._alive = np.ones(len(keep), dtype=bool)
        self._rows = {k: i for i, k in enumerate(self._ids)}

    def vectors(self, ids: Sequence[str]) -> FloatMatrix:
        missing(ids, self._rows, "ExactIndex")
        return self._matrix[[self._rows[i] for i in ids]].copy()

    def search(
        self, queries: npt.ArrayLike, k: int = 10, *, allowed: Collection[str] | None = None
    ) -> Hits | list[Hits]:
        """The ``k`` best ids per query; ``allowed`` restricts the candidates."""
        check_k(k, "ExactIndex")
        q, single = as_matrix(queries, self.dim, "ExactIndex")
        if self.metric == "cosine":
            q = normalized(q)
        n = len(self._ids)
        mask = self._alive[:n].copy()
        if allowed is not None:
            permitted = np.zeros(n, dtype=bool)
            rows = [self._rows[a] for a in allowed if a in self._rows]
            permitted[rows] = True
            mask &= permitted
        live = np.flatnonzero(mask)
        out = [
            self._search_block(q[s : s + _QUERY_BLOCK], live, k)
            for s in range(0, len(q), _QUERY_BLOCK)
        ]
        hits = [h for block in out for h in block]
        return hits[0] if single else hits

    def _scores(self, q: FloatMatrix, rows: npt.NDArray[np.intp]) -> FloatMatrix:
        block = self._matrix[rows]
        sims = q @ block.T
        if self.metric == "l2":
            sims = (
                2 * sims
                - np.einsum("ij,ij->i", q, q)[:, None]
                - np.einsum("ij,ij->i", block, block)[None, :]
            )
        return np.asarray(sims, dtype=np.float32)

    def _search_block(self, q: FloatMatrix, live: npt.NDArray[np.intp], k: int) -> list[Hits]:
        k = min(k, len(live))
        if k == 0:
            return [Hits([], np.zeros(0, np.float32)) for _ in range(len(q))]
        best_rows = np.empty((len(q), 0), dtype=np.intp)
        best_scores = np.empty((len(q), 0), dtype=np.float32)
        for start in range(0, len(live), _ROW_BLOCK):
            rows = live[start : start + _ROW_BLOCK]
            sims = self._scores(q, rows)
            kk = min(k, len(rows))
            top = (
                np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
                if kk < len(rows)
                else np.tile(np.arange(len(rows)), (len(q), 1))
            )
            best_rows = np.concatenate([best_rows, rows[top]], axis=1)
            best_scores = np.concatenate(
                [best_scores, np.take_along_axis(sims, top, axis=1)], axis=1
            )
            if best_rows.shape[1] > k:
                keep = np.argpartition(-best_scores, k - 1, axis=1)[:, :k]
                best_rows = np.take_along_axis(best_rows, keep, axis=1)
                best_scores = np.take_along_axis(best_scores, keep, axis=1)
        order = np.argsort(-best_scores, axis=1, kind="stable")
        best_rows = np.take_along_axis(best_rows, order, axis=1)
        best_scores = np.take_along_axis(best_scores, order, axis=1)
        return [
            Hits([self._ids[r] for r in rows_], scores.astype(np.float32))
            for rows_, scores in zip(best_rows, best_scores)
        ]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str]) -> Path:
        self._compact()
        target = Path(folder)
        with atomic_dir(target) as tmp:
            np.save(tmp / "vectors.npy", self._matrix[: len(self._ids)], allow_pickle=False)
            (tmp / "ids.txt").write_text(
                "".join(json.dumps(i) + "\n" for i in self._ids), encoding="utf-8"
            )
            (tmp / "index.json").write_text(json.dumps(self._header()), encoding="utf-8")
            self._save_extra(tmp)
        return target

    def _save_extra(self, folder: Path) -> None:
        """What a subclass keeps beside the rows (the quantized indexes: their codes)."""

    def _load_extra(self, folder: Path, header: dict[str, Any]) -> None:
        """Read back what ``_save_extra`` wrote."""

    def _keep(self, matrix: np.ndarray[Any, Any]) -> FloatMatrix:
        """The loaded rows as the index holds them: in memory (a quantized index maps them)."""
        return np.array(matrix)

    def _header(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "kind": self.kind,
            "dim": self.dim,
            "metric": self.metric,
            "count": len(self._ids),
        }

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> ExactIndex:
        root = Path(folder)
        with reading(root):
            header = read_header(root, cls.kind)
            index = cls(int(header["dim"]), metric=header["metric"])
            matrix = load_npy(root / "vectors.npy")
            ids = read_ids(root / "ids.txt")
            if matrix.shape != (len(ids), index.dim) or matrix.dtype != np.float32:
                raise FormatError(
                    root / "vectors.npy",
                    f"expected float32 ({len(ids)}, {index.dim}), found {matrix.dtype} "
                    f"{matrix.shape}",
                )
            index._matrix = index._keep(matrix)
            index._ids = ids
            index._alive = np.ones(len(ids), dtype=bool)
            index._rows = {k: i for i, k in enumerate(ids)}
            index._load_extra(root, header)
        return index


MAX_DIM = 1 << 16  # an index.json claiming more is damaged (and would allocate on load)


def read_header(root: Path, kind: str) -> dict[str, Any]:
    path = root / "index.json"
    if not path.exists():
        raise FormatError(root, "not an index folder: index.json is missing")
    header = read_json(path)
    if (
        not isinstance(header, dict)
        or header.get("format_version") != 1
        or header.get("kind") != kind
    ):
        raise FormatError(path, f"expected a version-1 {kind!r} index, found {str(header)[:200]}")
    dim = header.get("dim", 1)
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= MAX_DIM:
        raise FormatError(path, f"expected 'dim' an int in [1, {MAX_DIM}], found {dim!r}")
    return dict(header)


@contextlib.contextmanager
def reading(root: Path) -> Iterator[None]:
    """Whatever a damaged index folder makes a loader raise surfaces as a FormatError naming it."""
    try:
        yield
    except (FormatError, ParameterError):
        raise
    except MemoryError as e:
        raise FormatError(root, "the index declares more data than fits in memory") from e
    except Exception as e:
        raise FormatError(root, f"not a readable index: {type(e).__name__}: {e}") from e


def read_ids(path: Path) -> list[str]:
    ids = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise FormatError(
                path, f"expected a JSON string id, found {line[:40]!r}", line=n
            ) from e
        ids.append(str(value))
    return ids
