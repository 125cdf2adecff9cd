"""Compressing a file of word vectors: project, truncate, quantize, save, and say what it cost.

``compress_vectors(vectors, pca=128, dtype="int8")`` returns the compressed :class:`Vectors` (as
float32 rows: what a reader of the saved file gets back) and ``save_compressed`` writes them as a
native folder whose codes are stored at ``dtype`` (float32, float16, int8 or binary), with the
fitted PCA kept beside them (``load_projection`` reads it back, so new vectors — an encoder's
output, a word added later — can be projected the same way). ``neighbour_agreement`` measures
what the compression kept: for a sample of keys, the share of each one's 10 nearest neighbours
that are the same before and after.

Order of the steps: PCA or truncation first (they change the dimension), quantization last (it
changes the bytes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError, check_choice
from ..io import save_vectors
from ..io.native import read_extras
from ..rows import byte_codes, byte_values, normalize_inplace, sign_codes, sign_values, truncated
from ..vectors import Vectors
from .pca import PCA

__all__ = [
    "CompressedVectors",
    "compress_vectors",
    "load_projection",
    "neighbour_agreement",
    "save_compressed",
]

DTYPES = ("float32", "float16", "int8", "binary")
_BYTES = {"float32": 4.0, "float16": 2.0, "int8": 1.0, "binary": 1 / 8}


@dataclass
class CompressedVectors:
    """The result of :func:`compress_vectors`: ``vectors``, the rows a reader of the saved file
    gets back; ``stored``, the float rows before quantization (what the file's codes encode)."""

    vectors: Vectors
    stored: Vectors
    dtype: str
    pca: PCA | None = None
    truncate: int | None = None

    @property
    def bytes_per_vector(self) -> float:
        return float(np.ceil(self.vectors.dim * _BYTES[self.dtype]))


def compress_vectors(
    vectors: Vectors,
    *,
    pca: int | None = None,
    truncate: int | None = None,
    dtype: str = "float32",
    sample: int = 100_000,
    seed: int = 0,
) -> CompressedVectors:
    """``vectors`` reduced to ``pca`` principal directions (fitted on up to ``sample`` rows) or
    truncated to their first ``truncate`` dimensions, then quantized to ``dtype``."""
    check_choice("dtype", "compress_vectors", dtype, DTYPES)
    if pca is not None and truncate is not None:
        raise ParameterError("choose pca or truncate, not both (each sets the dimension)")
    for name, value in (("pca", pca), ("truncate", truncate)):
        if value is not None and not 1 <= value <= vectors.dim:
            raise ParameterError(
                f"{name} must be in [1, {vectors.dim}] (the dimension); got {value}"
            )
    matrix = np.asarray(vectors.vectors, dtype=np.float32)
    projection = None
    if pca is not None:
        rng = np.random.default_rng(seed)
        rows = rng.choice(len(matrix), min(sample, len(matrix)), replace=False)
        projection = PCA(pca).fit(matrix[np.sort(rows)])
        matrix = projection.transform(matrix)
    elif truncate is not None:
        matrix = truncated(matrix, truncate)
    stored = Vectors(list(vectors.index_to_key), matrix, vectors.counts)
    if dtype == "float16":
        matrix = matrix.astype(np.float16).astype(np.float32)
    elif dtype == "int8":
        ranges = np.stack([matrix.min(axis=0), matrix.max(axis=0)]) if len(matrix) else None
        if ranges is not None:
            matrix = byte_values(byte_codes(matrix, ranges), ranges)
    elif dtype == "binary":
        matrix = sign_values(sign_codes(matrix), matrix.shape[1])
        normalize_inplace(matrix)
    out = Vectors(list(vectors.index_to_key), matrix, vectors.counts)
    return CompressedVectors(out, stored, dtype, projection, truncate)


def save_compressed(compressed: CompressedVectors, path: str | os.PathLike[str]) -> Path:
    """Write a native folder storing the rows at ``compressed.dtype`` (and its PCA, if any)."""
    extra: dict[str, Any] = {}
    if compressed.pca is not None:
        p = compressed.pca
        extra = {
            "pca.mean": p.mean_,
            "pca.components": p.components_,
            "pca.explained_variance": p.explained_variance_,
            "pca.explained_variance_ratio": p.explained_variance_ratio_,
        }
    return save_vectors(
        compressed.stored, path, "native", dtype=compressed.dtype, extra=extra or None
    )


def load_projection(path: str | os.PathLike[str]) -> PCA | None:
    """The PCA a compressed folder was made with (None when it was not projected)."""
    extras = read_extras(Path(path))
    if "pca.components" not in extras:
        return None
    pca = PCA(int(extras["pca.components"].shape[0]))
    pca.mean_ = np.asarray(extras["pca.mean"], np.float32)
    pca.components_ = np.asarray(extras["pca.components"], np.float32)
    pca.explained_variance_ = np.asarray(extras["pca.explained_variance"], np.float32)
    pca.explained_variance_ratio_ = np.asarray(extras["pca.explained_variance_ratio"], np.float32)
    return pca


def neighbour_agreement(
    original: Vectors, compressed: Vectors, *, sample: int = 200, topn: int = 10, seed: int = 0
) -> float:
    """Mean share of the ``topn`` nearest neighbours of ``sample`` keys that compression kept."""
    keys = list(original.index_to_key)
    if len(keys) <= topn:
        raise ParameterError(f"need more than {topn} keys to compare neighbours; got {len(keys)}")
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(keys), min(sample, len(keys)), replace=False)
    shared = []
    for i in picks:
        before = {k for k, _ in original.most_similar(keys[i], topn=topn)}
        after = {k for k, _ in compressed.most_similar(keys[i], topn=topn)}
        shared.append(len(before & after) / topn)
    return float(np.mean(shared))
