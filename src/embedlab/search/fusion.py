"""Combining rankings from several retrievers (dense and sparse) into one.

``rrf([dense_hits, bm25_hits])`` is reciprocal-rank fusion: each id scores sum(1 / (k + rank)),
rank 1-based, k = 60 as in Cormack et al. 2009; it needs no score calibration. ``weighted`` mixes
min-max normalized scores with given weights (an id missing from one list gets 0 there). Both
return :class:`Hits` of the ``top`` best. This module does not search.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ParameterError
from .base import Hits

__all__ = ["rrf", "weighted"]


def _top(scores: dict[str, float], top: int) -> Hits:
    order = sorted(scores, key=lambda i: (-scores[i], i))[:top]
    return Hits(order, np.array([scores[i] for i in order], dtype=np.float32))


def rrf(rankings: Sequence[Hits], *, k: int = 60, top: int = 10) -> Hits:
    """Reciprocal-rank fusion: ``[a, b], [b, c]`` -> b first (1/61 + 1/62)."""
    if k < 0:
        raise ParameterError(f"rrf needs k >= 0; got {k}")
    fused: dict[str, float] = {}
    for hits in rankings:
        for rank, key in enumerate(hits.ids, 1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return _top(fused, top)


def weighted(rankings: Sequence[Hits], weights: Sequence[float], *, top: int = 10) -> Hits:
    """Weighted sum of min-max normalized scores (each list scaled to [0, 1])."""
    if len(rankings) != len(weights):
        raise ParameterError(f"{len(rankings)} rankings but {len(weights)} weights")
    fused: dict[str, float] = {}
    for hits, w in zip(rankings, weights):
        if not len(hits):
            continue
        lo, hi = float(hits.scores.min()), float(hits.scores.max())
        span = hi - lo
        for key, s in hits:
            norm = (s - lo) / span if span > 0 else 1.0
            fused[key] = fused.get(key, 0.0) + w * norm
    return _top(fused, top)
