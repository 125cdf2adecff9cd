"""Numba kernels for fastText-style subword n-grams: the FNV-1a hash and word-vector averaging.

Plain-array signatures only; :mod:`embedlab.subword` wraps them. The hash mirrors fastText's
``Dictionary::hash`` byte for byte (each byte sign-extended as ``int8`` before the xor), and the
n-gram walk mirrors ``Dictionary::computeSubwords`` (UTF-8 aware: n counts characters, not bytes).
"""

from __future__ import annotations

import numpy as np
from numba import njit

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


@njit(cache=True, nogil=True)
def fnv1a(data: np.ndarray, start: int, end: int) -> int:  # pragma: no cover - compiled
    """fastText's 32-bit FNV-1a over ``data[start:end]``: ``b"<a" -> 3866316574``... as uint32."""
    h = np.int64(FNV_OFFSET)
    for i in range(start, end):
        b = np.int64(data[i])
        if b >= 128:
            b = b | np.int64(0xFFFFFF00)
        h = ((h ^ b) * FNV_PRIME) & np.int64(0xFFFFFFFF)
    return int(h)


@njit(cache=True, nogil=True)
def subword_ids(
    word: np.ndarray, minn: int, maxn: int, bucket: int, nwords: int, out: np.ndarray
) -> int:  # pragma: no cover - compiled
    """Write the row ids of the n-grams of ``word`` (bytes of ``<word>``) into ``out``; return count."""
    n_bytes = word.shape[0]
    count = 0
    if bucket <= 0:
        return 0
    for i in range(n_bytes):
        if (word[i] & 0xC0) == 0x80:
            continue
        j = i
        n = 1
        while j < n_bytes and n <= maxn:
            j += 1
            while j < n_bytes and (word[j] & 0xC0) == 0x80:
                j += 1
            if n >= minn and not (n == 1 and (i == 0 or j == n_bytes)):
                out[count] = nwords + fnv1a(word, i, j) % bucket
                count += 1
            n += 1
    return count


@njit(cache=True, nogil=True)
def average_rows(
    buf: np.ndarray,
    offsets: np.ndarray,
    word_rows: np.ndarray,
    minn: int,
    maxn: int,
    bucket: int,
    nwords: int,
    matrix: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """fastText's ``getWordVector`` for many words at once.

    Word k is ``buf[offsets[k]:offsets[k+1]]`` (the bytes of ``<word>``); ``word_rows[k]`` is its
    own row in ``matrix`` or -1 for an out-of-vocabulary word. Returns the number of ids per word
    (0 means no vector could be formed).
    """
    n_ids = np.zeros(offsets.shape[0] - 1, dtype=np.int64)
    scratch = np.empty(max(1, (offsets[-1] + 1) * max(maxn, 1)), dtype=np.int64)
    for k in range(offsets.shape[0] - 1):
        word = buf[offsets[k] : offsets[k + 1]]
        count = 0
        if word_rows[k] >= 0:
            scratch[0] = word_rows[k]
            count = 1
        count += subword_ids(word, minn, maxn, bucket, nwords, scratch[count:])
        out[k, :] = 0.0
        for t in range(count):
            out[k, :] += matrix[scratch[t], :]
        if count > 0:
            out[k, :] *= np.float32(1.0 / count)
        n_ids[k] = count
    return n_ids
