"""Product quantization: each row as ``m`` bytes, searched by asymmetric distance tables.

``ProductQuantizer(m=48, nbits=8).fit(sample)`` cuts the ``dim`` columns into ``m`` equal
sub-vectors and learns 256 centroids for each by k-means (k-means++ start, Lloyd iterations,
seeded). ``transform(x)`` stores each sub-vector as the index of its nearest centroid (``(n, m)``
``uint8``), ``inverse_transform(codes)`` rebuilds rows from the centroids, and ``search(q, codes,
k)`` scores every code by the query's inner product with the reconstructed row — computed as
``m`` table look-ups per row (a ``(m, 256)`` table per query), never rebuilding the rows.

A 384-dimensional float32 row (1,536 bytes) becomes 48 bytes with ``m=48`` (32x smaller); the
benchmark compares this to faiss's ``IndexPQ`` on the same data. This module works on arrays.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..errors import NotFittedError, ParameterError

__all__ = ["ProductQuantizer", "kmeans"]

FloatArray = npt.NDArray[np.float32]


def _sq_distances(x: FloatArray, centroids: FloatArray) -> FloatArray:
    """Squared Euclidean distances ``(n, k)`` (up to the rows' own norms, which rank nothing)."""
    return np.asarray(
        (centroids * centroids).sum(axis=1)[None, :] - 2 * (x @ centroids.T), dtype=np.float32
    )


def kmeans(
    x: npt.ArrayLike, k: int, *, iterations: int = 20, seed: int = 0
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """``k`` centroids of ``x``'s rows and each row's cluster: k-means++ start, Lloyd steps."""
    a = np.asarray(x, dtype=np.float32)
    n = a.shape[0]
    if n < k:
        raise ParameterError(f"k-means needs at least k={k} rows; got {n}")
    rng = np.random.default_rng(seed)
    centroids = np.empty((k, a.shape[1]), dtype=np.float32)
    centroids[0] = a[rng.integers(n)]
    nearest = ((a - centroids[0]) ** 2).sum(axis=1)
    for j in range(1, k):  # k-means++: far rows are likelier next centroids
        total = float(nearest.sum())
        pick = rng.choice(n, p=nearest / total) if total > 0 else rng.integers(n)
        centroids[j] = a[pick]
        nearest = np.minimum(nearest, ((a - centroids[j]) ** 2).sum(axis=1))
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(iterations):
        labels = _sq_distances(a, centroids).argmin(axis=1)
        counts = np.bincount(labels, minlength=k)
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, a)
        moved = counts > 0
        new = centroids.copy()
        new[moved] = sums[moved] / counts[moved, None]
        if np.allclose(new, centroids):
            break
        centroids = new
    return centroids, labels


class ProductQuantizer:
    """``m`` sub-quantizers of ``2 ** nbits`` centroids each (sklearn shape; ``nbits`` <= 8)."""

    def __init__(self, m: int = 48, nbits: int = 8, *, iterations: int = 20, seed: int = 0) -> None:
        self.m = m
        self.nbits = nbits
        self.iterations = iterations
        self.seed = seed

    def fit(self, sample: npt.ArrayLike) -> ProductQuantizer:
        """Learn ``(m, 2**nbits, dim / m)`` centroids from ``sample`` rows."""
        x = np.asarray(sample, dtype=np.float32)
        if x.ndim != 2:
            raise ParameterError(f"ProductQuantizer.fit takes a 2-d matrix; got shape {x.shape}")
        if not 1 <= self.nbits <= 8:
            raise ParameterError(f"nbits must be in [1, 8] (codes are bytes); got {self.nbits}")
        if self.m < 1 or x.shape[1] % self.m:
            raise ParameterError(
                f"m={self.m} sub-vectors must divide the dimension {x.shape[1]} evenly"
            )
        k = 2**self.nbits
        sub = x.shape[1] // self.m
        self.centroids_ = np.stack(
            [
                kmeans(
                    x[:, j * sub : (j + 1) * sub], k, iterations=self.iterations, seed=self.seed + j
                )[0]
                for j in range(self.m)
            ]
        )
        return self

    def _fitted(self, dim: int | None = None) -> None:
        if not hasattr(self, "centroids_"):
            raise NotFittedError("this ProductQuantizer is not fitted yet: call fit(sample) first")
        width = self.centroids_.shape[0] * self.centroids_.shape[2]
        if dim is not None and dim != width:
            raise ParameterError(
                f"vectors of dimension {dim} given to a quantizer fitted on {width}"
            )

    def transform(self, x: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        """Each row's ``m`` centroid indices, ``(n, m)`` uint8."""
        a = np.atleast_2d(np.asarray(x, dtype=np.float32))
        self._fitted(a.shape[1])
        sub = self.centroids_.shape[2]
        codes = np.empty((a.shape[0], self.m), dtype=np.uint8)
        for j in range(self.m):
            part = a[:, j * sub : (j + 1) * sub]
            codes[:, j] = _sq_distances(part, self.centroids_[j]).argmin(axis=1)
        return codes

    def inverse_transform(self, codes: npt.ArrayLike) -> FloatArray:
        """Rows rebuilt from their centroids, ``(n, dim)`` float32."""
        self._fitted()
        c = np.atleast_2d(np.asarray(codes))
        parts = [self.centroids_[j][c[:, j]] for j in range(self.m)]
        return np.concatenate(parts, axis=1).astype(np.float32)

    def tables(self, queries: npt.ArrayLike) -> FloatArray:
        """Inner products of each query's sub-vectors with every centroid: ``(n, m, 2**nbits)``."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        self._fitted(q.shape[1])
        sub = self.centroids_.shape[2]
        t = np.einsum("qms,mks->qmk", q.reshape(q.shape[0], self.m, sub), self.centroids_)
        return np.asarray(t, dtype=np.float32)

    def search(
        self, queries: npt.ArrayLike, codes: npt.ArrayLike, k: int = 10
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The ``k`` codes with the largest approximate inner product per query: ``(ids, scores)``."""
        c = np.asarray(codes)
        tables = self.tables(queries)
        k = max(1, min(k, c.shape[0]))
        ids = np.empty((tables.shape[0], k), dtype=np.int64)
        scores = np.empty((tables.shape[0], k), dtype=np.float32)
        cols = np.arange(self.m)
        for i, table in enumerate(tables):
            s = table[cols, c].sum(axis=1)  # (n,): m look-ups a row
            top = np.argpartition(-s, k - 1)[:k] if k < s.shape[0] else np.arange(s.shape[0])
            top = top[np.argsort(-s[top], kind="stable")]
            ids[i], scores[i] = top, s[top]
        return ids, scores
