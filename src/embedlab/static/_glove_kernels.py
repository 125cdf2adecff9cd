"""Numba kernels for GloVe: windowed co-occurrence counting and AdaGrad training.

Counting (``count_block``): for a block of sentences (vocabulary rows, -1 = dropped), every pair at
distance d <= window adds 1/d to X[a, b] and X[b, a]. Pairs of two frequent words (both rows below
``dense_rows``) go into a dense square accumulator, as GloVe C's bigram table does; the rest are
emitted as (a * V + b, weight) records for the caller to reduce. Training (``glove_epoch``) runs
AdaGrad over the non-zero entries in a fixed shuffled order, chunks spread over threads Hogwild-style,
exactly GloVe C's update: f(x) = min(1, (x / x_max) ** alpha), cost 0.5 f(x) (w.w~ + b + b~ - log x)^2;
vector gradients clipped to [-100, 100] then scaled by eta, bias steps *not* scaled by eta (as the
current glove.c does; scaling them cost 4.6 points of WS-353 on the 10M-token benchmark corpus).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(nogil=True, cache=True)
def count_block(
    ids, bounds, remap, window, dense, dense_rows, n_rows, keys, weights
):  # pragma: no cover
    """Accumulate one block; returns how many sparse records were written to keys/weights."""
    n = 0
    for s in range(bounds.shape[0] - 1):
        start = bounds[s]
        end = bounds[s + 1]
        # positions of kept words only (dropped words do not count in the distance, as GloVe C)
        m = 0
        for p in range(start, end):
            if remap[ids[p]] >= 0:
                m += 1
        rows = np.empty(m, dtype=np.int64)
        m = 0
        for p in range(start, end):
            w = remap[ids[p]]
            if w >= 0:
                rows[m] = w
                m += 1
        for i in range(m):
            a = rows[i]
            for d in range(1, window + 1):
                if i - d < 0:
                    break
                b = rows[i - d]
                inc = 1.0 / d
                if a < dense_rows and b < dense_rows:
                    dense[a, b] += inc
                    dense[b, a] += inc
                else:
                    keys[n] = a * n_rows + b
                    weights[n] = inc
                    keys[n + 1] = b * n_rows + a
                    weights[n + 1] = inc
                    n += 2
    return n


@njit(nogil=True, cache=True, fastmath=True)
def _glove_chunk(
    rows, cols, values, begin, end, w, w_ctx, b, b_ctx, gw, gw_ctx, gb, gb_ctx, x_max, alpha, eta
):  # pragma: no cover
    dim = w.shape[1]
    xm = np.float32(x_max)
    al = np.float32(alpha)
    et = np.float32(eta)
    clip = np.float32(100.0)  # GloVe C's grad_clip_value
    cost = 0.0
    for e in range(begin, end):
        i = rows[e]
        j = cols[e]
        x = values[e]
        diff = b[i] + b_ctx[j] - np.log(x)
        for d in range(dim):
            diff += w[i, d] * w_ctx[j, d]
        weight = np.float32(1.0) if x >= xm else (x / xm) ** al
        fdiff = weight * diff
        cost += 0.5 * fdiff * diff
        for d in range(dim):
            g1 = min(max(fdiff * w_ctx[j, d], -clip), clip) * et
            g2 = min(max(fdiff * w[i, d], -clip), clip) * et
            w[i, d] -= g1 / np.sqrt(gw[i, d])
            w_ctx[j, d] -= g2 / np.sqrt(gw_ctx[j, d])
            gw[i, d] += g1 * g1
            gw_ctx[j, d] += g2 * g2
        b[i] -= fdiff / np.sqrt(gb[i])
        b_ctx[j] -= fdiff / np.sqrt(gb_ctx[j])
        fdiff *= fdiff
        gb[i] += fdiff
        gb_ctx[j] += fdiff
    return cost


# The parallel and serial drivers below are the same loop twice on purpose: numba's on-disk
# cache keys a function by name and signature, not by its compile flags, so one Python function
# compiled both ways could load the other's machine code.
@njit(nogil=True, cache=True, parallel=True)
def glove_epoch(
    rows,
    cols,
    values,
    chunks,
    w,
    w_ctx,
    b,
    b_ctx,
    gw,
    gw_ctx,
    gb,
    gb_ctx,
    x_max,
    alpha,
    eta,
    out_cost,
):  # pragma: no cover
    """One pass over all entries, chunk c covering entries [chunks[c], chunks[c+1])."""
    for c in prange(chunks.shape[0] - 1):
        out_cost[c] = _glove_chunk(
            rows,
            cols,
            values,
            chunks[c],
            chunks[c + 1],
            w,
            w_ctx,
            b,
            b_ctx,
            gw,
            gw_ctx,
            gb,
            gb_ctx,
            x_max,
            alpha,
            eta,
        )


@njit(nogil=True, cache=True)
def glove_epoch_serial(
    rows,
    cols,
    values,
    chunks,
    w,
    w_ctx,
    b,
    b_ctx,
    gw,
    gw_ctx,
    gb,
    gb_ctx,
    x_max,
    alpha,
    eta,
    out_cost,
):  # pragma: no cover
    for c in range(chunks.shape[0] - 1):
        out_cost[c] = _glove_chunk(
            rows,
            cols,
            values,
            chunks[c],
            chunks[c + 1],
            w,
            w_ctx,
            b,
            b_ctx,
            gw,
            gw_ctx,
            gb,
            gb_ctx,
            x_max,
            alpha,
            eta,
        )
