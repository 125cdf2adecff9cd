"""Row arithmetic every layer shares (the ground floor): unit rows, truncation, 8-bit and 1-bit codes.

``normalized([[3, 4], [0, 0]]) -> [[0.6, 0.8], [0, 0]]``: a new float32 array of unit rows, all-zero
rows left at zero (never NaN); ``normalize_inplace`` does the same in place; ``truncated(x, 2)``
keeps the first 2 dimensions and renormalises (how Matryoshka embeddings are shortened).

The codecs of compressed rows live here too, because both the compressors
(:mod:`embedlab.compress`) and the file readers (:mod:`embedlab.io`) need them: ``byte_codes(x,
ranges)`` puts each value in one of 256 equal buckets of its dimension's ``(2, dim)`` range
(``int8``: bucket - 128, or ``uint8``), ``byte_values`` returns the bucket centres; ``sign_codes``
packs signs eight to a byte and ``sign_values`` unpacks them to +1 / -1. This module knows nothing
of encoders, files or indexes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "byte_codes",
    "byte_scores",
    "byte_values",
    "normalize_inplace",
    "normalized",
    "sign_codes",
    "sign_distances",
    "sign_values",
    "truncated",
]

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


def _buckets(ranges: Any) -> tuple[FloatArray, FloatArray]:
    r = np.asarray(ranges, dtype=np.float32)
    steps = (r[1] - r[0]) / 255
    return r[0], np.where(steps == 0, 1, steps).astype(np.float32)


def byte_codes(x: Any, ranges: Any, *, signed: bool = True) -> npt.NDArray[Any]:
    """``x``'s values as 8-bit bucket numbers of their dimension's ``[min, max]`` (``ranges[0]``,
    ``ranges[1]``), clipped: ``int8`` (bucket - 128) when ``signed``, else ``uint8``."""
    starts, steps = _buckets(ranges)
    buckets = np.clip(np.floor((np.asarray(x) - starts) / steps), 0, 255)
    return np.asarray(buckets - 128, np.int8) if signed else np.asarray(buckets, np.uint8)


def byte_values(codes: Any, ranges: Any) -> FloatArray:
    """Float32 rows at the centre of each 8-bit code's bucket (``int8`` or ``uint8`` codes)."""
    c = np.asarray(codes)
    starts, steps = _buckets(ranges)
    buckets = c.astype(np.float32) + (128 if c.dtype == np.int8 else 0)
    return np.asarray(starts + (buckets + 0.5) * steps, dtype=np.float32)


def sign_codes(x: Any, *, signed: bool = True) -> npt.NDArray[Any]:
    """The sign bits of ``x``'s rows (``x > 0``) packed eight to a byte, ``ceil(dim / 8)`` bytes a
    row: ``int8`` (the byte - 128) when ``signed``, else the ``uint8`` bytes."""
    packed = np.packbits(np.asarray(x) > 0, axis=-1)
    return np.asarray(packed.astype(np.int16) - 128, np.int8) if signed else packed


def sign_values(codes: Any, dim: int) -> FloatArray:
    """Packed sign bits back to ``dim`` columns of +1 / -1 (float32)."""
    c = np.asarray(codes)
    raw = (c.astype(np.int16) + 128).astype(np.uint8) if c.dtype == np.int8 else c.astype(np.uint8)
    return np.unpackbits(raw, axis=-1, count=dim).astype(np.float32) * 2 - 1


def byte_scores(queries: Any, codes: Any, ranges: Any, *, chunk: int = 8192) -> FloatArray:
    """``queries @ byte_values(codes, ranges).T`` without decoding the rows: with bucket centres
    ``start + (b + 0.5) * step`` each score is ``q . start + (q * step) . (b + 0.5)``, computed
    ``chunk`` codes at a time. ``(n_queries, n_codes)`` float32."""
    q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    starts, steps = _buckets(ranges)
    c = np.asarray(codes)
    scaled = q * steps
    shift = np.float32(128.5 if c.dtype == np.int8 else 0.5)
    base = q @ starts + shift * scaled.sum(axis=1)
    out = np.empty((q.shape[0], c.shape[0]), dtype=np.float32)
    for at in range(0, c.shape[0], chunk):
        out[:, at : at + chunk] = scaled @ c[at : at + chunk].astype(np.float32).T + base[:, None]
    return out


def _words(codes: Any) -> npt.NDArray[Any]:
    """Packed codes as the widest unsigned words their byte width allows (8 bytes when it can)."""
    raw = np.ascontiguousarray(codes).view(np.uint8)
    return raw.view(np.uint64) if raw.shape[-1] % 8 == 0 else raw


_POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(1).astype(np.uint8)


def _popcount(words: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0: one instruction a word
        return np.asarray(np.bitwise_count(words))
    return np.asarray(_POPCOUNT[words.view(np.uint8)])


def sign_distances(queries: Any, codes: Any) -> npt.NDArray[np.int32]:
    """Hamming distances ``(n_queries, n_codes)`` between packed sign codes of one kind."""
    qs, cs = _words(np.atleast_2d(queries)), _words(np.atleast_2d(codes))
    out = np.empty((qs.shape[0], cs.shape[0]), dtype=np.int32)
    for i, row in enumerate(qs):
        out[i] = _popcount(np.bitwise_xor(cs, row)).sum(axis=1, dtype=np.int32)
    return out
