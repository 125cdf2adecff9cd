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
- :class:`ProductQuantizer` — ``m`` bytes a row, searched by table look-ups (faiss).
- :func:`compress_vectors` / :func:`save_compressed` — the same for a file of word vectors, saved
  as a native folder that ``load_vectors`` reads (``embedlab compress``), with
  :func:`neighbour_agreement` saying how much of each word's neighbourhood survived.

The array parts know nothing of encoders, files or indexes; ``vectors`` adds the file.
"""

from __future__ import annotations

from .pca import PCA
from .pq import ProductQuantizer
from .quantize import (
    ScalarQuantizer,
    binarize,
    hamming_distances,
    quantize_embeddings,
    search_binary,
    unbinarize,
)
from .vectors import (
    CompressedVectors,
    compress_vectors,
    load_projection,
    neighbour_agreement,
    save_compressed,
)

__all__ = [
    "PCA",
    "CompressedVectors",
    "ProductQuantizer",
    "ScalarQuantizer",
    "binarize",
    "compress_vectors",
    "hamming_distances",
    "load_projection",
    "neighbour_agreement",
    "quantize_embeddings",
    "save_compressed",
    "search_binary",
    "unbinarize",
]
