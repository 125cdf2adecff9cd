"""Row arithmetic every layer shares (the ground floor): unit-length rows, Matryoshka truncation.

``normalized([[3, 4], [0, 0]]) -> [[0.6, 0.8], [0, 0]]``: a new float32 array of unit rows, all-zero
rows left at zero (never NaN); ``normalize_inplace`` does the same in place; ``truncated(x, 2)``
keeps the first 2 dimensions and renormalises (how Matryoshka embeddings are shortened). This
module knows nothing of encoders or indexes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["normalize_inplace", "normalized", "truncated"]

FloatArray = npt.NDArray[np.float32]


def normalize_inplace(x: FloatArray) -> FloatArray:
    """Rows of ``x`` (any float array, last axis) scaled to unit length in place; returns ``x``."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


def normalized(x: npt.ArrayLike) -> FloatArray:
    """A new float32 array of ``x``'s rows at unit length (all-zero rows stay zero)."""
    return normalize_inplace(np.array(x, dtype=np.float32))


def truncated(x: Any, dims: int) -> FloatArray:
    """The first ``dims`` columns of ``x``, renormalised to unit rows (a new array)."""
    return normalize_inplace(np.array(np.asarray(x)[..., :dims], dtype=np.float32))
