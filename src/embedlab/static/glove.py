"""`GloVe` (Pennington et al. 2014): weighted least squares on log co-occurrence counts.

``fit(corpus)`` scans the corpus once into a token-id file (:mod:`._encode`), counts co-occurrences
in a symmetric window with 1/distance weighting -- a dense table for pairs of frequent words (GloVe
C's bigram table) plus chunked sparse records reduced block by block and merged when they exceed
``memory_entries`` -- then trains with AdaGrad (``x_max``, ``alpha``, ``eta`` as GloVe C) in a
shuffled order on all cores. ``output="sum"`` returns W + W~ (GloVe's usual choice), ``"word"``
W alone. The mean cost per epoch is in ``loss_history_``.

This module does not tokenize; it shares the corpus scan and vocabulary rules with Word2Vec.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import NotFittedError
from ..fitting.jit import announce, numba_threads
from ..fitting.params import Constraint, Interval, OneOf, check_params
from ..fitting.tensorboard import ScalarWriter
from ..text import Corpus, Vocabulary
from ..vectors import Vectors
from . import _glove_kernels as GK
from ._cooccur import Budget, CooccurrenceFile, count_to_file, reduce_records
from ._encode import EncodedCorpus, select_vocabulary
from .word2vec import Callback

logger = logging.getLogger(__name__)

__all__ = ["GloVe"]

_BLOCK_TOKENS = 1 << 20  # tokens counted per kernel call
_TRAIN_CHUNK = 1 << 16  # entries per work item


class GloVe:
    """GloVe vectors from a corpus; estimator shape (``fit`` returns self, ``vectors_``)."""

    _SPEC: ClassVar[dict[str, Constraint]] = {
        "dim": Interval(int, 1, None),
        "window": Interval(int, 1, None),
        "min_count": Interval(int, 1, None),
        "max_vocab_size": Interval(int, 1, None, none_ok=True),
        "x_max": Interval(float, 0, None, closed_low=False),
        "alpha": Interval(float, 0, None),
        "eta": Interval(float, 0, None, closed_low=False),
        "epochs": Interval(int, 1, None),
        "workers": Interval(int, 1, None, none_ok=True),
        "seed": Interval(int, 0, 2**63 - 1),
        "output": OneOf(("sum", "word")),
        "dense_rows": Interval(int, 0, None),
        "memory_entries": Interval(int, 1, None),
        "memory": Interval(float, 16, None, none_ok=True),
    }

    def __init__(
        self,
        *,
        dim: int = 100,
        window: int = 10,
        min_count: int = 5,
        max_vocab_size: int | None = None,
        x_max: float = 100.0,
        alpha: float = 0.75,
        eta: float = 0.05,
        epochs: int = 15,
        workers: int | None = None,
        seed: int = 1,
        output: Literal["sum", "word"] = "sum",
        dense_rows: int = 6000,
        memory_entries: int = 60_000_000,
        memory: float | None = None,
        callbacks: Sequence[Callback] = (),
        tensorboard_dir: str | os.PathLike[str] | None = None,
        show_progress: bool | None = None,
        max_time: float | None = None,
    ) -> None:
        self.dim = dim
        self.window = window
        self.min_count = min_count
        self.max_vocab_size = max_vocab_size
        self.x_max = x_max
        self.alpha = alpha
        self.eta = eta
        self.epochs = epochs
        self.workers = workers
        self.seed = seed
        self.output = output
        self.dense_rows = dense_rows
        self.memory_entries = memory_entries
        self.memory = memory  # MB for counting, shuffling, training; None: all in memory
        self.callbacks = callbacks
        self.tensorboard_dir = tensorboard_dir
        self.show_progress = show_progress
        self.max_time = max_time  # seconds of training; the epochs done by then are kept

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._SPEC}

    @property
    def vectors_(self) -> Vectors:
        if not hasattr(self, "_vectors"):
            raise NotFittedError("This GloVe instance is not fitted yet; call fit(corpus) first.")
        return self._vectors

    @property
    def vocab_(self) -> Vocabulary:
        self.vectors_  # noqa: B018 - raises when not fitted
        return self._vocab

    @property
    def loss_history_(self) -> list[float]:
        self.vectors_  # noqa: B018
        return list(self._loss_history)

    def fit(self, corpus: Iterable[Sequence[str]] | str | os.PathLike[str]) -> GloVe:
        """Count co-occurrences in ``corpus`` and train the vectors."""
        check_params("GloVe", self.get_params(), self._SPEC)
        self._started = time.perf_counter()  # max_time counts from here: the counting too
        sentences = Corpus(corpus) if isinstance(corpus, (str, os.PathLike)) else corpus
        budget = None if self.memory is None else Budget(float(self.memory))
        with EncodedCorpus.build(
            sentences,
            max_vocab_size=self.max_vocab_size,
            chunk_tokens=_BLOCK_TOKENS,
            show_progress=self.show_progress,
        ) as encoded:
            vocab, remap = select_vocabulary(encoded, self.min_count)
            began = time.perf_counter()
            stored: CooccurrenceFile | None = None
            if budget is not None:  # GloVe C's -memory: spill to disk, shuffle there, stream
                with self._counting_bar(encoded) as bar:
                    stored = count_to_file(
                        encoded, remap, len(vocab), window=self.window,
                        dense_rows=self.dense_rows, budget=budget,
                        rng=np.random.default_rng(self.seed), update=bar.update,
                    )  # fmt: skip
            else:
                rows, cols, values = self.cooccurrences(encoded, remap, len(vocab))
        self._vocab = vocab
        self.cooccurrence_nnz_ = stored.count if stored is not None else int(values.size)
        logger.info(
            "co-occurrences: %d non-zero entries in %.1f s%s",
            self.cooccurrence_nnz_,
            time.perf_counter() - began,
            "" if stored is None else f" (on disk, {self.memory} MB budget)",
        )
        rng = np.random.default_rng(self.seed)
        if stored is not None:
            with stored:  # already shuffled on disk
                self._train(vocab, stored.blocks, stored.count, rng)
            return self
        order = rng.permutation(values.size)  # GloVe C shuffles the entries once
        rows, cols, values = rows[order], cols[order], values[order]
        del order
        self._train(vocab, lambda: [(rows, cols, values)], int(values.size), rng)
        return self

    def _counting_bar(self, encoded: EncodedCorpus) -> Any:
        return progress(
            total=encoded.n_tokens,
            desc="counting co-occurrences",
            unit="tok",
            enabled=self.show_progress,
        )

    # ------------------------------------------------------------------ co-occurrences
    def cooccurrences(
        self, encoded: EncodedCorpus, remap: npt.NDArray[np.int32], n_rows: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """The symmetric, distance-weighted co-occurrence matrix as COO arrays (row-major order)."""
        dense_rows = min(self.dense_rows, n_rows)
        dense = np.zeros((dense_rows, dense_rows), dtype=np.float32)
        parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = []
        stored = 0
        starts = encoded.chunk_starts
        with self._counting_bar(encoded) as bar:
            for s0, s1 in itertools.pairwise(starts):
                ids, bounds = encoded.read(s0, s1)
                room = 2 * self.window * int(bounds[-1])
                keys = np.empty(room, dtype=np.int64)
                weights = np.empty(room, dtype=np.float32)
                n = GK.count_block(
                    ids, bounds, remap, self.window, dense, dense_rows, n_rows, keys, weights
                )
                parts.append(reduce_records(keys[:n], weights[:n]))
                stored += parts[-1][0].size
                if stored > self.memory_entries:
                    parts = [reduce_records(*(np.concatenate(x) for x in zip(*parts)))]
                    stored = parts[0][0].size
                bar.update(int(bounds[-1]))
        keys, weights = (
            reduce_records(*(np.concatenate(x) for x in zip(*parts)))
            if parts
            else (np.zeros(0, np.int64), np.zeros(0, np.float32))
        )
        d_rows, d_cols = np.nonzero(dense)
        rows = np.concatenate([d_rows.astype(np.int32), (keys // n_rows).astype(np.int32)])
        cols = np.concatenate([d_cols.astype(np.int32), (keys % n_rows).astype(np.int32)])
        values = np.concatenate([dense[d_rows, d_cols], weights]).astype(np.float32)
        return rows, cols, values

    # ------------------------------------------------------------------ training
    def _train(
        self,
        vocab: Vocabulary,
        blocks: Callable[[], Iterable[tuple[np.ndarray[Any, Any], ...]]],
        total: int,
        rng: np.random.Generator,
    ) -> None:
        """AdaGrad epochs over ``blocks()`` (``(rows, cols, values)`` arrays, already shuffled;
        one block when the co-occurrences are in memory, many when read from disk)."""
        n, dim = len(vocab), self.dim
        w = (rng.random((n, dim), dtype=np.float32) - 0.5) / (dim + 1)
        w_ctx = (rng.random((n, dim), dtype=np.float32) - 0.5) / (dim + 1)
        b = (rng.random(n, dtype=np.float32) - 0.5) / (dim + 1)
        b_ctx = (rng.random(n, dtype=np.float32) - 0.5) / (dim + 1)
        gw, gw_ctx = np.ones((n, dim), np.float32), np.ones((n, dim), np.float32)
        gb, gb_ctx = np.ones(n, np.float32), np.ones(n, np.float32)
        kernel = GK.glove_epoch_serial if self.workers == 1 else GK.glove_epoch
        writer = ScalarWriter(self.tensorboard_dir) if self.tensorboard_dir is not None else None
        self._loss_history: list[float] = []
        per_call = 64
        started = getattr(self, "_started", None) or time.perf_counter()
        deadline = None if self.max_time is None else started + float(self.max_time)
        with (
            numba_threads(self.workers),
            progress(
                total=self.epochs * total,
                desc="GloVe training",
                unit="pair",
                enabled=self.show_progress,
            ) as bar,
        ):
            first = announce(kernel, "GloVe", bar)
            for epoch in range(1, self.epochs + 1):
                cost, done, stop = 0.0, 0, False
                for rows, cols, values in blocks():
                    chunks = np.append(np.arange(0, values.size, _TRAIN_CHUNK), values.size)
                    chunks = chunks.astype(np.int64)
                    for c in range(0, chunks.size - 1, per_call):
                        part = chunks[c : c + per_call + 1]
                        out = np.zeros(part.size - 1, dtype=np.float64)
                        kernel(
                            rows, cols, values, part, w, w_ctx, b, b_ctx, gw, gw_ctx, gb, gb_ctx,
                            float(self.x_max), float(self.alpha), float(self.eta), out,
                        )  # fmt: skip
                        if first:  # compiled: the bar says what it does again
                            bar.set_description("GloVe training")
                            first = False
                        cost += float(out.sum())
                        done += int(part[-1] - part[0])
                        bar.update(int(part[-1] - part[0]))
                        bar.set_postfix(epoch=epoch, cost=f"{cost / max(done, 1):.4f}")
                        if deadline is not None and time.perf_counter() > deadline:
                            stop = True  # max_time: the vectors as trained so far
                            break
                    if stop:
                        break
                loss = cost / max(total, 1)
                self._loss_history.append(loss)
                logger.info("GloVe epoch %d: cost %.5f", epoch, loss)
                if writer is not None:
                    writer.add_scalar("train/loss", loss, epoch)
                if self.callbacks:
                    self._vectors = self._output(vocab, w, w_ctx)
                    for callback in self.callbacks:
                        callback(self, epoch, loss)
                if deadline is not None and time.perf_counter() > deadline:
                    logger.info("max_time (%.0f s) reached in epoch %d", self.max_time, epoch)
                    break
        if writer is not None:
            writer.close()
        self._vectors = self._output(vocab, w, w_ctx)

    def _output(
        self, vocab: Vocabulary, w: np.ndarray[Any, Any], w_ctx: np.ndarray[Any, Any]
    ) -> Vectors:
        matrix = w + w_ctx if self.output == "sum" else w.copy()
        return Vectors(vocab.words, matrix, vocab.counts)
