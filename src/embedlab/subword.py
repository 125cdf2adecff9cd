"""`SubwordVectors`: word vectors plus fastText's hashed character n-gram matrix.

Any word gets a vector: a known word is the mean of its own input row and its n-gram rows, an
unknown word the mean of its n-gram rows -- exactly fastText's ``getWordVector``. ``vectors`` holds
the known words' final vectors (what fastText writes to ``.vec``). ``"w" in v`` still means "w is in
the vocabulary"; ``v["anything"]`` works for any word with at least one n-gram.

This module does not read files (``embedlab.io.fasttext_bin``) or train (``embedlab.static``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from .errors import KeyNotFoundError
from .vectors import FloatMatrix, Vectors, _readonly

logger = logging.getLogger(__name__)

__all__ = ["EOS", "SubwordVectors", "ngram_ids"]

EOS = "</s>"


def _pack(words: Sequence[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """UTF-8 bytes of ``<w>`` for each word, concatenated, with offsets: ``["a"] -> b"<a>", [0, 3]``."""
    encoded = [b"<" + w.encode("utf-8") + b">" for w in words]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.zeros(0, np.uint8)
    return buf, offsets


def ngram_ids(word: str, *, minn: int, maxn: int, bucket: int, nwords: int = 0) -> list[int]:
    """Row ids of the hashed n-grams of ``word`` as fastText computes them (``nwords`` + bucket)."""
    from . import _subword_kernels as K  # numba compiles on first use; keep `import embedlab` light

    buf, _ = _pack([word])
    out = np.empty(max(1, len(buf) * max(maxn, 1)), dtype=np.int64)
    n = K.subword_ids(buf, minn, maxn, bucket, nwords, out)
    return [int(x) for x in out[:n]]


def word_vectors(
    words: Sequence[str],
    word_rows: npt.NDArray[np.int64],
    matrix: FloatMatrix,
    *,
    minn: int,
    maxn: int,
    bucket: int,
    nwords: int,
) -> tuple[FloatMatrix, npt.NDArray[np.int64]]:
    """fastText word vectors of ``words`` (row -1 = unknown word); also the id count per word."""
    from . import _subword_kernels as K

    buf, offsets = _pack(words)
    out = np.empty((len(words), matrix.shape[1]), dtype=np.float32)
    counts = K.average_rows(buf, offsets, word_rows, minn, maxn, bucket, nwords, matrix, out)
    return out, counts


class SubwordVectors(Vectors):
    """Vectors with a fastText n-gram matrix, so out-of-vocabulary words get vectors too."""

    _input: FloatMatrix
    _nwords: int
    minn: int
    maxn: int
    bucket: int

    @classmethod
    def from_input_matrix(
        cls,
        keys: Sequence[str],
        input_matrix: FloatMatrix,
        *,
        minn: int,
        maxn: int,
        bucket: int,
        nwords: int | None = None,
        counts: npt.ArrayLike | None = None,
        key_to_index: dict[str, int] | None = None,
    ) -> SubwordVectors:
        """Build from fastText's input matrix: ``nwords`` word rows (the first ``len(keys)`` of
        them are exposed as keys), then ``bucket`` n-gram rows."""
        nwords = len(keys) if nwords is None else nwords
        rows = np.arange(len(keys), dtype=np.int64)
        final, _ = word_vectors(
            keys, rows, input_matrix, minn=minn, maxn=maxn, bucket=bucket, nwords=nwords
        )
        index = key_to_index if key_to_index is not None else {k: i for i, k in enumerate(keys)}
        if EOS in index:  # fastText gives the end-of-sentence token no n-grams
            final[index[EOS]] = input_matrix[index[EOS]]
        obj = cls._from_parts(list(keys), index, final, counts)
        assert isinstance(obj, SubwordVectors)
        obj._input, obj._nwords = _readonly(input_matrix), nwords
        obj.minn, obj.maxn, obj.bucket = minn, maxn, bucket
        return obj

    @classmethod
    def from_ngram_matrix(
        cls,
        index_to_key: Sequence[str],
        key_to_index: Mapping[str, int],
        vectors: FloatMatrix,
        ngram_vectors: FloatMatrix,
        *,
        minn: int,
        maxn: int,
        counts: npt.ArrayLike | None = None,
    ) -> SubwordVectors:
        """Rebuild from final word vectors and the ``bucket x dim`` n-gram matrix (native format)."""
        obj = cls._from_parts(index_to_key, key_to_index, vectors, counts)
        assert isinstance(obj, SubwordVectors)
        # n-gram ids are nwords + hash % bucket; with only the n-gram rows at hand, nwords is 0
        obj._input, obj._nwords = _readonly(ngram_vectors), 0
        obj.minn, obj.maxn, obj.bucket = minn, maxn, int(ngram_vectors.shape[0])
        return obj

    @property
    def ngram_vectors(self) -> FloatMatrix:
        """The ``bucket x dim`` hashed n-gram matrix (read-only; may be memory-mapped)."""
        return self._input[self._nwords :]

    def get_vector(self, key: str, *, norm: bool = False) -> FloatMatrix:
        if key in self:
            return super().get_vector(key, norm=norm)
        if not isinstance(key, str):
            raise KeyNotFoundError(f"{key!r} is not a str")
        vec, count = word_vectors(
            [key],
            np.array([-1], dtype=np.int64),
            self._input,
            minn=self.minn,
            maxn=self.maxn,
            bucket=self.bucket,
            nwords=self._nwords,
        )
        if count[0] == 0:
            raise KeyNotFoundError(
                f"{key!r} is not in the vocabulary and has no character n-grams "
                f"(minn={self.minn}, maxn={self.maxn})"
            )
        row = vec[0]
        if norm:
            n = float(np.linalg.norm(row))
            row = row / n if n > 0 else row
        return _readonly(row)

    def __repr__(self) -> str:
        return (
            f"SubwordVectors({len(self)} keys x {self.dim} dims, {self.bucket} n-gram buckets, "
            f"n={self.minn}..{self.maxn})"
        )
