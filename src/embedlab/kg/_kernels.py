"""numba kernels for knowledge-graph embeddings: one training step, Adam, scoring, ranking.

Every model here scores a corrupted triple the same way. For a positive ``(h, r, t)`` whose tail is
replaced, a *query* ``q`` is built from ``(h, r)``; whose head is replaced, from ``(r, t)``; and the
score of a candidate entity ``e`` is ``f(q, e)``:

=========  ======================  ======================================  =====================
model      tail query ``q``         head query ``q``                        ``f(q, e)``
=========  ======================  ======================================  =====================
TransE     h + r                   t - r                                   -||q - e||_p
DistMult   h * r                   r * t                                   q . e
ComplEx    [Re(hr), Im(hr)]        [Re(r conj t), -Im(r conj t)]           q . e
RotatE     h * exp(i theta)        exp(-i theta) * t   (|r| = 1)           -||q - e|| (p=2: L2 of
                                                                           the complex vector;
                                                                           p=1: sum of moduli)
=========  ======================  ======================================  =====================

Complex vectors are stored ``[re_1..re_k, im_1..im_k]`` (2k floats); RotatE's relations are
phases (k floats). So a step computes ``q`` once per positive, scores its K negatives and the true
entity against it, turns the loss into ``dL/ds`` per score, and sends the gradient to the
candidates directly and through ``q`` to the two fixed parameters. Nothing ``[B, K, D]`` is ever
materialised (what a tensor library must do); that is where the speed comes from.

Gradients are summed into dense buffers shared by the threads (Hogwild: a rare lost addition when
two threads add to one row at once; ``workers=1`` is exact), the rows a batch touched are flagged,
and :func:`adam_rows` updates only those rows, then clears them, while keeping dense Adam's
trajectory: a row's drift during the steps it was not touched is applied in closed form when it
is touched next (or by :func:`adam_flush` at an epoch's end).

Model codes: 0 TransE, 1 DistMult, 2 ComplEx, 3 RotatE. Loss codes: 0 margin ranking (pairwise),
1 softplus / binary cross-entropy (pointwise; the two are the same function of the score),
2 self-adversarial negative sampling (NSSA, Sun et al. 2019).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

TRANSE, DISTMULT, COMPLEX, ROTATE = 0, 1, 2, 3
MARGIN, SOFTPLUS, NSSA = 0, 1, 2


@njit(cache=True, inline="always")
def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@njit(cache=True, inline="always")
def _log_sigmoid(x: float) -> float:
    if x >= 0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@njit(cache=True)
def make_query(model, E, R, h, r, t, tail_side, q):  # type: ignore[no-untyped-def]
    """Write the query of ``(h, r, ?)`` (tail_side) or ``(?, r, t)`` into ``q``."""
    d = q.shape[0]
    if model == TRANSE:
        for j in range(d):
            q[j] = E[h, j] + R[r, j] if tail_side else E[t, j] - R[r, j]
    elif model == DISTMULT:
        for j in range(d):
            q[j] = E[h, j] * R[r, j] if tail_side else R[r, j] * E[t, j]
    elif model == COMPLEX:
        k = d // 2
        for j in range(k):
            rr, ri = R[r, j], R[r, k + j]
            if tail_side:
                hr, hi = E[h, j], E[h, k + j]
                q[j] = hr * rr - hi * ri
                q[k + j] = hr * ri + hi * rr
            else:
                tr, ti = E[t, j], E[t, k + j]
                q[j] = rr * tr + ri * ti
                q[k + j] = -(ri * tr - rr * ti)
    else:  # ROTATE
        k = d // 2
        for j in range(k):
            c, s = math.cos(R[r, j]), math.sin(R[r, j])
            if tail_side:
                hr, hi = E[h, j], E[h, k + j]
                q[j] = hr * c - hi * s
                q[k + j] = hr * s + hi * c
            else:
                tr, ti = E[t, j], E[t, k + j]
                q[j] = tr * c + ti * s
                q[k + j] = -tr * s + ti * c


@njit(cache=True)
def score(model, p, q, E, e):  # type: ignore[no-untyped-def]
    """``f(q, E[e])``."""
    d = q.shape[0]
    if model in (DISTMULT, COMPLEX):
        acc = 0.0
        for j in range(d):
            acc += q[j] * E[e, j]
        return acc
    if p == 1 and model == ROTATE:
        k = d // 2
        acc = 0.0
        for j in range(k):
            a, b = q[j] - E[e, j], q[k + j] - E[e, k + j]
            acc += math.sqrt(a * a + b * b)
        return -acc
    acc = 0.0
    if p == 1:
        for j in range(d):
            acc += abs(q[j] - E[e, j])
        return -acc
    for j in range(d):
        diff = q[j] - E[e, j]
        acc += diff * diff
    return -math.sqrt(acc)


@njit(cache=True)
def _score_grad(model, p, q, E, e, g, dq, GE):  # type: ignore[no-untyped-def]
    """Add ``g * df/dq`` to ``dq`` and ``g * df/de`` to ``GE[e]`` (``f`` at ``q``, ``E[e]``)."""
    d = q.shape[0]
    if model in (DISTMULT, COMPLEX):
        for j in range(d):
            dq[j] += g * E[e, j]
            GE[e, j] += g * q[j]
        return
    if p == 1 and model == ROTATE:
        k = d // 2
        for j in range(k):
            a, b = q[j] - E[e, j], q[k + j] - E[e, k + j]
            m = math.sqrt(a * a + b * b)
            if m > 1e-12:
                ga, gb = -g * a / m, -g * b / m
                dq[j] += ga
                dq[k + j] += gb
                GE[e, j] -= ga
                GE[e, k + j] -= gb
        return
    if p == 1:
        for j in range(d):
            diff = q[j] - E[e, j]
            sgn = 1.0 if diff > 0 else (-1.0 if diff < 0 else 0.0)
            dq[j] -= g * sgn
            GE[e, j] += g * sgn
        return
    norm = 0.0
    for j in range(d):
        diff = q[j] - E[e, j]
        norm += diff * diff
    norm = math.sqrt(norm)
    if norm < 1e-12:
        return
    for j in range(d):
        gj = g * (q[j] - E[e, j]) / norm
        dq[j] -= gj
        GE[e, j] += gj


@njit(cache=True)
def _query_grad(model, E, R, h, r, t, tail_side, q, dq, GE, GR):  # type: ignore[no-untyped-def]
    """Send ``dq`` (dL/dq) to the query's two parameters."""
    d = dq.shape[0]
    if model == TRANSE:
        for j in range(d):
            if tail_side:
                GE[h, j] += dq[j]
                GR[r, j] += dq[j]
            else:
                GE[t, j] += dq[j]
                GR[r, j] -= dq[j]
    elif model == DISTMULT:
        for j in range(d):
            if tail_side:
                GE[h, j] += dq[j] * R[r, j]
                GR[r, j] += dq[j] * E[h, j]
            else:
                GR[r, j] += dq[j] * E[t, j]
                GE[t, j] += dq[j] * R[r, j]
    elif model == COMPLEX:
        k = d // 2
        for j in range(k):
            a, b = dq[j], dq[k + j]
            rr, ri = R[r, j], R[r, k + j]
            if tail_side:
                hr, hi = E[h, j], E[h, k + j]
                GE[h, j] += a * rr + b * ri
                GE[h, k + j] += -a * ri + b * rr
                GR[r, j] += a * hr + b * hi
                GR[r, k + j] += -a * hi + b * hr
            else:
                tr, ti = E[t, j], E[t, k + j]
                GR[r, j] += a * tr + b * ti
                GR[r, k + j] += a * ti - b * tr
                GE[t, j] += a * rr - b * ri
                GE[t, k + j] += a * ri + b * rr
    else:  # ROTATE: d(theta) from q itself (a rotation's derivative is i times it)
        k = d // 2
        for j in range(k):
            a, b = dq[j], dq[k + j]
            c, s = math.cos(R[r, j]), math.sin(R[r, j])
            if tail_side:
                GE[h, j] += a * c + b * s
                GE[h, k + j] += -a * s + b * c
                GR[r, j] += -a * q[k + j] + b * q[j]
            else:
                GE[t, j] += a * c - b * s
                GE[t, k + j] += a * s + b * c
                GR[r, j] += a * q[k + j] - b * q[j]


