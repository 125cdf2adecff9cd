"""Mapping one language's word vectors onto another's: orthogonal Procrustes, CSLS, refinement.

``Aligner().fit(en, fr, pairs)`` learns a ``W`` with ``en[s] @ W ~ fr[t]`` for the dictionary
pairs. It starts from the orthogonal closed form ``W = U V^T`` of the SVD of ``X^T Y``
(Schönemann 1966; Xing et al. 2015). Then, ``refine`` times, it builds a new dictionary from the
*mutual* nearest neighbours among the ``refine_vocab`` most frequent words of both sides (by CSLS)
and solves again (Conneau et al. 2018, "Word translation without parallel data"). A given
dictionary stays in every round's pairs (VecMap's semi-supervised self-learning: replacing 13,000
checked pairs by induced ones loses more than it finds). Without a dictionary the first ``W``
comes from words spelled the same in both vocabularies
(:func:`~embedlab.align.lexicon.identical_pairs`), and each round's pairs are the induced ones
alone, as in MUSE. With ``objective="rcsls"`` (the default) the last round's dictionary is then
fitted on the retrieval criterion itself (:mod:`~embedlab.align.rcsls`, Joulin et al. 2018),
starting from the Procrustes map; ``"procrustes"`` keeps the map orthogonal. The defaults
(``refine_vocab`` 5,000, RCSLS) were chosen on a development split of the en-fr training
dictionary (benchmarks/alignment.py): induced pairs among 15,000 words (MUSE's default) were too
noisy for vectors trained on different corpora.

Retrieval is by cosine or by CSLS, ``2 cos(Wx, y) - r_T(Wx) - r_S(y)``, where ``r`` is a
vector's mean cosine to its ``k`` nearest neighbours in the other space: it demotes "hub" words
that are near everything. Vectors are first scaled to unit length, centred and scaled again
(``preprocess``), as MUSE and VecMap do. ``max_vocab`` bounds the target words searched and
the source words used for ``r_S`` (the most frequent ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import NotFittedError, ParameterError, check_choice
from ..rows import normalize_inplace
from ..vectors import Vectors
from .lexicon import Pairs, identical_pairs, in_vocab
from .rcsls import rcsls

__all__ = [
    "Aligner",
    "csls_neighbours",
    "procrustes",
    "search_translations",
    "translation_accuracy",
]

FloatArray = npt.NDArray[np.float32]


def procrustes(x: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
    """The orthogonal ``W`` minimising ``||x W - y||`` (rows paired): ``U V^T`` of ``x^T y``."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ParameterError(
            f"procrustes needs two (pairs, dim) matrices of one shape; got {a.shape} and {b.shape}"
        )
    u, _, vt = np.linalg.svd(a.T @ b)
    return np.asarray(u @ vt, dtype=np.float32)


def _knn_mean(queries: FloatArray, keys: FloatArray, k: int, chunk: int = 4096) -> FloatArray:
    """Each query row's mean cosine to its ``k`` nearest key rows (unit rows assumed)."""
    k = min(k, keys.shape[0])
    out = np.empty(queries.shape[0], dtype=np.float32)
    for at in range(0, queries.shape[0], chunk):
        sims = queries[at : at + chunk] @ keys.T
        top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
        out[at : at + chunk] = top.mean(axis=1)
    return out


