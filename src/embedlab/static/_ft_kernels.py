"""Numba kernels for fastText-style training: a word's input vector is the mean of its own row and
its hashed character n-gram rows.

Skip-gram predicts each context word from the centre word's subword mean (fastText's direction);
CBOW predicts the centre from the mean of all context words' subword rows. As in fastText, every
(input, target) pair draws its own negatives and updates the target rows right away; the input
mean is computed once per window and its gradient, summed over the window's targets, added to each
input row after them (fastText recomputes the mean and adds the gradient for every context word:
about 23 subword rows read and written six times per centre word instead of once, for the same
vectors within noise, see benchmarks/RESULTS.md). Each pair's (1 + negatives) scores come before
its updates, and subword rows are summed and targets updated three rows to a pass (a third of the
stores, which bound these loops on AVX-512 hosts, as in :mod:`._kernels`). Random numbers, sigmoid
tables, size tokens and Hogwild threading are shared with :mod:`._kernels`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._kernels import (
    _add_rows,
    _decayed,
    _dim,
    _longest,
    _neg_log_sig,
    _next,
    _sig,
    _subsample,
    _uniform,
    _update_targets,
)


@njit(nogil=True, cache=True, fastmath=True)
def ft_chunk(
    ids,
    bounds,
    s_begin,
    s_end,
    remap,
    keep,
    sub_off,
    sub_ids,
    w_in,
    w_out,
    alias_prob,
    alias_idx,
    sig_table,
    log_table,
    sg,
    negative,
    window,
    alpha0,
    min_alpha,
    progress0,
    progress_step,
    seed,
    size,
):  # pragma: no cover - compiled
    """Train one chunk of sentences; return (loss sum, trained words, raw tokens)."""
    dim = _dim(size, w_in)
    n_rows = alias_prob.shape[0]
    r = seed
    max_len = _longest(bounds, s_begin, s_end)
    sen = np.empty(max_len + 1, dtype=np.int32)
    hidden = np.zeros(dim, dtype=np.float32)
    grad = np.zeros(dim, dtype=np.float32)
    targets = np.empty(negative + 1, dtype=np.int64)
    gs = np.empty(negative + 1, dtype=np.float32)
    loss = 0.0
    trained = 0
    seen = 0
    for s in range(s_begin, s_end):
        alpha = _decayed(alpha0, min_alpha, progress0 + seen * progress_step)
        length, r = _subsample(ids, bounds, s, remap, keep, sen, r)
        seen += bounds[s + 1] - bounds[s]
        trained += length
        for i in range(length):
            r = _next(r)
            span = 1 + np.int64((r >> np.uint64(16)) % np.uint64(window))
            lo = max(0, i - span)
            hi = min(length, i + span + 1)
            if hi - lo <= 1:
                continue
            # the input: the centre's subword rows (skip-gram) or all context words' (CBOW),
            # averaged once per window; its gradient is summed over the window's targets and
            # added to those rows after them (skip-gram as HogBatch does for word2vec)
            for d in range(dim):
                hidden[d] = 0.0
                grad[d] = 0.0
            n_in = 0
            for k in range(lo, hi):
                if (sg and k != i) or (not sg and k == i):
                    continue
                wk = sen[k]
                _add_rows(hidden, w_in, sub_ids, sub_off[wk], sub_off[wk + 1], size)
                n_in += sub_off[wk + 1] - sub_off[wk]
            inv = np.float32(1.0 / n_in)
            for d in range(dim):
                hidden[d] *= inv
            for j in range(lo, hi):  # the targets: each context word (skip-gram), the centre
                if (sg and j == i) or (not sg and j != i):
                    continue
                target = sen[j]
                targets[0] = target
                n_t = 1
                for _ in range(negative):  # fastText redraws a negative that equals the target
                    tgt = np.int64(target)
                    tries = 0
                    while tgt == target and tries < 64:
                        r = _next(r)
                        tgt = np.int64((r >> np.uint64(16)) % np.uint64(n_rows))
                        r = _next(r)
                        if _uniform(r) >= alias_prob[tgt]:
                            tgt = np.int64(alias_idx[tgt])
                        tries += 1
                    if tgt != target:
                        targets[n_t] = tgt
                        n_t += 1
                for t in range(n_t):  # the scores first: independent, they overlap
                    o0 = targets[t]
                    f = np.float32(0.0)
                    for d in range(dim):
                        f += hidden[d] * w_out[o0, d]
                    label = 1.0 if t == 0 else 0.0
                    gs[t] = np.float32((label - _sig(f, sig_table)) * alpha)
                    loss += _neg_log_sig(f if t == 0 else -f, log_table)
                _update_targets(hidden, grad, w_out, targets, gs, n_t, size)  # then the updates
            for k in range(lo, hi):
                if (sg and k != i) or (not sg and k == i):
                    continue
                wk = sen[k]
                for q in range(sub_off[wk], sub_off[wk + 1]):
                    row = sub_ids[q]
                    for d in range(dim):
                        w_in[row, d] += grad[d]
    return loss, trained, seen


# The parallel and serial drivers below are the same loop twice on purpose: numba's on-disk
# cache keys a function by name and signature, not by its compile flags, so one Python function
# compiled both ways could load the other's machine code.
@njit(nogil=True, cache=True, parallel=True)
def ft_parallel(
    ids,
    bounds,
    chunks,
    remap,
    keep,
    sub_off,
    sub_ids,
    w_in,
    w_out,
    alias_prob,
    alias_idx,
    sig_table,
    log_table,
    sg,
    negative,
    window,
    alpha0,
    min_alpha,
    progress0,
    progress_step,
    seeds,
    out_loss,
    out_trained,
    out_seen,
    size,
):  # pragma: no cover - compiled
    for c in prange(chunks.shape[0] - 1):
        start_tok = bounds[chunks[c]] - bounds[chunks[0]]
        loss, trained, seen = ft_chunk(
            ids,
            bounds,
            chunks[c],
            chunks[c + 1],
            remap,
            keep,
            sub_off,
            sub_ids,
            w_in,
            w_out,
            alias_prob,
            alias_idx,
            sig_table,
            log_table,
            sg,
            negative,
            window,
            alpha0,
            min_alpha,
            progress0 + start_tok * progress_step,
            progress_step,
            seeds[c],
            size,
        )
        out_loss[c] = loss
        out_trained[c] = trained
        out_seen[c] = seen


@njit(nogil=True, cache=True)
def ft_serial(
    ids,
    bounds,
    chunks,
    remap,
    keep,
    sub_off,
    sub_ids,
    w_in,
    w_out,
    alias_prob,
    alias_idx,
    sig_table,
    log_table,
    sg,
    negative,
    window,
    alpha0,
    min_alpha,
    progress0,
    progress_step,
    seeds,
    out_loss,
    out_trained,
    out_seen,
    size,
):  # pragma: no cover - compiled
    for c in range(chunks.shape[0] - 1):
        start_tok = bounds[chunks[c]] - bounds[chunks[0]]
        loss, trained, seen = ft_chunk(
            ids,
            bounds,
            chunks[c],
            chunks[c + 1],
            remap,
            keep,
            sub_off,
            sub_ids,
            w_in,
            w_out,
            alias_prob,
            alias_idx,
            sig_table,
            log_table,
            sg,
            negative,
            window,
            alpha0,
            min_alpha,
            progress0 + start_tok * progress_step,
            progress_step,
            seeds[c],
            size,
        )
        out_loss[c] = loss
        out_trained[c] = trained
        out_seen[c] = seen