@njit(cache=True, parallel=True)
def train_batch(  # type: ignore[no-untyped-def]
    model, p, loss, margin, temperature, E, R, GE, GR, touched_e, touched_r, pos, tail_side, neg
):
    """Gradients of the mean loss of one batch into ``GE`` / ``GR``; returns the loss.

    ``pos`` [B, 3] ids, ``tail_side`` [B] bool (which side the negatives replace), ``neg`` [B, K]
    entity ids. ``touched_*`` get 1 for every row that received a gradient.
    """
    n, k_neg = neg.shape[0], neg.shape[1]
    d = E.shape[1]
    total = 0.0
    if loss == MARGIN:
        norm = 1.0 / (n * k_neg)
    elif loss == SOFTPLUS:
        norm = 1.0 / (n * (k_neg + 1))
    else:
        norm = 0.5 / n
    for i in prange(n):
        h, r, t = pos[i, 0], pos[i, 1], pos[i, 2]
        side = tail_side[i]
        true_e = t if side else h
        q = np.empty(d, dtype=np.float32)
        dq = np.zeros(d, dtype=np.float32)
        make_query(model, E, R, h, r, t, side, q)
        s_pos = score(model, p, q, E, true_e)
        s_neg = np.empty(k_neg, dtype=np.float64)
        for j in range(k_neg):
            s_neg[j] = score(model, p, q, E, neg[i, j])
        g_neg = np.empty(k_neg, dtype=np.float64)
        part = 0.0
        g_pos = 0.0
        if loss == MARGIN:
            for j in range(k_neg):
                v = margin + s_neg[j] - s_pos
                if v > 0:
                    part += v
                    g_neg[j] = norm
                    g_pos -= norm
                else:
                    g_neg[j] = 0.0
        elif loss == SOFTPLUS:
            part -= _log_sigmoid(s_pos)
            g_pos = -_sigmoid(-s_pos) * norm
            for j in range(k_neg):
                part -= _log_sigmoid(-s_neg[j])
                g_neg[j] = _sigmoid(s_neg[j]) * norm
        else:  # NSSA: softmax(temperature * s_neg) weights, no gradient through them
            top = s_neg.max()
            wsum = 0.0
            for j in range(k_neg):
                g_neg[j] = math.exp(temperature * (s_neg[j] - top))
                wsum += g_neg[j]
            part -= _log_sigmoid(margin + s_pos)
            g_pos = -_sigmoid(-(margin + s_pos)) * norm
            for j in range(k_neg):
                w = g_neg[j] / wsum
                part -= w * _log_sigmoid(-s_neg[j] - margin)
                g_neg[j] = w * _sigmoid(s_neg[j] + margin) * norm
        total += part
        _score_grad(model, p, q, E, true_e, g_pos, dq, GE)
        touched_e[true_e] = 1
        for j in range(k_neg):
            if g_neg[j] != 0.0:
                _score_grad(model, p, q, E, neg[i, j], g_neg[j], dq, GE)
                touched_e[neg[i, j]] = 1
        _query_grad(model, E, R, h, r, t, side, q, dq, GE, GR)
        touched_e[h if side else t] = 1
        touched_r[r] = 1
    return total * norm