def csls_neighbours(
    mapped: FloatArray,
    targets: FloatArray,
    *,
    k: int = 10,
    topn: int = 10,
    r_target: FloatArray | None = None,
    sources: FloatArray | None = None,
    method: str = "csls",
    chunk: int = 2048,
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The ``topn`` target rows for each mapped source row, by CSLS (or plain cosine): ``(ids,
    scores)``. ``r_target`` (each target's mean cosine to its ``k`` nearest ``sources``) is
    computed from ``sources`` when not given."""
    check_choice("method", "csls_neighbours", method, ("csls", "nn"))
    topn = min(topn, targets.shape[0])
    r_source = np.zeros(mapped.shape[0], np.float32)
    if method == "csls":
        if r_target is None:
            if sources is None:
                raise ParameterError("CSLS needs r_target or the mapped source rows (sources)")
            r_target = _knn_mean(targets, sources, k)
        r_source = _knn_mean(mapped, targets, k)
    r_t = np.zeros(targets.shape[0], np.float32) if r_target is None else r_target
    ids = np.empty((mapped.shape[0], topn), dtype=np.int64)
    scores = np.empty((mapped.shape[0], topn), dtype=np.float32)
    for at in range(0, mapped.shape[0], chunk):
        sims = mapped[at : at + chunk] @ targets.T
        if method == "csls":
            sims = 2 * sims - r_source[at : at + chunk, None] - r_t[None, :]
        part = np.argpartition(-sims, topn - 1, axis=1)[:, :topn]
        best = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-best, axis=1, kind="stable")
        ids[at : at + chunk] = np.take_along_axis(part, order, axis=1)
        scores[at : at + chunk] = np.take_along_axis(best, order, axis=1)
    return ids, scores


def _prepare(vectors: Vectors, preprocess: str, mean: FloatArray | None = None) -> FloatArray:
    x = np.array(vectors.vectors, dtype=np.float32)
    normalize_inplace(x)
    if preprocess == "unit-center-unit":
        x -= x.mean(axis=0) if mean is None else mean
        normalize_inplace(x)
    return x


class Aligner:
    """Supervised (or identical-strings) Procrustes, mutual-neighbour refinement and an RCSLS
    finish (sklearn shape). ``negatives``: the frequent words RCSLS searches neighbours among;
    ``rcsls_steps``: its gradient steps. A progress bar counts rounds and steps."""

    def __init__(
        self,
        *,
        refine: int = 5,
        refine_vocab: int = 5_000,
        objective: str = "rcsls",
        rcsls_steps: int = 10,
        negatives: int = 20_000,
        csls_k: int = 10,
        max_vocab: int = 50_000,
        preprocess: str = "unit-center-unit",
        show_progress: bool | None = None,
    ) -> None:
        self.refine = refine
        self.refine_vocab = refine_vocab
        self.objective = objective
        self.rcsls_steps = rcsls_steps
        self.negatives = negatives
        self.csls_k = csls_k
        self.max_vocab = max_vocab
        self.preprocess = preprocess
        self.show_progress = show_progress

    def fit(
        self, src: Vectors, tgt: Vectors, pairs: Sequence[tuple[str, str]] | None = None
    ) -> Aligner:
        """Learn the mapping from ``pairs`` (None: identical strings), then refine it."""
        check_choice("preprocess", "Aligner", self.preprocess, ("unit", "unit-center-unit"))
        check_choice("objective", "Aligner", self.objective, ("rcsls", "procrustes"))
        if src.dim != tgt.dim:
            raise ParameterError(
                f"an orthogonal map needs vectors of one dimension; got {src.dim} and {tgt.dim} "
                "(reduce the larger with embedlab compress --pca first)"
            )
        for name in ("refine", "refine_vocab", "rcsls_steps", "negatives", "csls_k", "max_vocab"):
            value = getattr(self, name)
            zero_ok = name in ("refine", "rcsls_steps")
            if not isinstance(value, int) or value < (0 if zero_ok else 1):
                least = "non-negative" if zero_ok else "positive"
                raise ParameterError(f"{name} must be a {least} int; got {value!r}")
        seed = list(pairs) if pairs is not None else identical_pairs(src, tgt)
        seed = in_vocab(seed, src, tgt)
        self._src, self._tgt = src, tgt
        xs, xt = _prepare(src, self.preprocess), _prepare(tgt, self.preprocess)
        self.src_mean_ = np.array(normalize_inplace(np.array(src.vectors, np.float32)).mean(axis=0))
        self.tgt_mean_ = np.array(normalize_inplace(np.array(tgt.vectors, np.float32)).mean(axis=0))
        rows = self._rows(seed)
        self.mapping_ = procrustes(xs[rows[0]], xt[rows[1]])
        self.seed_pairs_ = len(seed)
        self.history_: list[int] = [len(seed)]
        keep = rows if pairs is not None else (rows[0][:0], rows[1][:0])
        both = np.stack(rows)
        steps = self.rcsls_steps if self.objective == "rcsls" else 0
        with progress(
            total=self.refine + steps, desc="aligning", unit="step", enabled=self.show_progress
        ) as bar:
            for _ in range(self.refine):
                found = self._mutual_neighbours(xs @ self.mapping_, xt)
                bar.update()
                if len(found[0]) == 0:
                    break
                # a given dictionary stays in (it is better than any pairs induced from it)
                both = np.unique(
                    np.stack([np.r_[keep[0], found[0]], np.r_[keep[1], found[1]]]), axis=1
                )
                self.mapping_ = procrustes(xs[both[0]], xt[both[1]])
                self.history_.append(int(both.shape[1]))
            self.losses_: list[float] = []
            if steps:

                def step(loss: float) -> None:
                    bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
                    bar.update()

                n = self.negatives
                self.mapping_, self.losses_ = rcsls(
                    xs[both[0]], xt[both[1]], self.mapping_, xs[:n], xt[:n],
                    k=min(self.csls_k, n, len(xs), len(xt)), steps=steps,
                    on_step=step,
                )  # fmt: skip
        return self

    def _rows(self, pairs: Pairs) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        s = np.array([self._src.key_to_index[a] for a, _ in pairs], dtype=np.int64)
        t = np.array([self._tgt.key_to_index[b] for _, b in pairs], dtype=np.int64)
        return s, t

    def _mutual_neighbours(
        self, mapped: FloatArray, targets: FloatArray
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Source/target rows that are each other's CSLS nearest neighbour (frequent words only)."""
        n_s, n_t = min(self.refine_vocab, len(mapped)), min(self.refine_vocab, len(targets))
        ms, mt = mapped[:n_s], targets[:n_t]
        forward, _ = csls_neighbours(ms, mt, k=self.csls_k, topn=1, sources=ms)
        backward, _ = csls_neighbours(mt, ms, k=self.csls_k, topn=1, sources=mt)
        src_rows = np.arange(n_s)
        mutual = backward[forward[:, 0], 0] == src_rows
        return src_rows[mutual], forward[mutual, 0]

    def _fitted(self) -> None:
        if not hasattr(self, "mapping_"):
            raise NotFittedError("this Aligner is not fitted yet: call fit(src, tgt, pairs) first")

    def transform(self, src: Vectors) -> Vectors:
        """``src`` in the shared space (preprocessed, mapped), as new unit-length Vectors."""
        self._fitted()
        x = _prepare(src, self.preprocess, self.src_mean_ if self.preprocess != "unit" else None)
        return Vectors(list(src.index_to_key), normalize_inplace(x @ self.mapping_), src.counts)

    def target(self, tgt: Vectors) -> Vectors:
        """``tgt`` in the shared space (preprocessed the same way; not rotated)."""
        self._fitted()
        x = _prepare(tgt, self.preprocess, self.tgt_mean_ if self.preprocess != "unit" else None)
        return Vectors(list(tgt.index_to_key), x, tgt.counts)

    def translate(
        self, words: Sequence[str], *, topn: int = 10, method: str = "csls"
    ) -> list[list[tuple[str, float]]]:
        """The ``topn`` target words for each source word the fitted source vectors hold."""
        self._fitted()
        missing = [w for w in words if w not in self._src]
        if missing:
            raise ParameterError(f"not in the source vocabulary: {missing[:5]}")
        ids, scores = self._search([self._src.key_to_index[w] for w in words], topn, method)
        keys = self._tgt.index_to_key
        return [
            [(keys[int(j)], float(s)) for j, s in zip(row, srow, strict=True)]
            for row, srow in zip(ids, scores, strict=True)
        ]

    def _search(self, rows: Sequence[int], topn: int, method: str) -> tuple[Any, Any]:
        return search_translations(
            self.transform(self._src), self.target(self._tgt), rows, topn=topn, method=method,
            k=self.csls_k, max_vocab=self.max_vocab,
        )  # fmt: skip


def search_translations(
    mapped: Vectors,
    targets: Vectors,
    rows: Sequence[int],
    *,
    topn: int = 10,
    method: str = "csls",
    k: int = 10,
    max_vocab: int = 50_000,
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Target rows (among the ``max_vocab`` first) for the source ``rows``, both in one space."""
    t = np.asarray(targets.vectors, dtype=np.float32)[:max_vocab]
    m = np.asarray(mapped.vectors, dtype=np.float32)
    q = m[np.asarray(rows, dtype=np.int64)]
    return csls_neighbours(q, t, k=k, topn=topn, sources=m[:max_vocab], method=method)


def translation_accuracy(
    aligner: Aligner | tuple[Vectors, Vectors],
    pairs: Sequence[tuple[str, str]],
    *,
    method: str = "csls",
    ks: Sequence[int] = (1, 5, 10),
    k: int = 10,
    max_vocab: int = 50_000,
) -> dict[str, float]:
    """Precision@k of word translation: a source word counts when any of its gold translations
    is among its ``k`` best (MUSE's protocol). ``aligner`` is a fitted :class:`Aligner` or a
    ``(mapped source, target)`` pair of vectors already in one space (``embedlab align``'s
    output). Pairs whose words lack vectors are left out (``coverage`` says how many source words
    remained)."""
    if isinstance(aligner, Aligner):
        aligner._fitted()
        src, tgt = aligner.transform(aligner._src), aligner.target(aligner._tgt)
        k, max_vocab = aligner.csls_k, aligner.max_vocab
    else:
        src, tgt = aligner
        if src.dim != tgt.dim:
            raise ParameterError(f"source and target dimensions differ: {src.dim} and {tgt.dim}")
    gold: dict[str, set[str]] = {}
    for s, t in pairs:
        if s in src and t in tgt and tgt.key_to_index[t] < max_vocab:
            gold.setdefault(s, set()).add(t)
    if not gold:
        raise ParameterError("no test pair has both words in the vocabularies")
    words = sorted(gold)
    ids, _ = search_translations(
        src, tgt, [src.key_to_index[w] for w in words], topn=max(ks), method=method, k=k,
        max_vocab=max_vocab,
    )  # fmt: skip
    keys = tgt.index_to_key
    hits = dict.fromkeys(ks, 0)
    for w, row in zip(words, ids, strict=True):
        found = [keys[int(j)] for j in row]
        for n in ks:
            hits[n] += bool(gold[w] & set(found[:n]))
    result = {f"p@{n}": 100 * hits[n] / len(words) for n in ks}
    result["coverage"] = len(words) / max(len({s for s, _ in pairs}), 1)
    result["words"] = float(len(words))
    return result
