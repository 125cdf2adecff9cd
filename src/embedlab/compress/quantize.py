"""Scalar and binary quantization of embedding rows, with search that rescores in float.

``ScalarQuantizer().fit(sample)`` learns each dimension's range on a calibration sample;
``transform(x)`` maps every value to one of 256 equal buckets of that range (``int8``: bucket
minus 128; ``uint8``: the bucket) and ``inverse_transform(codes)`` returns the bucket centres.
``binarize(x)`` keeps only signs, eight dimensions to a byte (``np.packbits(x > 0) - 128`` as
``int8``, or the ``uint8`` bytes themselves). Both give exactly the codes of
sentence-transformers' ``quantize_embeddings`` for the same input and ranges, so indexes built
by either tool can be read by the other.

Why rescoring: a binary code is 32x smaller than float32, but Hamming distance alone ranks
coarsely. :func:`search_binary` takes the ``rescore`` x ``k`` nearest codes by Hamming distance and
orders them by the float query against those candidates' float rows (read from a memory-mapped
file, so only the candidates are paged in), which keeps most of the float ranking's quality.

This module works on arrays; :mod:`embedlab.compress` puts them in files and reports what each
variant keeps.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import NotFittedError, ParameterError, check_choice
from ..rows import byte_codes, byte_scores, byte_values, sign_codes, sign_distances, sign_values

__all__ = [
    "ScalarQuantizer",
    "binarize",
    "hamming_distances",
    "quantize_embeddings",
    "search_binary",
    "unbinarize",
]

FloatArray = npt.NDArray[np.float32]
Precision = Literal["float32", "float16", "int8", "uint8", "binary", "ubinary"]
PRECISIONS: tuple[str, ...] = ("float32", "float16", "int8", "uint8", "binary", "ubinary")


def _rows(x: Any, owner: str) -> npt.NDArray[np.floating[Any]]:
    a = np.asarray(x)
    if a.ndim not in (1, 2) or not np.issubdtype(a.dtype, np.floating):
        raise ParameterError(
            f"{owner} takes float vectors (one row or a 2-d matrix); got {a.dtype} of shape {a.shape}"
        )
    return a


class ScalarQuantizer:
    """8-bit scalar quantization with per-dimension ranges calibrated on a sample.

    ``precision`` is ``"int8"`` (codes -128..127) or ``"uint8"`` (0..255). After ``fit``,
    ``ranges_`` is ``(2, dim)``: each dimension's minimum and maximum in the sample. Values outside
    the range clip to the first or last bucket.
    """

    def __init__(self, precision: Literal["int8", "uint8"] = "int8") -> None:
        self.precision = precision

    def fit(self, sample: npt.ArrayLike) -> ScalarQuantizer:
        """Learn the ranges from ``sample`` (rows like the ones to quantize; 2 or more)."""
        check_choice("precision", "ScalarQuantizer", self.precision, ("int8", "uint8"))
        x = _rows(sample, "ScalarQuantizer.fit")
        if x.ndim != 2 or x.shape[0] < 2:
            raise ParameterError(
                f"ScalarQuantizer.fit needs a calibration sample of 2 or more rows; got shape {x.shape}"
            )
        self.ranges_ = np.stack([x.min(axis=0), x.max(axis=0)]).astype(np.float32)
        return self

    @classmethod
    def from_ranges(
        cls, ranges: npt.ArrayLike, precision: Literal["int8", "uint8"] = "int8"
    ) -> ScalarQuantizer:
        """A fitted quantizer from known ``(2, dim)`` ranges (e.g. read back from a file)."""
        r = np.asarray(ranges, dtype=np.float32)
        if r.ndim != 2 or r.shape[0] != 2:
            raise ParameterError(f"ranges must have shape (2, dim); got {r.shape}")
        q = cls(precision)
        q.ranges_ = r
        return q

    def _ranges(self, dim: int | None = None) -> FloatArray:
        if not hasattr(self, "ranges_"):
            raise NotFittedError("this ScalarQuantizer is not fitted yet: call fit(sample) first")
        if dim is not None and dim != self.ranges_.shape[1]:
            raise ParameterError(
                f"vectors of dimension {dim} given to a quantizer fitted on {self.ranges_.shape[1]}"
            )
        return self.ranges_

    def transform(self, x: npt.ArrayLike) -> npt.NDArray[Any]:
        """The codes of ``x``'s rows: ``int8`` or ``uint8``, the shape of ``x``."""
        a = _rows(x, "ScalarQuantizer.transform")
        return byte_codes(a, self._ranges(a.shape[-1]), signed=self.precision == "int8")

    def inverse_transform(self, codes: npt.ArrayLike) -> FloatArray:
        """Float32 rows at the centre of each code's bucket (the best guess of the original)."""
        return byte_values(codes, self._ranges())

    def scores(
        self, queries: npt.ArrayLike, codes: npt.ArrayLike, *, chunk: int = 8192
    ) -> FloatArray:
        """``queries @ inverse_transform(codes).T`` without building the float rows: with bucket
        centres ``start + (b + 0.5) * step``, each score is ``q . start + (q * step) . (b + 0.5)``,
        computed ``chunk`` codes at a time. ``(n_queries, n_codes)`` float32."""
        q = np.atleast_2d(_rows(queries, "ScalarQuantizer.scores"))
        return byte_scores(q, codes, self._ranges(q.shape[1]), chunk=chunk)


