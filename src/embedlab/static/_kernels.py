"""Numba kernels for word2vec-family training: plain arrays in, updates in place, loss out.

One chunk (a run of sentences) is trained by :func:`train_chunk`; :func:`train_parallel` spreads
chunks over threads Hogwild-style (shared weights, no locks, as word2vec C and gensim do) and
:func:`train_serial` runs them in order on one thread (the bit-for-bit reproducible mode).

Skip-gram with negative sampling uses HogBatch (Ji et al. 2016): for each centre word the negatives
are drawn once and shared by every context word of its window, so the window's updates become
small matrix products (contexts x (1 + negatives)) and each output row is read once per window
instead of once per pair. All the window's scores come first, then the updates from the weights as
they were, three rows to a pass (a third of the stores, which bound these loops on AVX-512 hosts:
13-17% of a skip-gram epoch on AMD EPYC). CBOW, and hierarchical softmax for both, follow word2vec
C, except that CBOW takes its (1 + negatives) dot products before any update (independent, they
overlap; a target drawn twice is the only case that reads another's update in word2vec C) and
sums its context rows and updates its targets three rows to a pass (-6% of a CBOW epoch). Every
kernel takes a *size token* (:func:`size_token`): a tuple as long as the vectors, whose type, not
value, tells numba the dimension, so each size people train with gets machine code with a constant
trip count (LLVM then covers 100 floats in six 16-wide steps and a 4-wide one instead of a 64-wide
loop that leaves 36 to narrow ones: a quarter of the time on AVX-512 hosts). A
sentence's random draws (window shrinks, negatives) are taken before its first window, in the
order the windows took them before (the same stream), and each window asks for the next one's
output rows (``llvm.prefetch``): drawn from the whole vocabulary they are mostly cache misses,
which then overlap this window's work (-12% of a skip-gram epoch, -14% of a CBOW one, one thread
on AMD EPYC). Random numbers come from word2vec's 64-bit LCG, seeded per (seed, epoch,
chunk), so results do not depend on thread scheduling beyond Hogwild's races. Sigmoid and
log-sigmoid come from 1000-entry tables over [-6, 6] as in word2vec C.

This module does not build vocabularies, read corpora or decay the learning rate across chunks
(the caller passes each chunk's starting progress).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._prefetch import prefetch_row

SPECIALISED_DIMS = (
    32,
    1024,
)  # sizes compiled for exactly; smaller and larger ones share one kernel
MAX_EXP = 6.0
TABLE_SIZE = 1000
LCG_MUL = np.uint64(25214903917)
LCG_ADD = np.uint64(11)


def size_token(dim: int) -> tuple[bool, ...]:
    """The kernels' last argument: ``dim`` times False within :data:`SPECIALISED_DIMS` (its type,
    ``UniTuple(bool, dim)``, compiles a kernel for that size), else ``()`` (one kernel for all)."""
    lo, hi = SPECIALISED_DIMS
    return (False,) * dim if lo <= dim <= hi else ()


@njit(inline="always")
def _dim(size: tuple[bool, ...], weights: np.ndarray) -> int:  # pragma: no cover - compiled
    """The vector size: a compile-time constant from a size token, else the weights' width."""
    if len(size) > 0:
        return len(size)
    return weights.shape[1]


def sigmoid_tables() -> tuple[np.ndarray, np.ndarray]:
    """``(sigmoid, log_sigmoid)`` tables on TABLE_SIZE points spanning [-MAX_EXP, MAX_EXP)."""
    x = (np.arange(TABLE_SIZE) / TABLE_SIZE * 2 - 1) * MAX_EXP
    sig = 1.0 / (1.0 + np.exp(-x))
    return sig.astype(np.float32), np.log(sig).astype(np.float32)


