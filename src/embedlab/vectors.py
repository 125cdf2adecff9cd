"""`Vectors`: keys <-> rows over one float32 matrix, the currency of embedlab.

The matrix is held in memory or memory-mapped (the native format opens in O(1)); rows handed out are
read-only, and every transform (`normalized`, `subset`, `add`) returns a new object. Similarity
follows gensim's ``KeyedVectors`` arithmetic (cosine through raw rows divided by cached norms) so
results agree with it to float precision.

This module does not read or write files (see :mod:`embedlab.io`), train (``embedlab.static``) or
evaluate (:mod:`embedlab.evaluate`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy as np
import numpy.typing as npt

from .errors import KeyNotFoundError, ParameterError, check_choice
from .rows import normalized

if TYPE_CHECKING:
    from .io.registry import FormatName

logger = logging.getLogger(__name__)

__all__ = ["Vectors"]

FloatMatrix = npt.NDArray[np.float32]
Query = Union[str, npt.ArrayLike]
_BLOCK = 1024  # query rows per BLAS call in `nearest`


def _readonly(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def _as_float32_matrix(vectors: npt.ArrayLike) -> FloatMatrix:
    arr = np.asarray(vectors)
    if arr.ndim != 2:
        raise ParameterError(f"vectors must be a 2-D matrix (rows x dim); got shape {arr.shape}.")
    if arr.dtype != np.float32:
        if not np.issubdtype(arr.dtype, np.number):
            raise ParameterError(f"vectors must be numeric; got dtype {arr.dtype}.")
        arr = arr.astype(np.float32)
    return arr


def topk_indices(scores: npt.NDArray[np.floating[Any]], k: int) -> npt.NDArray[np.intp]:
    """Indices of the k largest scores, best first: ``[0.1, 0.9, 0.5], k=2 -> [1, 2]``."""
    n = scores.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    if k < n:
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.argsort(-scores[part], kind="stable")]
    return np.argsort(-scores, kind="stable")


class Vectors:
    """Keyed float32 vectors, with the surface gensim users know.

    >>> v = Vectors(["cat", "dog"], [[1.0, 0.0], [0.8, 0.6]])
    >>> v["dog"].tolist(), "cat" in v, len(v), v.dim
    ([0.800000011920929, 0.6000000238418579], True, 2, 2)
    >>> round(v.similarity("cat", "dog"), 3)
    0.8

    ``vectors`` may be any float matrix; a float32 array (or memmap) is used without a copy, other
    dtypes are converted. ``counts`` are optional corpus frequencies, one per key.
    """

    def __init__(
        self,
        keys: Iterable[str],
        vectors: npt.ArrayLike,
        counts: npt.ArrayLike | None = None,
    ) -> None:
        index_to_key = list(keys)
        key_to_index: dict[str, int] = {}
        for i, key in enumerate(index_to_key):
            if not isinstance(key, str):
                raise ParameterError(f"keys must be str; key {i} is {type(key).__name__}: {key!r}.")
            if key in key_to_index:
                raise ParameterError(f"duplicate key {key!r} at rows {key_to_index[key]} and {i}.")
            key_to_index[key] = i
        matrix = _as_float32_matrix(vectors)
        self._init(index_to_key, key_to_index, matrix, counts)

    def _init(
        self,
        index_to_key: Sequence[str],
        key_to_index: Mapping[str, int],
        matrix: FloatMatrix,
        counts: npt.ArrayLike | None,
    ) -> None:
        if matrix.shape[0] != len(index_to_key):
            raise ParameterError(
                f"{len(index_to_key)} keys but the matrix has {matrix.shape[0]} rows."
            )
        self._index_to_key = index_to_key
        self._key_to_index = key_to_index
        self._vectors: FloatMatrix = _readonly(matrix)
        self._counts: npt.NDArray[np.int64] | None = None
        if counts is not None:
            c = np.asarray(counts, dtype=np.int64)
            if c.shape != (len(index_to_key),):
                raise ParameterError(
                    f"counts must have shape ({len(index_to_key)},); got {c.shape}."
                )
            self._counts = _readonly(c)
        self._norms: FloatMatrix | None = None

    @classmethod
    def _from_parts(
        cls,
        index_to_key: Sequence[str],
        key_to_index: Mapping[str, int],
        matrix: FloatMatrix,
        counts: npt.ArrayLike | None = None,
    ) -> Vectors:
        """Build without re-validating keys (readers have already checked them)."""
        obj = cls.__new__(cls)
        obj._init(index_to_key, key_to_index, matrix, counts)
        return obj

    # ----------------------------------------------------------------- the gensim surface
    @property
    def vectors(self) -> FloatMatrix:
        """The (read-only) float32 matrix, one row per key."""
        return self._vectors

    @property
    def index_to_key(self) -> Sequence[str]:
        return self._index_to_key

    @property
    def key_to_index(self) -> Mapping[str, int]:
        return self._key_to_index

    @property
    def counts(self) -> npt.NDArray[np.int64] | None:
        return self._counts

    @property
    def dim(self) -> int:
        return int(self._vectors.shape[1])

    @property
    def is_mmap(self) -> bool:
        """True when the matrix is memory-mapped from a file rather than held in RAM."""
        base: Any = self._vectors
        while base is not None:
            if isinstance(base, np.memmap):
                return True
            base = getattr(base, "base", None)
        return False

    def __len__(self) -> int:
        return len(self._index_to_key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._key_to_index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index_to_key)

    def __repr__(self) -> str:
        where = "mmap" if self.is_mmap else "memory"
        return f"Vectors({len(self)} keys x {self.dim} dims, float32, {where})"

    def get_index(self, key: str) -> int:
        """Row of ``key``; raises :class:`KeyNotFoundError` naming the key."""
        try:
            return self._key_to_index[key]
        except (KeyError, TypeError):
            raise KeyNotFoundError(f"{key!r} is not in the vocabulary ({len(self)} keys)") from None

    def get_vector(self, key: str, *, norm: bool = False) -> FloatMatrix:
        """The row of ``key`` (read-only); ``norm=True`` returns it scaled to unit length."""
        row = self._vectors[self.get_index(key)]
        if norm:
            n = float(self.norms[self.get_index(key)])
            return _readonly((row / n if n > 0 else row.copy()).astype(np.float32))
        return row  # type: ignore[no-any-return]

    def __getitem__(self, key: str | Sequence[str]) -> FloatMatrix:
        if isinstance(key, str):
            return self.get_vector(key)
        if isinstance(key, Sequence):
            return _readonly(np.stack([self.get_vector(k) for k in key]).reshape(-1, self.dim))
        raise TypeError(f"Vectors keys are str or a list of str; got {type(key).__name__}")

    @property
    def norms(self) -> FloatMatrix:
        """L2 norm of every row (float32, cached)."""
        if self._norms is None:
            self._norms = _readonly(np.linalg.norm(self._vectors, axis=1).astype(np.float32))
        return self._norms

    # ----------------------------------------------------------------- similarity
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two keys."""
        va, vb = self.get_vector(a, norm=True), self.get_vector(b, norm=True)
        return float(np.dot(va, vb))

    def _query_vector(
        self, positive: Sequence[Query], negative: Sequence[Query]
    ) -> tuple[FloatMatrix, set[int]]:
        """Unit mean of the weighted unit query vectors, and the rows to exclude."""
        if not positive and not negative:
            raise ParameterError("most_similar needs at least one positive or negative query.")
        terms: list[FloatMatrix] = []
        exclude: set[int] = set()
        for items, weight in ((positive, 1.0), (negative, -1.0)):
            for item in items:
                if isinstance(item, str):
                    # get_vector may build a vector for an unknown word (SubwordVectors)
                    terms.append(weight * self.get_vector(item, norm=True))
                    if item in self:
                        exclude.add(self.get_index(item))
                else:
                    arr = np.asarray(item, dtype=np.float32)
                    if arr.shape != (self.dim,):
                        raise ParameterError(
                            f"query vectors must have shape ({self.dim},); got {arr.shape}."
                        )
                    n = float(np.linalg.norm(arr))
                    terms.append(weight * (arr / n if n > 0 else arr))
        mean = np.array(terms, dtype=np.float32).mean(axis=0)
        length = np.sqrt(np.sum(mean * mean))
        if length > 0:
            mean = (mean / length).astype(np.float32)
        return mean, exclude

    def _limit(self, restrict_vocab: int | None) -> int:
        if restrict_vocab is None:
            return len(self)
        if not isinstance(restrict_vocab, int) or restrict_vocab < 1:
            raise ParameterError(
                f"The 'restrict_vocab' parameter must be an int in [1, inf) or None. "
                f"Got {restrict_vocab!r} instead."
            )
        return min(restrict_vocab, len(self))

    def _cosines(self, query: FloatMatrix, limit: int) -> FloatMatrix:
        """Cosine of a unit query (or a block of them) with the first ``limit`` rows."""
        norms = self.norms[:limit]
        safe = np.where(norms > 0, norms, np.float32(1.0))
        return np.asarray(np.dot(self._vectors[:limit], query.T).T / safe, dtype=np.float32)

    def most_similar(
        self,
        positive: Query | Sequence[Query] = (),
        negative: Query | Sequence[Query] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """Keys nearest to the mean of ``positive`` minus ``negative`` (keys or vectors), by cosine.

        The query keys themselves are left out. ``restrict_vocab`` searches only the first N rows
        (the most frequent words in frequency-ordered files), as in gensim.
        """
        pos, neg = _as_queries(positive), _as_queries(negative)
        _check_topn(topn)
        limit = self._limit(restrict_vocab)
        mean, exclude = self._query_vector(pos, neg)
        sims = self._cosines(mean, limit)
        best = topk_indices(sims, topn + len(exclude))
        out = [(self._index_to_key[i], float(sims[i])) for i in best if i not in exclude]
        return out[:topn]

    def analogy(
        self,
        a: str,
        b: str,
        c: str,
        *,
        method: Literal["3cosadd", "3cosmul"] = "3cosadd",
        topn: int = 1,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """Answer ``a : b :: c : ?`` (man : king :: woman : queen), best first.

        ``3cosadd`` ranks by cos(x, b - a + c) (Mikolov); ``3cosmul`` by
        cos(x,b) cos(x,c) / (cos(x,a) + 1e-6) with cosines shifted to [0, 1] (Levy & Goldberg).
        """
        method = check_choice("method", "analogy", method, ("3cosadd", "3cosmul"))  # type: ignore[assignment]
        if method == "3cosadd":
            return self.most_similar([b, c], [a], topn=topn, restrict_vocab=restrict_vocab)
        _check_topn(topn)
        limit = self._limit(restrict_vocab)
        unit = [self.get_vector(k, norm=True) for k in (a, b, c)]
        idx = [self.get_index(k) for k in (a, b, c) if k in self]
        shifted = [(1.0 + self._cosines(u[None, :], limit)[0]) / 2.0 for u in unit]
        scores = shifted[1] * shifted[2] / (shifted[0] + 1e-6)
        best = topk_indices(scores, topn + 3)
        out = [(self._index_to_key[i], float(scores[i])) for i in best if i not in idx]
        return out[:topn]

    def nearest(
        self,
        queries: npt.ArrayLike,
        k: int = 10,
        *,
        restrict_vocab: int | None = None,
    ) -> tuple[npt.NDArray[np.int64], FloatMatrix]:
        """Top-k rows by cosine for every query row, batched through BLAS.

        Returns ``(indices, scores)``, both of shape ``(n_queries, k)``, best first.
        """
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ParameterError(f"queries must have shape (n, {self.dim}); got {q.shape}.")
        _check_topn(k)
        limit = self._limit(restrict_vocab)
        k = min(k, limit)
        q = normalized(q)
        indices = np.empty((q.shape[0], k), dtype=np.int64)
        scores = np.empty((q.shape[0], k), dtype=np.float32)
        for start in range(0, q.shape[0], _BLOCK):
            sims = self._cosines(q[start : start + _BLOCK], limit)
            if k < limit:
                part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            else:
                part = np.broadcast_to(np.arange(limit), sims.shape)
            part_scores = np.take_along_axis(sims, part, axis=1)
            order = np.argsort(-part_scores, axis=1, kind="stable")
            indices[start : start + _BLOCK] = np.take_along_axis(part, order, axis=1)
            scores[start : start + _BLOCK] = np.take_along_axis(part_scores, order, axis=1)
        return indices, scores

    # ----------------------------------------------------------------- transforms (new objects)
    def normalized(self) -> Vectors:
        """A new `Vectors` whose rows have unit length (zero rows stay zero)."""
        safe = np.where(self.norms > 0, self.norms, np.float32(1.0))
        unit = (self._vectors / safe[:, None]).astype(np.float32)
        keys = list(self._index_to_key)
        return Vectors._from_parts(keys, {k: i for i, k in enumerate(keys)}, unit, self._counts)

    def subset(self, keys: Iterable[str]) -> Vectors:
        """A new `Vectors` holding only ``keys``, in that order."""
        keys = list(keys)
        rows = np.array([self.get_index(k) for k in keys], dtype=np.int64)
        counts = None if self._counts is None else self._counts[rows]
        return Vectors(keys, np.array(self._vectors[rows], dtype=np.float32), counts)

    def add(
        self,
        keys: Iterable[str],
        rows: npt.ArrayLike,
        counts: npt.ArrayLike | None = None,
        *,
        replace: bool = False,
    ) -> Vectors:
        """A new `Vectors` with ``keys`` appended (or, with ``replace=True``, overwritten)."""
        keys = list(keys)
        new = _as_float32_matrix(rows)
        if new.shape != (len(keys), self.dim):
            raise ParameterError(
                f"rows must have shape ({len(keys)}, {self.dim}); got {new.shape}."
            )
        if (counts is None) != (self._counts is None) and len(self):
            raise ParameterError("pass counts exactly when this Vectors has counts.")
        new_counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        all_keys = list(self._index_to_key)
        matrix = np.array(self._vectors, dtype=np.float32)
        cur_counts = None if self._counts is None else np.array(self._counts)
        appended_keys: list[str] = []
        appended: list[int] = []
        for j, key in enumerate(keys):
            if key in self:
                if not replace:
                    raise ParameterError(
                        f"key {key!r} is already present; pass replace=True to overwrite it."
                    )
                i = self.get_index(key)
                matrix[i] = new[j]
                if cur_counts is not None and new_counts is not None:
                    cur_counts[i] = new_counts[j]
            else:
                appended_keys.append(key)
                appended.append(j)
        all_keys.extend(appended_keys)
        matrix = np.concatenate([matrix, new[appended]], axis=0)
        if new_counts is not None:
            base = cur_counts if cur_counts is not None else np.zeros(0, dtype=np.int64)
            cur_counts = np.concatenate([base, new_counts[appended]])
        return Vectors(all_keys, matrix, cur_counts)

    # ----------------------------------------------------------------- IO shortcuts
    @classmethod
    def load(cls, path: str | os.PathLike[str], **kwargs: Any) -> Vectors:
        """Shortcut for :func:`embedlab.io.load_vectors`."""
        from .io import load_vectors

        return load_vectors(path, **kwargs)

    def save(
        self, path: str | os.PathLike[str], format: FormatName | None = None, **kwargs: Any
    ) -> None:
        """Shortcut for :func:`embedlab.io.save_vectors` (format picked from the suffix)."""
        from .io import save_vectors

        save_vectors(self, path, format=format, **kwargs)


def _as_queries(q: Query | Sequence[Query]) -> list[Query]:
    if isinstance(q, str):
        return [q]
    if isinstance(q, np.ndarray) and q.ndim == 1:
        return [q]
    return list(q)  # type: ignore[arg-type]


def _check_topn(topn: int) -> None:
    if not isinstance(topn, (int, np.integer)) or isinstance(topn, bool) or topn < 1:
        raise ParameterError(
            f"The 'topn' parameter must be an int in [1, inf). Got {topn!r} instead."
        )
