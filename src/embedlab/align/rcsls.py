"""RCSLS: fitting a map on the retrieval criterion itself (Joulin et al. 2018, "Loss in translation").

Procrustes minimises the squared distance of the dictionary pairs under an orthogonal map, but
translations are then *retrieved* by CSLS, which also counts how close each mapped word sits to
its other neighbours. RCSLS minimises the negative CSLS of the dictionary pairs directly::

    loss(W) = -1/n sum_i [ 2 (x_i W).y_i - mean_{y in N_T(x_i W)} (x_i W).y
                                         - mean_{z in N_S(y_i)} (z W).y_i ]

where ``N_T(x W)`` are the ``k`` targets nearest to a mapped source word and ``N_S(y)`` the ``k``
mapped source words nearest to a target, both among ``negatives`` frequent words. ``W`` starts
from the Procrustes solution and takes full-batch gradient steps (the neighbour sets held fixed
within a step, as in the paper's subgradient); a step that raises the loss is undone and the rate
halved. The map is not constrained to be orthogonal: that freedom is what lets it fit two spaces
that are not rotations of each other (vectors trained on different corpora), and the start from
Procrustes keeps it near one. This module only optimises; :class:`~embedlab.align.Aligner`
decides when to call it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError

__all__ = ["rcsls", "rcsls_loss"]

FloatArray = npt.NDArray[np.float32]


def _neighbour_means(
    queries: FloatArray, keys: FloatArray, grad_keys: FloatArray, k: int, chunk: int
) -> tuple[float, FloatArray]:
    """The sum over queries of their mean score to their ``k`` best ``keys``, and per query the
    mean of the matching ``grad_keys`` rows (what the score's gradient is made of)."""
    total = 0.0
    means = np.empty((queries.shape[0], grad_keys.shape[1]), dtype=np.float32)
    for at in range(0, queries.shape[0], chunk):
        sims = queries[at : at + chunk] @ keys.T
        top = np.argpartition(sims, sims.shape[1] - k, axis=1)[:, -k:]
        total += float(np.take_along_axis(sims, top, axis=1).sum(dtype=np.float64)) / k
        means[at : at + chunk] = grad_keys[top].mean(axis=1)
    return total, means


def _loss_grad(
    x: FloatArray,
    y: FloatArray,
    src_neg: FloatArray,
    tgt_neg: FloatArray,
    w: FloatArray,
    k: int,
    chunk: int,
) -> tuple[float, FloatArray]:
    mapped = x @ w
    fit = 2.0 * float(np.sum(mapped * y, dtype=np.float64))
    hub_t, near_t = _neighbour_means(mapped, tgt_neg, tgt_neg, k, chunk)
    hub_s, near_s = _neighbour_means(y, src_neg @ w, src_neg, k, chunk)
    n = x.shape[0]
    grad = 2.0 * (x.T @ y) - x.T @ near_t - near_s.T @ y
    return -(fit - hub_t - hub_s) / n, np.asarray(-grad / n, dtype=np.float32)


def _checked(
    x: npt.ArrayLike, y: npt.ArrayLike, src_neg: npt.ArrayLike, tgt_neg: npt.ArrayLike, k: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The four matrices as float32, after checking that they pair up and ``k`` fits."""
    a, b = np.asarray(x, np.float32), np.asarray(y, np.float32)
    s, t = np.asarray(src_neg, np.float32), np.asarray(tgt_neg, np.float32)
    if a.shape != b.shape or a.ndim != 2:
        raise ParameterError(f"RCSLS needs paired (pairs, dim) rows; got {a.shape} and {b.shape}")
    if not 1 <= k <= min(len(s), len(t)):
        raise ParameterError(
            f"k must be between 1 and the number of negatives ({min(len(s), len(t))}); got {k}"
        )
    return a, b, s, t


def rcsls_loss(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    w: npt.ArrayLike,
    src_neg: npt.ArrayLike,
    tgt_neg: npt.ArrayLike,
    *,
    k: int = 10,
    chunk: int = 2048,
) -> float:
    """The RCSLS loss of the map ``w`` on the pairs ``(x[i], y[i])`` (lower is better)."""
    a, b, s, t = _checked(x, y, src_neg, tgt_neg, k)
    return _loss_grad(a, b, s, t, np.asarray(w, np.float32), k, chunk)[0]


def rcsls(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    init: npt.ArrayLike,
    src_neg: npt.ArrayLike,
    tgt_neg: npt.ArrayLike,
    *,
    k: int = 10,
    steps: int = 10,
    lr: float = 1.0,
    chunk: int = 2048,
    on_step: Callable[[float], None] | None = None,
) -> tuple[FloatArray, list[float]]:
    """The map minimising the RCSLS loss from ``init``, and the loss after each accepted step
    (the first entry is ``init``'s). ``src_neg``/``tgt_neg``: the (unit, preprocessed) frequent
    source and target rows the neighbours are searched among. ``on_step(loss)`` is called after
    every step, accepted or not."""
    a, b, s, t = _checked(x, y, src_neg, tgt_neg, k)
    if steps < 0 or lr <= 0:
        raise ParameterError(f"steps must be >= 0 and lr > 0; got steps={steps}, lr={lr}")
    w = np.array(init, dtype=np.float32)
    loss, grad = _loss_grad(a, b, s, t, w, k, chunk)
    losses = [loss]
    for _ in range(steps):
        candidate = w - lr * grad
        new_loss, new_grad = _loss_grad(a, b, s, t, candidate, k, chunk)
        if new_loss <= loss:
            w, loss, grad = candidate, new_loss, new_grad
            losses.append(loss)
        else:
            lr /= 2
        if on_step is not None:
            on_step(loss)
        if lr < 1e-4:
            break
    return w, losses