@njit(inline="always")
def _next(r: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    return r * LCG_MUL + LCG_ADD


@njit(inline="always")
def _uniform(r: np.uint64) -> float:  # pragma: no cover - compiled
    """A float in [0, 1) from the top 24 bits of the state."""
    return np.float32(r >> np.uint64(40)) / np.float32(16777216.0)


@njit(inline="always")
def _sig(f: float, table: np.ndarray) -> float:  # pragma: no cover - compiled
    if f >= MAX_EXP:
        return 1.0
    if f <= -MAX_EXP:
        return 0.0
    return table[int((f + MAX_EXP) * (TABLE_SIZE / MAX_EXP / 2.0))]


@njit(inline="always")
def _neg_log_sig(f: float, log_table: np.ndarray) -> float:  # pragma: no cover - compiled
    """-log(sigmoid(f)), clipped to the table range."""
    if f >= MAX_EXP:
        return 0.0
    if f <= -MAX_EXP:
        return -f
    return -log_table[int((f + MAX_EXP) * (TABLE_SIZE / MAX_EXP / 2.0))]


@njit(inline="always")
def _longest(bounds: np.ndarray, s_begin: int, s_end: int) -> int:  # pragma: no cover - compiled
    """The most tokens one sentence of the chunk holds."""
    longest = 0
    for s in range(s_begin, s_end):
        longest = max(longest, bounds[s + 1] - bounds[s])
    return longest


@njit(inline="always")
def _decayed(alpha0: float, min_alpha: float, progress: float) -> float:  # pragma: no cover
    """The learning rate after ``progress`` (0..1) of the whole run: linear decay, floored."""
    return max(alpha0 - (alpha0 - min_alpha) * progress, min_alpha)


@njit(inline="always")
def _add_rows(acc, weights, rows, start, end, size):  # pragma: no cover - compiled
    """``acc += weights[rows[q]]`` for ``q`` in ``[start, end)``, three rows to a pass (a third
    of the stores to ``acc``)."""
    dim = _dim(size, weights)
    q = start
    while q + 2 < end:
        r0 = rows[q]
        r1 = rows[q + 1]
        r2 = rows[q + 2]
        for d in range(dim):
            acc[d] += weights[r0, d] + weights[r1, d] + weights[r2, d]
        q += 3
    while q < end:
        r0 = rows[q]
        for d in range(dim):
            acc[d] += weights[r0, d]
        q += 1


@njit(inline="always")
def _update_targets(hidden, grad, w_out, targets, gs, n_t, size):  # pragma: no cover - compiled
    """``grad += gs[t] * w_out[targets[t]]`` and ``w_out[targets[t]] += gs[t] * hidden`` for the
    first ``n_t`` targets, three rows to a pass (a third of the stores to ``grad``). A target
    listed twice reads its row after its earlier update only across passes."""
    dim = _dim(size, w_out)
    t = 0
    while t + 2 < n_t:
        g0 = gs[t]
        g1 = gs[t + 1]
        g2 = gs[t + 2]
        o0 = targets[t]
        o1 = targets[t + 1]
        o2 = targets[t + 2]
        for d in range(dim):
            h = hidden[d]
            grad[d] += g0 * w_out[o0, d] + g1 * w_out[o1, d] + g2 * w_out[o2, d]
            w_out[o0, d] += g0 * h
            w_out[o1, d] += g1 * h
            w_out[o2, d] += g2 * h
        t += 3
    while t < n_t:
        g0 = gs[t]
        o0 = targets[t]
        for d in range(dim):
            grad[d] += g0 * w_out[o0, d]
            w_out[o0, d] += g0 * hidden[d]
        t += 1


@njit(inline="always")
def _subsample(ids, bounds, s, remap, keep, sen, r):  # pragma: no cover - compiled
    """Sentence ``s``'s words into ``sen``: out-of-vocabulary ones dropped, frequent ones sampled
    away by ``keep``. Returns how many were kept and the random state after."""
    length = 0
    for p in range(bounds[s], bounds[s + 1]):
        w = remap[ids[p]]
        if w < 0:
            continue
        r = _next(r)
        if keep[w] < 1.0 and keep[w] < _uniform(r):
            continue
        sen[length] = w
        length += 1
    return length, r


@njit(nogil=True, cache=True, fastmath=True)
def train_chunk(
    ids: np.ndarray,  # int32 token ids of the corpus (before remapping)
    bounds: np.ndarray,  # int64 sentence boundaries into ids
    s_begin: int,
    s_end: int,  # sentences [s_begin, s_end) form this chunk
    remap: np.ndarray,  # int32 id -> vocabulary row, -1 = dropped
    keep: np.ndarray,  # float32 keep probability per row (subsampling)
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    syn1: np.ndarray,
    codes: np.ndarray,  # uint8 [V, max_code] Huffman codes (hierarchical softmax)
    points: np.ndarray,  # int32 [V, max_code] Huffman inner nodes
    code_len: np.ndarray,  # int32 [V]
    alias_prob: np.ndarray,
    alias_idx: np.ndarray,  # negative-sampling alias table
    sig_table: np.ndarray,
    log_table: np.ndarray,
    sg: bool,
    hs: bool,
    negative: int,
    window: int,  # 0 = the whole sentence (item2vec)
    shrink: bool,  # random window shrink as in word2vec C
    cbow_mean: bool,
    alpha0: float,
    min_alpha: float,
    progress0: float,  # fraction of all training done when this chunk starts
    progress_step: float,  # fraction per raw token
    seed: np.uint64,
    size: tuple[bool, ...],  # size_token(dim)
) -> tuple[float, int, int]:  # pragma: no cover - compiled
    """Train one chunk; return (loss sum, trained kept words, raw tokens seen)."""
    dim = _dim(size, syn0)
    n_rows = alias_prob.shape[0]
    r = seed
    max_len = _longest(bounds, s_begin, s_end)
    sen = np.empty(max_len + 1, dtype=np.int32)
    n_ctx_max = max_len if window == 0 else 2 * window
    ctx = np.empty(n_ctx_max + 1, dtype=np.int32)
    targets = np.empty(negative + 1, dtype=np.int32)
    negs = np.empty((max_len + 1, negative), dtype=np.int32)
    spans = np.empty(max_len + 1, dtype=np.int64)
    dots = np.empty(negative + 1, dtype=np.float32)
    gs = np.empty((n_ctx_max + 1, negative + 1), dtype=np.float32)
    grad_out = np.zeros((negative + 1, dim), dtype=np.float32)
    neu1 = np.zeros(dim, dtype=np.float32)
    neu1e = np.zeros(dim, dtype=np.float32)
    loss = 0.0
    trained = 0
    seen = 0
    for s in range(s_begin, s_end):
        alpha = _decayed(alpha0, min_alpha, progress0 + seen * progress_step)
        length, r = _subsample(ids, bounds, s, remap, keep, sen, r)
        seen += bounds[s + 1] - bounds[s]
        trained += length
        # the sentence's random draws first, in the order the windows would take them (each
        # window: its shrink, then its negatives if it has a context, i.e. length >= 2)
        for i in range(length):
            span = window
            if window == 0:
                span = length
            elif shrink:
                r = _next(r)
                span = window - np.int64((r >> np.uint64(16)) % np.uint64(window))
            spans[i] = span
            if length < 2:
                continue
            for q in range(negative):
                r = _next(r)
                k = np.int64((r >> np.uint64(16)) % np.uint64(n_rows))
                r = _next(r)
                if _uniform(r) >= alias_prob[k]:
                    k = np.int64(alias_idx[k])
                negs[i, q] = k
        for i in range(length):
            word = sen[i]
            span = spans[i]
            lo = max(0, i - span)
            hi = min(length, i + span + 1)
            n_ctx = 0
            for j in range(lo, hi):
                if j != i:
                    ctx[n_ctx] = sen[j]
                    n_ctx += 1
            if n_ctx == 0:
                continue
            # ---- negatives, drawn once per window (shared by all its contexts); the next
            # position's output rows asked for now, so their cache misses overlap this one's work
            n_t = 0
            if negative > 0:
                if i + 1 < length:
                    prefetch_row(syn1neg, sen[i + 1], dim)
                    for q in range(negative):
                        prefetch_row(syn1neg, negs[i + 1, q], dim)
                targets[0] = word
                n_t = 1
                for q in range(negative):
                    k = negs[i, q]
                    if k != word:
                        targets[n_t] = k
                        n_t += 1
            if sg:
                if negative > 0:
                    # every (context, target) score first: independent dot products that overlap
                    for c in range(n_ctx):
                        row = ctx[c]
                        for t in range(n_t):
                            tgt = targets[t]
                            f = np.float32(0.0)
                            for d in range(dim):
                                f += syn0[row, d] * syn1neg[tgt, d]
                            label = 1.0 if t == 0 else 0.0
                            gs[c, t] = np.float32((label - _sig(f, sig_table)) * alpha)
                            loss += _neg_log_sig(f if t == 0 else -f, log_table)
                    # then the updates, from the weights as they were: the outputs' gradients,
                    # the inputs in place, the outputs
                    # three rows per pass: a third of the stores (the bound on AVX-512 hosts)
                    for t in range(n_t):
                        for d in range(dim):
                            grad_out[t, d] = 0.0
                        c = 0
                        while c + 2 < n_ctx:
                            g0 = gs[c, t]
                            g1 = gs[c + 1, t]
                            g2 = gs[c + 2, t]
                            r0 = ctx[c]
                            r1 = ctx[c + 1]
                            r2 = ctx[c + 2]
                            for d in range(dim):
                                grad_out[t, d] += (
                                    g0 * syn0[r0, d] + g1 * syn0[r1, d] + g2 * syn0[r2, d]
                                )
                            c += 3
                        while c < n_ctx:
                            g0 = gs[c, t]
                            r0 = ctx[c]
                            for d in range(dim):
                                grad_out[t, d] += g0 * syn0[r0, d]
                            c += 1
                    for c in range(n_ctx):
                        row = ctx[c]
                        t = 0
                        while t + 2 < n_t:
                            g0 = gs[c, t]
                            g1 = gs[c, t + 1]
                            g2 = gs[c, t + 2]
                            o0 = targets[t]
                            o1 = targets[t + 1]
                            o2 = targets[t + 2]
                            for d in range(dim):
                                syn0[row, d] += (
                                    g0 * syn1neg[o0, d] + g1 * syn1neg[o1, d] + g2 * syn1neg[o2, d]
                                )
                            t += 3
                        while t < n_t:
                            g0 = gs[c, t]
                            o0 = targets[t]
                            for d in range(dim):
                                syn0[row, d] += g0 * syn1neg[o0, d]
                            t += 1
                    for t in range(n_t):
                        tgt = targets[t]
                        for d in range(dim):
                            syn1neg[tgt, d] += grad_out[t, d]
                if hs:
                    for c in range(n_ctx):
                        row = ctx[c]
                        for d in range(dim):
                            neu1e[d] = 0.0
                        for b in range(code_len[word]):
                            node = points[word, b]
                            f = np.float32(0.0)
                            for d in range(dim):
                                f += syn0[row, d] * syn1[node, d]
                            if f <= -MAX_EXP or f >= MAX_EXP:
                                continue
                            code = codes[word, b]
                            g = np.float32((1.0 - code - _sig(f, sig_table)) * alpha)
                            loss += _neg_log_sig(f if code == 0 else -f, log_table)
                            for d in range(dim):
                                neu1e[d] += g * syn1[node, d]
                                syn1[node, d] += g * syn0[row, d]
                        for d in range(dim):
                            syn0[row, d] += neu1e[d]
            else:  # CBOW
                for d in range(dim):
                    neu1[d] = 0.0
                    neu1e[d] = 0.0
                _add_rows(neu1, syn0, ctx, 0, n_ctx, size)
                if cbow_mean:
                    inv = np.float32(1.0 / n_ctx)
                    for d in range(dim):
                        neu1[d] *= inv
                for t in range(n_t):  # the dots first: independent, they overlap
                    tgt = targets[t]
                    f = np.float32(0.0)
                    for d in range(dim):
                        f += neu1[d] * syn1neg[tgt, d]
                    dots[t] = f
                for t in range(n_t):  # the gradients (0 where saturated: no update, as gensim)
                    f = dots[t]
                    if f <= -MAX_EXP or f >= MAX_EXP:
                        dots[t] = 0.0
                        continue
                    label = 1.0 if t == 0 else 0.0
                    dots[t] = np.float32((label - _sig(f, sig_table)) * alpha)
                    loss += _neg_log_sig(f if t == 0 else -f, log_table)
                _update_targets(neu1, neu1e, syn1neg, targets, dots, n_t, size)
                if hs:
                    for b in range(code_len[word]):
                        node = points[word, b]
                        f = np.float32(0.0)
                        for d in range(dim):
                            f += neu1[d] * syn1[node, d]
                        if f <= -MAX_EXP or f >= MAX_EXP:
                            continue
                        code = codes[word, b]
                        g = np.float32((1.0 - code - _sig(f, sig_table)) * alpha)
                        loss += _neg_log_sig(f if code == 0 else -f, log_table)
                        for d in range(dim):
                            neu1e[d] += g * syn1[node, d]
                            syn1[node, d] += g * neu1[d]
                if not cbow_mean:  # a summed input spreads its error over the window (gensim)
                    inv = np.float32(1.0 / n_ctx)
                    for d in range(dim):
                        neu1e[d] *= inv
                for c in range(n_ctx):
                    row = ctx[c]
                    for d in range(dim):
                        syn0[row, d] += neu1e[d]
    return loss, trained, seen


# The parallel and serial drivers below are the same loop twice on purpose: numba's on-disk
# cache keys a function by name and signature, not by its compile flags, so one Python function
# compiled both ways could load the other's machine code.
@njit(nogil=True, cache=True, parallel=True)
def train_parallel(
    ids,
    bounds,
    chunks,
    remap,
    keep,
    syn0,
    syn1neg,
    syn1,
    codes,
    points,
    code_len,
    alias_prob,
    alias_idx,
    sig_table,
    log_table,
    sg,
    hs,
    negative,
    window,
    shrink,
    cbow_mean,
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
    """Train chunks ``[chunks[c], chunks[c+1])`` (sentence ranges) on all threads, Hogwild."""
    for c in prange(chunks.shape[0] - 1):
        start_tok = bounds[chunks[c]] - bounds[chunks[0]]
        loss, trained, seen = train_chunk(
            ids,
            bounds,
            chunks[c],
            chunks[c + 1],
            remap,
            keep,
            syn0,
            syn1neg,
            syn1,
            codes,
            points,
            code_len,
            alias_prob,
            alias_idx,
            sig_table,
            log_table,
            sg,
            hs,
            negative,
            window,
            shrink,
            cbow_mean,
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
def train_serial(
    ids,
    bounds,
    chunks,
    remap,
    keep,
    syn0,
    syn1neg,
    syn1,
    codes,
    points,
    code_len,
    alias_prob,
    alias_idx,
    sig_table,
    log_table,
    sg,
    hs,
    negative,
    window,
    shrink,
    cbow_mean,
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
    """Same as :func:`train_parallel`, one chunk after another on one thread (reproducible)."""
    for c in range(chunks.shape[0] - 1):
        start_tok = bounds[chunks[c]] - bounds[chunks[0]]
        loss, trained, seen = train_chunk(
            ids,
            bounds,
            chunks[c],
            chunks[c + 1],
            remap,
            keep,
            syn0,
            syn1neg,
            syn1,
            codes,
            points,
            code_len,
            alias_prob,
            alias_idx,
            sig_table,
            log_table,
            sg,
            hs,
            negative,
            window,
            shrink,
            cbow_mean,
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


def alias_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for sampling rows in proportion to ``weights``:
    ``[1, 1] -> ([1., 1.], [0, 1])`` (each row keeps itself)."""
    n = weights.shape[0]
    p = weights.astype(np.float64) * n / weights.sum()
    prob = np.ones(n, dtype=np.float32)
    alias = np.arange(n, dtype=np.int32)
    small = [i for i in range(n) if p[i] < 1.0]
    large = [i for i in range(n) if p[i] >= 1.0]
    while small and large:
        s, big = small.pop(), large.pop()
        prob[s], alias[s] = p[s], big
        p[big] -= 1.0 - p[s]
        (small if p[big] < 1.0 else large).append(big)
    return prob, alias
