"""Text-aware entities: an entity's description gives it a vector, trained triples or not.

Each entity ``i`` with a description vector ``t_i`` (any embedlab encoder's, :func:`describe`) has
the vector ``s_i = e_i + W t_i`` in the graph model: a free part ``e_i`` that starts at zero and
the description projected by ``W``, a matrix learned with the rest (DKRL's idea, Xie et al. 2016,
with a linear encoder over frozen sentence vectors). So

- every entity *starts* as its projected description (``e_i = 0``), and entities that few triples
  mention keep much of it: a sparse graph (WN18RR: half its entities occur in two triples or fewer)
  borrows what the text knows;
- a new entity with a description and no triple gets ``s = W t`` (its free part is zero, as every
  entity's was at the start): it can be ranked, and asked about (:meth:`KGModel.add_entities`).

Description vectors are centred (the mean of the training entities'), reduced to their ``text_dim``
leading principal components (the projection's cost per batch is ``O(touched rows x text_dim x
dim)``; 128 keeps nearly all the variance of a 384-d sentence space) and scaled so a row has unit
norm on average; the same transform is kept to place new entities. ``W`` is Adam-trained on the
gradients the kernels send to the ``s_i`` rows a batch touched (``dW = T_U^T G_U``). This module
holds no file format (:mod:`.store`) and no encoder (the caller passes one in).
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

__all__ = ["TextProjection", "describe"]

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
        found = 0
        for i, name in enumerate(entities):
            j = index.get(name)
            if j is not None:
                out[i] = text.vectors[j]
                found += 1
        if found == 0:
            raise ParameterError(
                "the description vectors name none of the graph's entities (keys are entity ids)"
            )
        return out
    rows = np.ascontiguousarray(text, dtype=np.float32)
    if rows.ndim != 2 or len(rows) != len(entities):
        raise ParameterError(
            f"expected one description vector per entity ({len(entities):,} rows), "
            f"found an array of shape {rows.shape}"
        )
    return rows


class TextProjection:
    """``W`` and the fixed transform of description vectors; :meth:`forward` / :meth:`backward`
    are the per-batch halves of training."""

    def __init__(self, mean: FloatArray, basis: FloatArray, scale: float, W: FloatArray) -> None:
        self.mean, self.basis, self.scale, self.W = mean, basis, float(scale), W
        self.T = np.zeros((0, basis.shape[1]), dtype=np.float32)  # the entities' reduced rows
        self.mW, self.vW = np.zeros_like(W), np.zeros_like(W)

    @classmethod
    def fit(
        cls, raw: FloatArray, width: int, text_dim: int | None, rng: np.random.Generator
    ) -> TextProjection:
        """The transform learned from the entities' raw description vectors (zero rows: none)."""
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
        out = cls(mean, basis, scale, W)
        out.T = out.reduce(raw)
        return out

    def reduce(self, raw: FloatArray) -> FloatArray:
        """Raw description vectors in the projection's input space (zero rows stay zero)."""
        rows = ((raw - self.mean) @ self.basis) / self.scale
        rows[np.abs(raw).sum(1) == 0] = 0.0
        return np.ascontiguousarray(rows, dtype=np.float32)

    def project(self, raw: FloatArray) -> FloatArray:
        """``W t`` for raw description vectors: the vectors of entities no triple trained."""
        return np.ascontiguousarray(self.reduce(raw) @ self.W, dtype=np.float32)

    def forward(self, E: FloatArray, rows: npt.NDArray[np.int64] | None, S: FloatArray) -> None:
        """``S = E + T W`` on ``rows`` (None: all)."""
        if rows is None:
            np.matmul(self.T, self.W, out=S)
            S += E
        else:
            S[rows] = E[rows] + self.T[rows] @ self.W

    def backward(
        self,
        G: FloatArray,
        rows: npt.NDArray[np.int64] | None,
        lr: float,
        betas: tuple[float, float],
        eps: float,
        step: int,
    ) -> None:
        """One Adam step of ``W`` from the gradients ``G`` of the ``S`` rows."""
        g = self.T.T @ G if rows is None else self.T[rows].T @ G[rows]
        b1, b2 = betas
        self.mW *= b1
        self.mW += (1 - b1) * g
        self.vW *= b2
        self.vW += (1 - b2) * g * g
        size = lr * math.sqrt(1 - b2**step) / (1 - b1**step)
        self.W -= size * self.mW / (np.sqrt(self.vW) + eps * math.sqrt(1 - b2**step))

    def state(self) -> dict[str, Any]:
        return {
            "text_W": self.W, "text_mean": self.mean, "text_basis": self.basis,
            "text_scale": np.array([self.scale], dtype=np.float32), "text_mW": self.mW,
            "text_vW": self.vW,
        }  # fmt: skip

    @classmethod
    def from_state(cls, w: Mapping[str, Any], raw: FloatArray | None = None) -> TextProjection:
        out = cls(
            np.asarray(w["text_mean"], np.float32),
            np.asarray(w["text_basis"], np.float32),
            float(np.asarray(w["text_scale"]).reshape(-1)[0]),
            np.array(w["text_W"], np.float32),
        )
        if "text_mW" in w:
            out.mW, out.vW = np.array(w["text_mW"], np.float32), np.array(w["text_vW"], np.float32)
        if raw is not None:
            out.T = out.reduce(raw)
        return out
