"""Compression variants by name, as the retention report runs them: ``"pca:128,int8,binary,pq:48x8"``.

``parse_codecs(spec)`` returns one :class:`Codec` a name: ``float32`` (none), ``float16``, ``int8`` (ranges
calibrated on the fitting sample), ``binary`` (signs), ``pca:N``, ``dims:N`` (Matryoshka
truncation) and ``pq:MxB`` (``M`` sub-vectors of ``B`` bits; faiss). A codec is fitted on a sample
of the float rows (``fit``), turns rows into what a reader of the compressed index would score
against (``apply``: decoded or projected float32 rows), says its ``bytes_per_vector``, and can
``index`` rows and ``search`` that index the way a compressed index would (int8 dot products on
the codes, Hamming distance on the signs, table look-ups on PQ codes) so its query speed can be
measured. This module knows nothing of tasks or reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError
from ..rows import normalize_inplace, sign_values, truncated
from .pca import PCA
from .pq import ProductQuantizer
from .quantize import ScalarQuantizer, binarize, search_binary

__all__ = ["Codec", "parse_codecs"]

FloatArray = npt.NDArray[np.float32]
_SPEC = re.compile(r"^(float32|float16|int8|binary|pca:(\d+)|dims:(\d+)|pq:(\d+)x(\d+))$")


def _top(scores: FloatArray, k: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    best = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-best, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(best, order, axis=1)


@dataclass
class Codec:
    """One compression variant; ``fit`` before ``apply``, ``index`` or ``search``."""

    name: str
    kind: str
    size: int = 0  # pca / dims: the dimension kept; pq: sub-vectors
    bits: int = 0  # pq: bits a sub-vector
    state: Any = field(default=None, repr=False)

    def fit(self, sample: npt.ArrayLike) -> Codec:
        x = np.asarray(sample, dtype=np.float32)
        if self.kind == "int8":
            self.state = ScalarQuantizer("int8").fit(x)
        elif self.kind == "pca":
            self.state = PCA(self.size).fit(x)
        elif self.kind == "pq":
            self.state = ProductQuantizer(self.size, self.bits).fit(x)
        elif self.kind == "dims" and self.size > x.shape[1]:
            raise ParameterError(f"{self.name}: the vectors have only {x.shape[1]} dimensions")
        self.dim = x.shape[1]
        return self

    def apply(self, x: npt.ArrayLike) -> FloatArray:
        """What a reader of the compressed rows scores against, as float32 rows."""
        a = np.asarray(x, dtype=np.float32)
        if self.kind == "float32":
            return a
        if self.kind == "float16":
            return a.astype(np.float16).astype(np.float32)
        if self.kind == "binary":
            return normalize_inplace(sign_values(binarize(a), a.shape[1]))
        if self.kind == "dims":
            return truncated(a, self.size)
        if self.kind in ("int8", "pq"):
            return np.asarray(self.state.inverse_transform(self.state.transform(a)), np.float32)
        return np.asarray(self.state.transform(a), dtype=np.float32)  # pca

    def bytes_per_vector(self) -> float:
        dim = getattr(self, "dim", 0)
        per = {
            "float32": 4.0 * dim,
            "float16": 2.0 * dim,
            "int8": float(dim),
            "binary": float((dim + 7) // 8),
            "pca": 4.0 * self.size,
            "dims": 4.0 * self.size,
            "pq": float((self.size * self.bits + 7) // 8),
        }
        return per[self.kind]

    def overhead_bytes(self) -> int:
        """What the index holds besides the rows (ranges, projection, codebooks)."""
        dim = int(getattr(self, "dim", 0))
        extra: dict[str, int] = {
            "int8": 2 * dim * 4,
            "pca": (self.size + 1) * dim * 4,
            "pq": (2**self.bits) * dim * 4,
        }
        return extra.get(self.kind, 0)

    def index(self, x: npt.ArrayLike) -> Any:
        """The rows as the compressed index stores them."""
        a = np.asarray(x, dtype=np.float32)
        if self.kind == "float16":
            return a.astype(np.float16)
        if self.kind == "binary":
            return binarize(a)
        if self.kind in ("int8", "pq"):
            return self.state.transform(a)
        return self.apply(a)

    def search(self, index: Any, queries: npt.ArrayLike, k: int = 10) -> tuple[Any, Any]:
        """Top-``k`` rows of ``index`` for float ``queries`` (unit rows), as the index would."""
        q = np.asarray(queries, dtype=np.float32)
        if self.kind == "int8":
            return _top(self.state.scores(q, index), k)
        if self.kind == "binary":
            return search_binary(q, index, k, rescore=1)
        if self.kind == "pq":
            ids, scores = self.state.search(q, index, k)
            return ids, scores
        if self.kind == "float16":
            return _top(q @ index.astype(np.float32).T, k)
        return _top(self.apply(q) @ index.T, k)


def parse_codecs(spec: str | list[str]) -> list[Codec]:
    """``"pca:128,int8,binary,pq:48x8"`` -> four codecs (names as written)."""
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not names:
        raise ParameterError("no compression named; e.g. pca:128,int8,binary,pq:48x8")
    out = []
    for name in names:
        m = _SPEC.match(name)
        if m is None:
            raise ParameterError(
                f"unknown compression {name!r}: use float16, int8, binary, pca:N, dims:N or pq:MxB"
            )
        if name.startswith("pca"):
            out.append(Codec(name, "pca", int(m.group(2))))
        elif name.startswith("dims"):
            out.append(Codec(name, "dims", int(m.group(3))))
        elif name.startswith("pq"):
            out.append(Codec(name, "pq", int(m.group(4)), int(m.group(5))))
        else:
            out.append(Codec(name, name))
        if out[-1].kind in ("pca", "dims", "pq") and out[-1].size < 1:
            raise ParameterError(f"{name}: the number must be >= 1")
    if len({c.name for c in out}) != len(out):
        raise ParameterError(f"a compression is named twice in {spec!r}")
    return out
