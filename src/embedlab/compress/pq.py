"""Product quantization: each row as ``m`` sub-vector codes, searched by asymmetric distance tables.

``ProductQuantizer(m=48, nbits=8).fit(sample)`` cuts the ``dim`` columns into ``m`` equal
sub-vectors and learns ``2 ** nbits`` centroids for each by k-means; ``transform(x)`` stores each
sub-vector as its nearest centroid's number (``m * nbits`` bits a row, packed into bytes:
``(n, m)`` uint8 for 8 bits), ``inverse_transform(codes)`` rebuilds rows from the centroids, and
``search(q, codes, k)`` scores every code by the query's inner product with its reconstruction,
as ``m`` table look-ups a row. A 384-dimensional float32 row (1,536 bytes) becomes 48 bytes with
``m=48`` (32x smaller).

The engine is faiss (``pip install 'embedlab[search]'``): benchmarks/compression.py measured it
against our own numpy product quantizer on MiniLM vectors — the same quality (98.9% against 99.1%
of float32's nDCG@10 on StackFAQ) and 26x the search speed — so faiss is kept and ours was
dropped. This module works on arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import NotFittedError, ParameterError
from ..optional import require

__all__ = ["ProductQuantizer"]

FloatArray = npt.NDArray[np.float32]


def _faiss() -> Any:
    return require("faiss", "search", "product quantization", package="faiss-cpu")


class ProductQuantizer:
    """``m`` sub-quantizers of ``2 ** nbits`` centroids each (sklearn shape; faiss inside)."""

    def __init__(self, m: int = 48, nbits: int = 8, *, iterations: int = 25, seed: int = 0) -> None:
        self.m = m
        self.nbits = nbits
        self.iterations = iterations
        self.seed = seed

    def fit(self, sample: npt.ArrayLike) -> ProductQuantizer:
        """Learn the centroids from ``sample`` rows (at least ``2 ** nbits`` of them)."""
        faiss = _faiss()
        x = np.ascontiguousarray(sample, dtype=np.float32)
        if x.ndim != 2:
            raise ParameterError(f"ProductQuantizer.fit takes a 2-d matrix; got shape {x.shape}")
        if not 1 <= self.nbits <= 16:
            raise ParameterError(f"nbits must be in [1, 16]; got {self.nbits}")
        if self.m < 1 or x.shape[1] % self.m:
            raise ParameterError(
                f"m={self.m} sub-vectors must divide the dimension {x.shape[1]} evenly"
            )
        if x.shape[0] < 2**self.nbits:
            raise ParameterError(
                f"product quantization needs at least 2**nbits={2**self.nbits} sample rows; "
                f"got {x.shape[0]}"
            )
        pq = faiss.ProductQuantizer(x.shape[1], self.m, self.nbits)
        pq.cp.seed = self.seed
        pq.cp.niter = self.iterations
        pq.verbose = False
        pq.train(x)
        self._pq = pq
        self.centroids_ = faiss.vector_to_array(pq.centroids).reshape(self.m, pq.ksub, pq.dsub)
        return self

    def _fitted(self, dim: int | None = None) -> Any:
        if not hasattr(self, "_pq"):
            raise NotFittedError("this ProductQuantizer is not fitted yet: call fit(sample) first")
        if dim is not None and dim != self._pq.d:
            raise ParameterError(
                f"vectors of dimension {dim} given to a quantizer fitted on {self._pq.d}"
            )
        return self._pq

    @property
    def code_size(self) -> int:
        """Bytes a row: ``ceil(m * nbits / 8)``."""
        return int(self._fitted().code_size)

    def transform(self, x: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        """Each row's packed centroid numbers, ``(n, code_size)`` uint8."""
        a = np.ascontiguousarray(np.atleast_2d(np.asarray(x, dtype=np.float32)))
        return np.asarray(self._fitted(a.shape[1]).compute_codes(a), dtype=np.uint8)

    def inverse_transform(self, codes: npt.ArrayLike) -> FloatArray:
        """Rows rebuilt from their centroids, ``(n, dim)`` float32."""
        c = np.ascontiguousarray(np.atleast_2d(np.asarray(codes, dtype=np.uint8)))
        return np.asarray(self._fitted().decode(c), dtype=np.float32)

    def search(
        self, queries: npt.ArrayLike, codes: npt.ArrayLike, k: int = 10
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The ``k`` codes with the largest approximate inner product per query: ``(ids, scores)``."""
        faiss = _faiss()
        q = np.ascontiguousarray(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        pq = self._fitted(q.shape[1])
        c = np.ascontiguousarray(np.asarray(codes, dtype=np.uint8))
        if c.ndim != 2 or c.shape[1] != pq.code_size:
            raise ParameterError(
                f"expected codes of {pq.code_size} bytes a row; got shape {c.shape}"
            )
        index = faiss.IndexPQ(pq.d, pq.M, pq.nbits, faiss.METRIC_INNER_PRODUCT)
        index.pq = pq
        index.is_trained = True
        faiss.copy_array_to_vector(c.ravel(), index.codes)
        index.ntotal = c.shape[0]
        scores, ids = index.search(q, max(1, min(k, c.shape[0])))
        return np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32)
