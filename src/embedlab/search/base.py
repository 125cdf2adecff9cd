"""What every index shares: string ids, a metric, results as (ids, scores), id bookkeeping.

Scores are "higher is better" for every metric: cosine similarity, dot product, or the negative
squared Euclidean distance for ``l2``. ``search`` takes one query (``(dim,)``, gives one
:class:`Hits`) or a batch (``(n, dim)``, gives a list), ``k`` and an optional ``allowed`` set of
ids (a metadata filter resolved by the caller, e.g. a collection). This module has no index.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import KeyNotFoundError, ParameterError, check_choice

logger = logging.getLogger(__name__)

__all__ = ["Document", "Hits", "Metric"]

Metric = Literal["cosine", "dot", "l2"]
FloatMatrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Hits:
    """The ``k`` best matches of one query, best first."""

    ids: list[str]
    scores: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return zip(self.ids, (float(s) for s in self.scores))

    def top(self) -> tuple[str, float] | None:
        return (self.ids[0], float(self.scores[0])) if self.ids else None


@dataclass(frozen=True)
class Document:
    """A collection's search result: the document and its score."""

    id: str
    text: str
    metadata: dict[str, Any]
    score: float = 0.0


def check_metric(metric: str, owner: str) -> Metric:
    return check_choice("metric", owner, metric, ("cosine", "dot", "l2"))  # type: ignore[return-value]


def check_k(k: int, owner: str) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ParameterError(
            f"The 'k' parameter of {owner}.search must be an int in [1, inf). Got {k!r}."
        )


def as_matrix(vectors: npt.ArrayLike, dim: int | None, owner: str) -> tuple[FloatMatrix, bool]:
    """``(n, dim)`` float32 rows and whether a single ``(dim,)`` vector was given."""
    x = np.asarray(vectors, dtype=np.float32)
    single = x.ndim == 1
    if single:
        x = x[None, :]
    if x.ndim != 2:
        raise ParameterError(
            f"{owner} takes a (dim,) vector or an (n, dim) matrix; got shape {x.shape}"
        )
    if dim is not None and x.shape[1] != dim:
        raise ParameterError(
            f"{owner} holds {dim}-dimensional vectors; got {x.shape[1]} dimensions"
        )
    if not np.isfinite(x).all():
        raise ParameterError(f"{owner}: vectors must be finite (found NaN or inf)")
    return np.ascontiguousarray(x), single


def check_ids(ids: Sequence[str], n: int, owner: str) -> list[str]:
    out = [str(i) for i in ids]
    if len(out) != n:
        raise ParameterError(f"{owner}.add got {len(out)} ids for {n} vectors")
    if len(set(out)) != len(out):
        dup = next(i for i in out if out.count(i) > 1)
        raise ParameterError(f"{owner}.add got the id {dup!r} twice")
    return out


def missing(ids: Iterable[str], known: set[str] | dict[str, int], owner: str) -> None:
    absent = [i for i in ids if i not in known]
    if absent:
        raise KeyNotFoundError(f"{owner}: unknown ids {absent[:5]}")
