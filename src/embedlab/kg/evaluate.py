"""Link prediction, evaluated as PyKEEN's rank-based evaluator does: filtered, realistic ranks.

For every test triple ``(h, r, t)`` both sides are asked: ``(h, r, ?)`` ranks ``t`` among all
entities, ``(?, r, t)`` ranks ``h``. *Filtered*: the other true answers of the same question (in the
``known`` splits, train and dev, and in the test split itself) are left out of the ranking.
Ties are counted as PyKEEN does: the optimistic rank is ``1 + #{score > s}``, the pessimistic
``#{score >= s}`` (the answer itself included), the *realistic* rank their mean (the expected rank
under random tie-breaking). Metrics use the realistic rank: MRR (the mean of ``1 / rank``), Hits@k
(the share with ``rank <= k``), mean rank; per side and for both together ("both": the head and
tail ranks pooled). Given the same scores, :func:`rank_metrics` returns PyKEEN's numbers exactly
(``benchmarks/kg_crosscheck.py``).

This module does not train; it asks a model for its query vectors and candidate scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import ParameterError
from . import _kernels as K
from .triples import Triples

if TYPE_CHECKING:
    from .model import KGModel

__all__ = ["LinkPrediction", "filters", "link_prediction", "rank_metrics", "tune_text_weight"]

WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)

SIDES = ("head", "tail")


def rank_metrics(
    optimistic: npt.ArrayLike, pessimistic: npt.ArrayLike, ks: Sequence[int] = (1, 3, 10)
) -> dict[str, float]:
    """MRR, Hits@k and mean rank of the realistic ranks ``(optimistic + pessimistic) / 2``."""
    opt = np.asarray(optimistic, dtype=np.float64)
    pes = np.asarray(pessimistic, dtype=np.float64)
    if opt.shape != pes.shape or opt.size == 0:
        raise ParameterError("rank_metrics needs as many optimistic as pessimistic ranks, > 0")
    real = 0.5 * (opt + pes)
    out = {"mrr": float(np.mean(1.0 / real))}
    for k in ks:
        out[f"hits@{k}"] = float(np.mean(real <= k))
    out["mean_rank"] = float(np.mean(real))
    out["count"] = float(real.size)
    return out


def filters(
    queries: npt.NDArray[np.int64], tail_side: bool, truth: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """CSR ``(ptr, idx)``: for query ``i``, ``idx[ptr[i]:ptr[i+1]]`` are the answers ``truth``
    gives to its question (tails of ``(h, r)``, or heads of ``(r, t)``), each answer once."""
    truth = np.unique(truth, axis=0)  # a triple in two splits is still one answer
    width = int(max(truth[:, [0, 2]].max(), queries[:, [0, 2]].max())) + 1
    fixed, answer = (0, 2) if tail_side else (2, 0)
    keys = truth[:, 1] * np.int64(width) + truth[:, fixed]
    order = np.argsort(keys, kind="stable")
    keys, answers = keys[order], truth[order, answer]
    asked = queries[:, 1] * np.int64(width) + queries[:, fixed]
    lo = np.searchsorted(keys, asked, "left")
    hi = np.searchsorted(keys, asked, "right")
    counts = hi - lo
    ptr = np.zeros(len(queries) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    where = np.arange(ptr[-1], dtype=np.int64) - np.repeat(ptr[:-1], counts) + np.repeat(lo, counts)
    return ptr, np.ascontiguousarray(answers[where], dtype=np.int64)


@dataclass
class LinkPrediction:
    """Metrics per side (``"head"``, ``"tail"``, ``"both"``) and the ranks behind them."""

    metrics: dict[str, dict[str, float]]
    optimistic: dict[str, npt.NDArray[np.float64]] = field(repr=False)
    pessimistic: dict[str, npt.NDArray[np.float64]] = field(repr=False)

    def table(self) -> str:
        """A Markdown table: one row per side."""
        names = [k for k in self.metrics["both"] if k != "count"]
        lines = ["| side | " + " | ".join(names) + " | triples |", "|---" * (len(names) + 2) + "|"]
        for side, m in self.metrics.items():
            cells = [f"{m[n]:.1f}" if n == "mean_rank" else f"{m[n]:.4f}" for n in names]
            lines.append(f"| {side} | " + " | ".join(cells) + f" | {int(m['count']):,} |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": self.metrics}


def link_prediction(
    model: KGModel,
    triples: Triples,
    *,
    known: Sequence[Triples] = (),
    batch_size: int = 256,
    filtered: bool = True,
    show_progress: bool | None = None,
) -> LinkPrediction:
    """Rank every triple of ``triples`` on both sides against all of the model's entities,
    filtering the answers in ``known`` (train, dev) and ``triples`` themselves."""
    entities = model.entities_
    if triples.num_entities > len(entities) or triples.entities[: len(entities)] != entities:
        raise ParameterError(
            f"{triples.source} names {triples.num_entities - len(entities):,} entities the model "
            "was not trained on (or another entity table): structure-only models cannot rank "
            "them; train with entity text to rank new entities"
        )
    if triples.relations[: len(model.relations_)] != model.relations_:
        raise ParameterError(f"{triples.source} uses another relation table than the model")
    ids = triples.ids
    truth = np.concatenate([*(k.ids for k in known), ids]) if filtered else ids[:0]
    opt: dict[str, Any] = {}
    pes: dict[str, Any] = {}
    bar = progress(
        total=2 * len(ids), desc="ranking", unit="triple", enabled=show_progress, unit_scale=False
    )
    with bar:
        for side in SIDES:
            tail_side = side == "tail"
            targets = np.ascontiguousarray(ids[:, 2] if tail_side else ids[:, 0])
            ptr, idx = filters(ids, tail_side, truth) if filtered else _nothing(len(ids))
            o = np.empty(len(ids))
            p = np.empty(len(ids))
            for start in range(0, len(ids), batch_size):
                block = ids[start : start + batch_size]
                scores = model.score_candidates(model.query_vectors(block, tail_side))
                o[start : start + len(block)], p[start : start + len(block)] = K.realistic_ranks(
                    scores, targets[start : start + len(block)], ptr, idx, start
                )
                bar.update(len(block))
            opt[side], pes[side] = o, p
    opt["both"] = np.concatenate([opt["head"], opt["tail"]])
    pes["both"] = np.concatenate([pes["head"], pes["tail"]])
    metrics = {side: rank_metrics(opt[side], pes[side]) for side in ("head", "tail", "both")}
    return LinkPrediction(metrics, opt, pes)


def _nothing(n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)


def tune_text_weight(
    model: KGModel,
    dev: Triples,
    *,
    known: Sequence[Triples] = (),
    weights: Sequence[float] = WEIGHTS,
    batch_size: int = 256,
) -> dict[float, float]:
    """Set a text-aware model's ``text_weight`` to the one of ``weights`` whose fused score
    ranks ``dev`` best (filtered MRR, realistic ranks, both sides; a tie keeps the smaller
    weight), and return ``{weight: MRR}``. The two experts' scores are computed once."""
    if model._text is None:
        raise ParameterError("text_weight belongs to text-aware models (fit with text=...)")
    ids = dev.ids
    truth = np.concatenate([*(k.ids for k in known), ids])
    found: dict[float, list[Any]] = {float(w): [[], []] for w in weights}
    for tail_side in (False, True):
        targets = np.ascontiguousarray(ids[:, 2] if tail_side else ids[:, 0])
        ptr, idx = filters(ids, tail_side, truth)
        for start in range(0, len(ids), batch_size):
            block = ids[start : start + batch_size]
            structure, text = model.expert_scores(model.query_vectors(block, tail_side))
            for w, (lo, hi) in found.items():
                o, p = K.realistic_ranks(
                    structure + np.float32(w) * text,
                    targets[start : start + len(block)], ptr, idx, start,
                )  # fmt: skip
                lo.append(o)
                hi.append(p)
    mrr = {
        w: rank_metrics(np.concatenate(lo), np.concatenate(hi))["mrr"]
        for w, (lo, hi) in found.items()
    }
    model.text_weight = max(mrr, key=lambda w: (mrr[w], -w))
    return mrr