def idle_table(lr: float, beta1: float, beta2: float, steps: int) -> np.ndarray:
    """``A[s]``: how far Adam's idle drift moves a parameter after step ``s`` (per unit of
    ``m / sqrt(v)`` at ``s``) were it never touched again until step ``steps``: the sum over later
    steps ``u`` of the bias-corrected rate times ``rho ** (u - s)``, ``rho = beta1 / sqrt(beta2)``
    (eps left out). Idle steps ``s+1 .. s+n`` then move it ``A[s] - rho**n * A[s+n]``: O(1) a row."""
    rho = beta1 / math.sqrt(beta2)
    u = np.arange(steps + 2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = lr * np.sqrt(1.0 - beta2**u) / (1.0 - beta1**u)
    rate[0] = 0.0
    table = np.zeros(steps + 2, dtype=np.float64)
    for s in range(steps - 1, -1, -1):  # A[s] = rho * (rate[s+1] + A[s+1])
        table[s] = rho * (rate[s + 1] + table[s + 1])
    return table


@njit(cache=True)
def _idle_factor(table, rho, since, idle):  # type: ignore[no-untyped-def]
    end = min(since + idle, table.shape[0] - 1)
    return table[since] - math.exp(idle * math.log(rho)) * table[end]


@njit(cache=True, fastmath=True)
def _catch_up(W, M, V, i, factor, idle, beta1, beta2):  # type: ignore[no-untyped-def]
    if factor != 0.0:
        for j in range(W.shape[1]):
            if V[i, j] > 0.0:
                W[i, j] -= factor * M[i, j] / math.sqrt(V[i, j])
    d1, d2 = math.exp(idle * math.log(beta1)), math.exp(idle * math.log(beta2))
    for j in range(W.shape[1]):
        M[i, j] *= d1
        V[i, j] *= d2


@njit(cache=True, fastmath=True)
def _unit(W, i):  # type: ignore[no-untyped-def]
    norm = 0.0
    for j in range(W.shape[1]):
        norm += W[i, j] * W[i, j]
    norm = math.sqrt(norm)
    if norm > 0:
        for j in range(W.shape[1]):
            W[i, j] /= norm


@njit(cache=True, parallel=True)
def adam_rows(W, G, M, V, last, touched, table, lr, beta1, beta2, eps, step, unit_norm):  # type: ignore[no-untyped-def]
    """Adam step ``step`` on the touched rows of ``W``, as dense Adam would leave them
    (``table``: :func:`idle_table` for the whole run).

    Dense Adam moves every row at every step: a row without gradient still drifts by its decaying
    momentum, and for rows a batch rarely touches that drift is most of their movement (lazy
    "sparse" Adam, which skips it, trains such rows several times slower). Here a touched row
    first catches up on the steps it sat idle since ``last[i]`` (closed form: its moments only
    decay), then takes this step; :func:`adam_flush` brings the untouched rows up to date before
    anyone reads the table. Gradients are cleared and flags reset. ``unit_norm``: rows projected
    to unit L2 norm after.
    """
    c1 = 1.0 - beta1**step
    c2 = 1.0 - beta2**step
    rate = lr * math.sqrt(c2) / c1
    rho = beta1 / math.sqrt(beta2)
    d = W.shape[1]
    for i in prange(W.shape[0]):
        if touched[i] == 0:
            continue
        touched[i] = 0
        idle = step - 1 - last[i]
        if idle > 0:
            factor = _idle_factor(table, rho, last[i], idle)
            _catch_up(W, M, V, i, factor, idle, beta1, beta2)
        for j in range(d):
            g = G[i, j]
            G[i, j] = 0.0
            M[i, j] = beta1 * M[i, j] + (1.0 - beta1) * g
            V[i, j] = beta2 * V[i, j] + (1.0 - beta2) * g * g
            W[i, j] -= rate * M[i, j] / (math.sqrt(V[i, j]) + eps * math.sqrt(c2))
        last[i] = step
        if unit_norm:
            _unit(W, i)


@njit(cache=True, parallel=True)
def adam_flush(W, M, V, last, table, beta1, beta2, step, unit_norm):  # type: ignore[no-untyped-def]
    """Bring every row up to step ``step`` (the idle drift :func:`adam_rows` defers)."""
    rho = beta1 / math.sqrt(beta2)
    for i in prange(W.shape[0]):
        idle = step - last[i]
        if idle <= 0:
            continue
        factor = _idle_factor(table, rho, last[i], idle)
        _catch_up(W, M, V, i, factor, idle, beta1, beta2)
        last[i] = step
        if unit_norm:
            _unit(W, i)


@njit(cache=True, parallel=True)
def queries(model, E, R, triples, tail_side):  # type: ignore[no-untyped-def]
    """The query vector of each triple, [n, D]."""
    n = triples.shape[0]
    out = np.empty((n, E.shape[1]), dtype=np.float32)
    for i in prange(n):
        make_query(model, E, R, triples[i, 0], triples[i, 1], triples[i, 2], tail_side[i], out[i])
    return out


@njit(cache=True, parallel=True)
def score_all_l1(model, Q, E):  # type: ignore[no-untyped-def]
    """``f(q, e)`` for every query and entity under an L1-type distance, [n, N]."""
    n, m = Q.shape[0], E.shape[0]
    out = np.empty((n, m), dtype=np.float32)
    for i in prange(n):
        for e in range(m):
            out[i, e] = score(model, 1, Q[i], E, e)
    return out


@njit(cache=True, parallel=True)
def realistic_ranks(scores, targets, filter_ptr, filter_idx, offset):  # type: ignore[no-untyped-def]
    """Optimistic and pessimistic rank of ``targets[i]`` in row ``i`` of ``scores``, with the
    entities ``filter_idx[filter_ptr[offset+i]:filter_ptr[offset+i+1]]`` (other true answers)
    left out. Higher scores rank first; NaN scores never outrank."""
    n, m = scores.shape[0], scores.shape[1]
    opt = np.empty(n, dtype=np.float64)
    pes = np.empty(n, dtype=np.float64)
    for i in prange(n):
        row = scores[i]
        s = row[targets[i]]
        greater = 0
        equal = 0
        for e in range(m):
            v = row[e]
            if v > s:
                greater += 1
            elif v == s:
                equal += 1
        lo, hi = filter_ptr[offset + i], filter_ptr[offset + i + 1]
        for f in range(lo, hi):
            e = filter_idx[f]
            if e == targets[i]:
                continue
            v = row[e]
            if v > s:
                greater -= 1
            elif v == s:
                equal -= 1
        opt[i] = greater + 1
        pes[i] = greater + equal  # equal counts the target itself
    return opt, pes
