"""Compressed embeddings: low-rank projection, Matryoshka truncation, float16, int8, binary, PQ.

Every method is a small estimator or function over float32 rows (``(n, dim)``), fitted on a
sample where it needs one, so the same compression applies to documents at index time and to
queries later:

- :class:`PCA` — project to the top ``n`` principal directions (saved as safetensors).
- :func:`embedlab.rows.truncated` — keep the first ``n`` dimensions and renormalise (Matryoshka
  models are trained for it).
- :func:`quantize_embeddings` / :class:`ScalarQuantizer` — float16, int8 / uint8 with ranges
  calibrated on a sample, binary signs packed eight to a byte; the same codes as
  sentence-transformers.
- :func:`search_binary` — Hamming candidates rescored with float rows.
- :class:`ProductQuantizer` — ``m`` bytes a row, searched by table look-ups.

This package works on arrays; it knows nothing of encoders, files of vectors or indexes.
"""

from __future__ import annotations

from .pca import PCA
from .pq import ProductQuantizer, kmeans
from .quantize import (
    ScalarQuantizer,
    binarize,
    hamming_distances,
    quantize_embeddings,
    search_binary,
    unbinarize,
)

__all__ = [
    "PCA",
    "ProductQuantizer",
    "ScalarQuantizer",
    "binarize",
    "hamming_distances",
    "kmeans",
    "quantize_embeddings",
    "search_binary",
    "unbinarize",
]
