"""The training kernel's gradients against finite differences, every model, loss and side."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.fitting.jit import numba_threads
from embedlab.kg import _kernels as K

CASES = [
    (K.TRANSE, 1), (K.TRANSE, 2), (K.DISTMULT, 2), (K.COMPLEX, 2), (K.ROTATE, 1), (K.ROTATE, 2),
]  # fmt: skip


def _batch_loss(model, p, loss, E, R, pos, side, neg, temperature=0.0):  # type: ignore[no-untyped-def]
    """NSSA's weights get no gradient (by design): finite differences see them only at
    temperature 0, where they are uniform."""
    GE, GR = np.zeros_like(E), np.zeros_like(R)
    te = np.zeros(len(E), np.uint8)
    tr = np.zeros(len(R), np.uint8)
    with numba_threads(1):  # two threads adding to one row may lose an addition (Hogwild)
        value = K.train_batch(
            model, p, loss, 2.0, temperature, E, R, GE, GR, te, tr, pos, side, neg
        )
    return value, GE, GR, te, tr


@pytest.mark.parametrize(("model", "p"), CASES)
@pytest.mark.parametrize("loss", [K.MARGIN, K.SOFTPLUS, K.NSSA])
def test_gradients_match_finite_differences(model: int, p: int, loss: int) -> None:
    rng = np.random.default_rng(model * 10 + p + loss)
    d = 6
    width = d
    E = rng.normal(size=(7, width)).astype(np.float32)
    R = rng.normal(size=(3, d // 2 if model == K.ROTATE else d)).astype(np.float32)
    pos = np.array([[0, 1, 2], [3, 0, 4], [5, 2, 6]], dtype=np.int64)
    side = np.array([True, False, True])
    neg = np.array([[1, 3, 6], [0, 6, 2], [0, 1, 4]], dtype=np.int64)
    value, GE, GR, te, tr = _batch_loss(model, p, loss, E, R, pos, side, neg)
    assert value > 0
    assert te.sum() == 7 and tr.sum() == 3  # every row of this batch received a gradient
    eps = 1e-3
    for table, grad in ((E, GE), (R, GR)):
        numeric = np.zeros_like(table)
        for idx in np.ndindex(table.shape):
            keep = table[idx]
            table[idx] = keep + eps
            up = _batch_loss(model, p, loss, E, R, pos, side, neg)[0]
            table[idx] = keep - eps
            down = _batch_loss(model, p, loss, E, R, pos, side, neg)[0]
            table[idx] = keep
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=2e-2, atol=2e-3)


@pytest.mark.parametrize(("model", "p"), CASES)
def test_queries_score_what_the_kernel_scores(model: int, p: int) -> None:
    """A head query scores a candidate head as the tail query of that triple scores its tail."""
    rng = np.random.default_rng(3)
    E = rng.normal(size=(5, 8)).astype(np.float32)
    R = rng.uniform(0, 6, size=(2, 4 if model == K.ROTATE else 8)).astype(np.float32)
    trip = np.array([[1, 0, 3], [4, 1, 2]], dtype=np.int64)
    tail_q = K.queries(model, E, R, trip, np.array([True, True]))
    head_q = K.queries(model, E, R, trip, np.array([False, False]))
    for i, (h, _, t) in enumerate(trip):
        a = K.score(model, p, tail_q[i], E, t)
        b = K.score(model, p, head_q[i], E, h)
        assert a == pytest.approx(b, rel=1e-5, abs=1e-5)


def _np_score(model: int, p: int, E: np.ndarray, R: np.ndarray, h: int, r: int, t: int) -> float:
    """The score functions written out in complex numpy, independently of the kernels."""
    if model == K.TRANSE:
        return -float(np.linalg.norm(E[h] + R[r] - E[t], ord=p))
    if model == K.DISTMULT:
        return float(np.sum(E[h] * R[r] * E[t]))
    k = E.shape[1] // 2
    hc, tc = E[h, :k] + 1j * E[h, k:], E[t, :k] + 1j * E[t, k:]
    if model == K.COMPLEX:
        return float(np.real(np.sum(hc * (R[r, :k] + 1j * R[r, k:]) * np.conj(tc))))
    diff = hc * np.exp(1j * R[r].astype(np.float64)) - tc
    return -float(np.sum(np.abs(diff)) if p == 1 else np.sqrt(np.sum(np.abs(diff) ** 2)))


def _logsig(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0, -x)


@pytest.mark.parametrize(("model", "p"), CASES)
def test_losses_are_pykeens(model: int, p: int) -> None:
    """Margin ranking, softplus and NSSA (temperature 0.7) as PyKEEN defines them (means)."""
    rng = np.random.default_rng(11)
    E = rng.normal(size=(7, 6)).astype(np.float32)
    R = rng.normal(size=(3, 3 if model == K.ROTATE else 6)).astype(np.float32)
    pos = np.array([[0, 1, 2], [3, 0, 4], [5, 2, 6]], dtype=np.int64)
    side = np.array([True, False, True])
    neg = np.array([[1, 3, 6], [0, 6, 2], [0, 1, 4]], dtype=np.int64)
    sp = np.array([_np_score(model, p, E, R, *row) for row in pos])
    sn = np.array(
        [
            [
                _np_score(model, p, E, R, h, r, int(e))
                if s
                else _np_score(model, p, E, R, int(e), r, t)
                for e in negs
            ]
            for (h, r, t), s, negs in zip(pos.tolist(), side, neg)
        ]
    )
    margin, temp = 2.0, 0.7
    expected = {
        K.MARGIN: np.mean(np.maximum(0, margin + sn - sp[:, None])),
        K.SOFTPLUS: np.mean(np.concatenate([np.logaddexp(0, -sp), np.logaddexp(0, sn).ravel()])),
    }
    w = np.exp(temp * (sn - sn.max(1, keepdims=True)))
    w /= w.sum(1, keepdims=True)
    expected[K.NSSA] = 0.5 * (
        np.mean(-_logsig(margin + sp)) + np.mean(np.sum(w * -_logsig(-sn - margin), axis=1))
    )
    for loss, value in expected.items():
        got = _batch_loss(model, p, loss, E, R, pos, side, neg, temperature=temp)[0]
        assert got == pytest.approx(value, rel=1e-5), loss


def test_sparse_adam_with_catch_up_follows_dense_adam() -> None:
    """Rows touched now and then end where dense Adam (every row, every step) leaves them."""
    rng = np.random.default_rng(5)
    steps, lr, b1, b2, eps = 60, 0.05, 0.9, 0.999, 1e-8
    grads = rng.normal(size=(steps, 6, 3)).astype(np.float32)
    touched = rng.random((steps, 6)) < 0.3
    grads[~touched] = 0.0
    W0 = rng.normal(size=(6, 3)).astype(np.float32)
    dense, m, v = W0.astype(np.float64), np.zeros((6, 3)), np.zeros((6, 3))
    for s in range(1, steps + 1):
        g = grads[s - 1].astype(np.float64)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        dense -= lr * (m / (1 - b1**s)) / (np.sqrt(v / (1 - b2**s)) + eps)
    W, G = W0.copy(), np.zeros_like(W0)
    M, V = np.zeros_like(W0), np.zeros_like(W0)
    last = np.zeros(6, dtype=np.int64)
    table = K.idle_table(lr, b1, b2, steps)
    for s in range(1, steps + 1):
        G[:] = grads[s - 1]
        flags = touched[s - 1].astype(np.uint8)
        K.adam_rows(W, G, M, V, last, flags, table, lr, b1, b2, eps, s, False)
        if s == 30:  # an epoch's end in the middle: flushing changes nothing about the path
            K.adam_flush(W, M, V, last, table, b1, b2, s, False)
    K.adam_flush(W, M, V, last, table, b1, b2, steps, False)
    assert not np.allclose(W, W0, atol=1e-2)
    np.testing.assert_allclose(W, dense, rtol=1e-4, atol=1e-5)
    assert last.tolist() == [steps] * 6 and not G.any()
