"""Text-aware entities: an entity's description gives it a vector, trained triples or not.

A text-aware model is two experts over the same triples, trained on the same batches, each with
its own loss, and one fused score ``s(h, r, t) = s_structure + text_weight * s_description``:

- the *structure* expert is the structure-only model itself (same initialisation, negatives and
  updates: with ``text_weight`` 0 the model ranks exactly as a structure-only one);
- the *description* expert has no free entity vectors at all: an entity's row is ``W t``, its
  description vector ``t`` (any embedlab encoder's, :func:`describe`) through a matrix ``W``
  learned with the expert's own relation table (DKRL's description encoder, Xie et al. 2016, as a
  linear map over frozen sentence vectors). Every entity starts from its description, and a new
  entity with a description and no triple is placed exactly as a trained one
  (:meth:`KGModel.add_entities`);
- an entity's description is closest to itself, so the description expert would rank the query's
  own entity first (``(h, r, ?) -> h``); as SimKGC (Wang et al. 2022) does, each of its positives
  gets that entity as one more negative ("self-negative"; a self-loop gets a second random one).

``text_weight`` is set by :meth:`KGModel.tune_text_weight` on a dev split (``kg train --text``
does it when the dataset has one). For an entity the structure expert never saw, its part is
neutral: a query about it ranks by the description alone, and as a candidate it takes the mean
structure score of that query's candidates. Description vectors are centred (the training
entities' mean), reduced to their ``text_dim`` leading principal components (the projection costs
``O(rows x text_dim x width)`` per batch) and scaled to unit norm on average; the transform is kept
to place new entities. This module holds no file format (:mod:`.store`) and loads no encoder (the
caller passes one in).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError
from ..vectors import Vectors

if TYPE_CHECKING:
    from ..encoders.base import Encoder

logger = logging.getLogger(__name__)

__all__ = ["TextExpert", "describe"]

FloatArray = npt.NDArray[np.float32]


def describe(
    entities: Sequence[str],
    texts: Mapping[str, str],
    encoder: Encoder,
    *,
    batch_size: int = 64,
    show_progress: bool | None = None,
) -> Vectors:
    """The description vectors of ``entities`` (``texts``: ``{id: description}``, as
    :func:`~embedlab.kg.read_entity_text` reads them) with ``encoder``; an entity without a
    description is encoded from its id with ``_`` read as a space (a name is a short description;
    how many were is logged)."""
    missing = [e for e in entities if e not in texts]
    if missing:
        logger.warning(
            "%d of %d entities have no description; their ids stand in (%s...)",
            len(missing), len(entities), ", ".join(missing[:3]),
        )  # fmt: skip
    lines = [texts.get(e) or e.replace("_", " ") for e in entities]
    rows = encoder.encode(lines, batch_size=batch_size, normalize=True, show_progress=show_progress)
    return Vectors(list(entities), np.asarray(rows, dtype=np.float32).reshape(len(lines), -1))


def align(text: Vectors | npt.ArrayLike, entities: Sequence[str]) -> FloatArray:
    """``text`` as rows aligned with ``entities``: a :class:`Vectors` is looked up by name (an entity
    it lacks gets a zero row: no description), an array must already be aligned."""
    if isinstance(text, Vectors):
        out = np.zeros((len(entities), text.dim), dtype=np.float32)
        index = text.key_to_index
        rows = np.array([index.get(name, -1) for name in entities], dtype=np.int64)
        have = rows >= 0
        out[have] = np.asarray(text.vectors)[rows[have]]
        if not have.any():
            raise ParameterError(
                "the description vectors name none of the graph's entities (keys are entity ids)"
            )
        return out
    given = np.ascontiguousarray(text, dtype=np.float32)
    if given.ndim != 2 or len(given) != len(entities):
        raise ParameterError(
            f"expected one description vector per entity ({len(entities):,} rows), "
            f"found an array of shape {given.shape}"
        )
    return given


class TextExpert:
    """The description expert: ``W`` and the transform of description vectors, its relation
    table, their Adam state, and the per-batch training step (:meth:`step`)."""

    def __init__(
        self, mean: FloatArray, basis: FloatArray, scale: float, W: FloatArray, R: FloatArray
    ) -> None:
        self.mean, self.basis, self.scale, self.W, self.R = mean, basis, float(scale), W, R
        self.T = np.zeros((0, basis.shape[1]), dtype=np.float32)  # the entities' reduced rows
        self.S = np.zeros((0, W.shape[1]), dtype=np.float32)  # their rows W t
        self.mW, self.vW = np.zeros_like(W), np.zeros_like(W)
        self.mR, self.vR = np.zeros_like(R), np.zeros_like(R)
        self.lastR = np.zeros(len(R), dtype=np.int64)

    @classmethod
    def fit(
        cls, raw: FloatArray, R: FloatArray, width: int, text_dim: int | None, rng: Any
    ) -> TextExpert:
        """A fresh expert for the entities' raw description vectors (zero rows: none) and an
        initial relation table ``R``."""
        described = np.abs(raw).sum(1) > 0
        mean = raw[described].mean(0).astype(np.float32)
        centred = raw[described] - mean
        k = raw.shape[1] if text_dim is None else min(text_dim, raw.shape[1])
        if k < raw.shape[1]:  # leading principal components, as sklearn's PCA (svd of the rows)
            _, _, vt = np.linalg.svd(centred[:20000] if len(centred) > 20000 else centred, False)
            basis = np.ascontiguousarray(vt[:k].T, dtype=np.float32)
        else:
            basis = np.eye(raw.shape[1], dtype=np.float32)
        scale = float(np.linalg.norm(centred @ basis, axis=1).mean()) or 1.0
        bound = math.sqrt(6.0 / (k + width))  # xavier_uniform_
        W = rng.uniform(-bound, bound, size=(k, width)).astype(np.float32)
        out = cls(mean, basis, scale, W, R)
        out.set_entities(raw)
        return out

    def reduce(self, raw: FloatArray) -> FloatArray:
        """Raw description vectors in the projection's input space (zero rows stay zero)."""
        rows = ((raw - self.mean) @ self.basis) / self.scale
        rows[np.abs(raw).sum(1) == 0] = 0.0
        return np.ascontiguousarray(rows, dtype=np.float32)

    def set_entities(self, raw: FloatArray, *, reduced: bool = False) -> None:
        """The rows of the model's entities (``reduced``: already through :meth:`reduce`)."""
        self.T = np.ascontiguousarray(raw, dtype=np.float32) if reduced else self.reduce(raw)
        self.S = np.ascontiguousarray(self.T @ self.W)
        self.G = np.zeros_like(self.S)  # gradient buffers of the rows and relations
        self.GR = np.zeros_like(self.R)
        self.touched = np.zeros(len(self.S), dtype=np.uint8)
        self.touched_r = np.zeros(len(self.R), dtype=np.uint8)

    def add(self, raw: FloatArray) -> None:
        """Rows for new entities, after the model's."""
        T = self.reduce(raw)
        self.T = np.concatenate([self.T, T])
        self.S = np.ascontiguousarray(np.concatenate([self.S, T @ self.W]))

    def step(
        self, train_batch: Any, adam_rows: Any, args: tuple[Any, ...], batch: Any, opt: Any
    ) -> float:
        """One batch: rows ``W t`` afresh for the entities it reads, the kernel's loss and
        gradients, Adam on ``W`` (dense) and on the relation rows (sparse, as the model's)."""
        pos, side, neg = batch
        own = np.where(side, pos[:, 0], pos[:, 2])
        true = np.where(side, pos[:, 2], pos[:, 0])
        keep = own != true  # one more negative: the query's own entity (not a self-loop's answer)
        neg = np.concatenate([np.where(keep, own, neg[:, 0])[:, None], neg], axis=1)
        rows = np.unique(np.concatenate((pos[:, 0], pos[:, 2], neg.ravel())))
        every = 2 * len(rows) > len(self.S)
        if every:
            np.matmul(self.T, self.W, out=self.S)
        else:
            self.S[rows] = self.T[rows] @ self.W
        loss = float(
            train_batch(
                *args, self.S, self.R, self.G, self.GR, self.touched, self.touched_r, pos, side, neg
            )
        )
        g = self.T.T @ self.G if every else self.T[rows].T @ self.G[rows]
        _, lr, b1, b2, eps, t = opt
        self.mW *= b1
        self.mW += (1 - b1) * g
        self.vW *= b2
        self.vW += (1 - b2) * g * g
        size = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        self.W -= size * self.mW / (np.sqrt(self.vW) + eps * math.sqrt(1 - b2**t))
        if every:
            self.G[:] = 0.0
        else:
            self.G[rows] = 0.0
        self.touched[:] = 0
        adam_rows(self.R, self.GR, self.mR, self.vR, self.lastR, self.touched_r, *opt, False)
        return loss

    def refresh(self) -> None:
        """Every row from the current ``W`` (an epoch's end)."""
        np.matmul(self.T, self.W, out=self.S)

    def state(self, optimiser: bool = True) -> dict[str, Any]:
        out = {
            "text_W": self.W, "text_mean": self.mean, "text_basis": self.basis,
            "text_scale": np.array([self.scale], dtype=np.float32), "text_R": self.R,
        }  # fmt: skip
        if optimiser:  # a checkpoint's
            out |= {"text_mW": self.mW, "text_vW": self.vW, "text_mR": self.mR, "text_vR": self.vR}
        return out

    @classmethod
    def from_state(cls, w: Mapping[str, Any], raw: FloatArray | None = None) -> TextExpert:
        out = cls(
            np.asarray(w["text_mean"], np.float32),
            np.asarray(w["text_basis"], np.float32),
            float(np.asarray(w["text_scale"]).reshape(-1)[0]),
            np.array(w["text_W"], np.float32),
            np.array(w["text_R"], np.float32),
        )
        if "text_mW" in w:
            out.mW, out.vW = np.array(w["text_mW"], np.float32), np.array(w["text_vW"], np.float32)
            out.mR, out.vR = np.array(w["text_mR"], np.float32), np.array(w["text_vR"], np.float32)
        if raw is not None:
            out.set_entities(raw)
        return out