def binarize(x: npt.ArrayLike, *, signed: bool = True) -> npt.NDArray[Any]:
    """Sign bits of ``x``'s rows packed eight to a byte (``dim / 8`` bytes a row, rounded up):
    ``int8`` (the byte minus 128) when ``signed``, else the ``uint8`` bytes."""
    return sign_codes(_rows(x, "binarize"), signed=signed)


def unbinarize(codes: npt.ArrayLike, dim: int) -> FloatArray:
    """Packed sign bits back to ``dim`` columns of +1 / -1 (float32)."""
    return sign_values(codes, dim)


def hamming_distances(query: npt.ArrayLike, codes: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """Hamming distance between packed codes: ``(n_queries, n_codes)`` (or ``(n_codes,)`` for
    one query row). Signed and unsigned codes may not be mixed."""
    q, c = np.asarray(query), np.asarray(codes)
    if q.dtype != c.dtype or q.shape[-1] != c.shape[-1]:
        raise ParameterError(
            f"codes do not match: query {q.dtype} x {q.shape[-1]} bytes, "
            f"index {c.dtype} x {c.shape[-1]} bytes"
        )
    out = sign_distances(q, c)
    return out[0] if q.ndim == 1 else out


def search_binary(
    query: npt.ArrayLike,
    codes: npt.ArrayLike,
    k: int = 10,
    *,
    vectors: npt.ArrayLike | None = None,
    rescore: int = 4,
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The ``k`` best rows for each float query over binary ``codes``: ``(ids, scores)``, each
    ``(n_queries, k)``.

    Candidates are the ``rescore * k`` rows nearest by Hamming distance. With ``vectors`` (the
    float rows, e.g. a memory-mapped array) they are reordered by the query's dot product with
    their float rows; without, by its dot product with their +1/-1 signs. Scores are those dot
    products (cosine when queries and rows are unit length).
    """
    q = np.atleast_2d(_rows(query, "search_binary")).astype(np.float32)
    c = np.asarray(codes)
    n = c.shape[0]
    if k < 1 or rescore < 1:
        raise ParameterError(f"k and rescore must be >= 1; got k={k}, rescore={rescore}")
    k = min(k, n)
    take = min(n, k * rescore)
    distances = hamming_distances(binarize(q, signed=c.dtype == np.int8), c)
    ids = np.empty((q.shape[0], k), dtype=np.int64)
    scores = np.empty((q.shape[0], k), dtype=np.float32)
    for i in range(q.shape[0]):
        cand = np.argpartition(distances[i], take - 1)[:take] if take < n else np.arange(n)
        cand = np.sort(cand)  # ascending rows: a memory map reads them in file order
        rows = (
            np.asarray(np.asarray(vectors)[cand], dtype=np.float32)
            if vectors is not None
            else unbinarize(c[cand], q.shape[1])
        )
        s = rows @ q[i]
        best = np.argsort(-s, kind="stable")[:k]
        ids[i], scores[i] = cand[best], s[best]
    return ids, scores


def quantize_embeddings(
    x: npt.ArrayLike,
    precision: Precision,
    *,
    ranges: npt.ArrayLike | None = None,
    calibration: npt.ArrayLike | None = None,
) -> npt.NDArray[Any]:
    """``x`` at ``precision``, the same codes as sentence-transformers' function of that name.

    ``int8``/``uint8`` take their ranges from ``ranges``, else from ``calibration`` rows, else
    (not recommended: a query alone has no range) from ``x`` itself.
    """
    check_choice("precision", "quantize_embeddings", precision, PRECISIONS)
    a = _rows(x, "quantize_embeddings")
    if precision in ("float32", "float16"):
        return a.astype(precision)
    if precision in ("binary", "ubinary"):
        return binarize(a, signed=precision == "binary")
    p: Literal["int8", "uint8"] = "int8" if precision == "int8" else "uint8"
    if ranges is not None:
        return ScalarQuantizer.from_ranges(ranges, p).transform(a)
    return ScalarQuantizer(p).fit(a if calibration is None else calibration).transform(a)
