"""`Word2Vec`: skip-gram and CBOW with negative sampling and/or hierarchical softmax.

Estimator shape: parameters in ``__init__``, ``fit(corpus)`` returns self, learned state ends in
``_`` (``vectors_``, ``vocab_``, ``loss_history_``). The corpus is read once into a token-id file
(:mod:`._encode`), then every epoch runs the numba kernels of :mod:`._kernels` over it on all cores
(Hogwild), or on one core in a fixed order when ``workers=1`` (bit-for-bit reproducible with a
``seed``). Each epoch ends with the callbacks, an optional checkpoint (``checkpoint_dir``; ``fit(...,
resume=True)`` continues from it) and an optional TensorBoard loss point.

Works on any token sequences: sessions of item ids train item2vec (``window="sequence"`` uses the
whole session as context, ``ns_exponent`` reshapes the negative-sampling distribution).

This module does not tokenize (give a :class:`~embedlab.text.Corpus` or any iterable of token
lists) and does not evaluate.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import NotFittedError, ParameterError
from ..files import readable_dir
from ..fitting.checkpoint import Checkpoint, vocab_digest
from ..fitting.jit import announce, numba_threads
from ..fitting.params import Constraint, Either, Interval, OneOf, check_params
from ..fitting.tensorboard import ScalarWriter
from ..text import Corpus, Vocabulary
from ..vectors import Vectors
from . import _kernels as K
from ._encode import EncodedCorpus, select_vocabulary
from ._huffman import huffman_tree

logger = logging.getLogger(__name__)

__all__ = ["Callback", "Word2Vec"]

CHUNK_TOKENS = 10_000  # raw tokens per work item (as gensim's job batches)
BLOCK_CHUNKS = 64  # work items per kernel call, between progress updates


class Callback(Protocol):
    """Called after every epoch with the model, the epoch number (1-based) and its mean loss."""

    def __call__(self, model: Any, epoch: int, loss: float) -> None: ...


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64 finaliser: decorrelated 64-bit seeds from consecutive integers."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


class Word2Vec:
    """word2vec (Mikolov et al. 2013) trained by numba kernels on all cores.

    Parameters follow gensim where they overlap: ``dim`` (vector size), ``window`` (max distance,
    or ``"sequence"`` for the whole sentence), ``sg`` (skip-gram; False = CBOW), ``hs``
    (hierarchical softmax), ``negative`` (negative samples; 0 with ``hs=True`` for pure HS),
    ``ns_exponent``, ``sample`` (word2vec C subsampling threshold; 0 = off), ``alpha`` (None:
    0.05; 0.025 for skip-gram with hierarchical softmax only, see ``alpha_``) and ``min_alpha``
    (linear decay),
    ``min_count``, ``max_vocab_size`` (prune during the scan), ``epochs``, ``workers`` (None =
    all cores; 1 = deterministic), ``seed``, ``cbow_mean``, ``shrink_windows``,
    ``max_sentence_length``, ``callbacks``, ``checkpoint_dir``, ``tensorboard_dir``,
    ``show_progress``.
    """

    _SPEC: ClassVar[dict[str, Constraint]] = {
        "dim": Interval(int, 1, None),
        "window": Either((Interval(int, 1, None), OneOf(("sequence",)))),
        "sg": OneOf((True, False)),
        "hs": OneOf((True, False)),
        "negative": Interval(int, 0, None),
        "ns_exponent": Interval(float, None, None),
        "sample": Interval(float, 0, None),
        "alpha": Interval(float, 0, None, closed_low=False, none_ok=True),
        "min_alpha": Interval(float, 0, None),
        "min_count": Interval(int, 1, None),
        "max_vocab_size": Interval(int, 1, None, none_ok=True),
        "epochs": Interval(int, 1, None),
        "workers": Interval(int, 1, None, none_ok=True),
        "seed": Interval(int, 0, 2**63 - 1),
        "cbow_mean": OneOf((True, False)),
        "shrink_windows": OneOf((True, False)),
        "max_sentence_length": Interval(int, 1, None),
    }

    def __init__(
        self,
        *,
        dim: int = 100,
        window: int | Literal["sequence"] = 5,
        sg: bool = True,
        hs: bool = False,
        negative: int = 5,
        ns_exponent: float = 0.75,
        sample: float = 1e-3,
        alpha: float | None = None,
        min_alpha: float = 0.0001,
        min_count: int = 5,
        max_vocab_size: int | None = None,
        epochs: int = 5,
        workers: int | None = None,
        seed: int = 1,
        cbow_mean: bool = True,
        shrink_windows: bool = True,
        max_sentence_length: int = 10_000,
        callbacks: Sequence[Callback] = (),
        checkpoint_dir: str | os.PathLike[str] | None = None,
        tensorboard_dir: str | os.PathLike[str] | None = None,
        show_progress: bool | None = None,
        max_time: float | None = None,
    ) -> None:
        self.dim = dim
        self.window = window
        self.sg = sg
        self.hs = hs
        self.negative = negative
        self.ns_exponent = ns_exponent
        self.sample = sample
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.min_count = min_count
        self.max_vocab_size = max_vocab_size
        self.epochs = epochs
        self.workers = workers
        self.seed = seed
        self.cbow_mean = cbow_mean
        self.shrink_windows = shrink_windows
        self.max_sentence_length = max_sentence_length
        self.callbacks = callbacks
        self.checkpoint_dir = checkpoint_dir
        self.tensorboard_dir = tensorboard_dir
        self.show_progress = show_progress
        self.max_time = max_time  # not a training parameter: a resumed run may change it

    # ------------------------------------------------------------------ public surface
    def get_params(self) -> dict[str, Any]:
        """The training parameters (what a checkpoint must agree on)."""
        return {name: getattr(self, name) for name in self._SPEC}

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = {k: v for k, v in self.get_params().items() if v != defaults[k]}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    @property
    def alpha_(self) -> float:
        """The starting learning rate: ``alpha``, or when it is None 0.05 (fastText's default;
        word2vec C's for CBOW), and word2vec C's 0.025 for skip-gram with hierarchical softmax
        only. Skip-gram with negative sampling starts at 0.05 rather than word2vec C's 0.025:
        chosen on dev word-similarity sets (MTurk-287, RG-65) after 1 and 5 epochs on 10M words,
        where 0.025 leaves one epoch far under-trained (see benchmarks/RESULTS.md)."""
        if self.alpha is not None:
            return float(self.alpha)
        return 0.025 if self.sg and not self.negative else 0.05

    @property
    def vectors_(self) -> Vectors:
        self._check_fitted()
        return self._vectors

    @property
    def vocab_(self) -> Vocabulary:
        self._check_fitted()
        return self._vocab

    @property
    def loss_history_(self) -> list[float]:
        """Mean loss per trained word, one value per epoch."""
        self._check_fitted()
        return list(self._loss_history)

    def _check_fitted(self) -> None:
        if not hasattr(self, "_vectors"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(corpus) first."
            )

    def fit(
        self, corpus: Iterable[Sequence[str]] | str | os.PathLike[str], *, resume: bool = False
    ) -> Word2Vec:
        """Train on ``corpus`` (an iterable of token lists, read once, or a text file/folder path
        tokenized by the default :class:`~embedlab.text.Tokenizer`)."""
        check_params(type(self).__name__, self.get_params(), self._SPEC)
        if not self.hs and self.negative == 0:
            raise ParameterError(
                "Word2Vec needs negative sampling (negative > 0), hierarchical softmax (hs=True) "
                "or both; got negative=0 and hs=False."
            )
        if resume and self.checkpoint_dir is None:
            raise ParameterError("resume=True needs checkpoint_dir= set on the model.")
        if self.max_time is not None and not (
            isinstance(self.max_time, int | float) and self.max_time > 0
        ):
            raise ParameterError(
                f"The 'max_time' parameter of {type(self).__name__} must be a number of seconds "
                f"in (0, inf) or None. Got {self.max_time!r} instead."
            )
        self._started = time.perf_counter()  # max_time counts from here: the vocabulary too
        sentences = Corpus(corpus) if isinstance(corpus, (str, os.PathLike)) else corpus
        with EncodedCorpus.build(
            sentences,
            max_sentence_length=self.max_sentence_length,
            max_vocab_size=self.max_vocab_size,
            chunk_tokens=CHUNK_TOKENS,
            show_progress=self.show_progress,
        ) as encoded:
            vocab, remap = select_vocabulary(encoded, self.min_count)
            self._vocab = vocab
            state = self._initial_state(vocab, resume)
            self._train(encoded, remap, vocab, state)
        self._state = {k: state[k] for k in self._weight_names()}
        self._vectors = self._final_vectors(vocab, state)
        return self

    def continue_training(
        self, corpus: Iterable[Sequence[str]] | str | os.PathLike[str], *, epochs: int | None = None
    ) -> Word2Vec:
        """Train a fitted model further on ``corpus`` (``epochs`` more passes, default
        ``self.epochs``), keeping its vocabulary: words it does not know are skipped."""
        self._check_fitted()
        check_params(type(self).__name__, self.get_params(), self._SPEC)
        sentences = Corpus(corpus) if isinstance(corpus, (str, os.PathLike)) else corpus
        index = self._vocab.index
        saved = self.epochs
        with EncodedCorpus.build(
            sentences,
            max_sentence_length=self.max_sentence_length,
            chunk_tokens=CHUNK_TOKENS,
            show_progress=self.show_progress,
        ) as encoded:
            remap = np.array([index.get(w, -1) for w in encoded.words], dtype=np.int32)
            if not (remap >= 0).any():
                raise ParameterError(
                    "none of the corpus's words is in the model's vocabulary; nothing to train."
                )
            state: dict[str, Any] = {**self._state, "epochs_done": 0, "loss_history": []}
            try:
                self.epochs = saved if epochs is None else epochs
                check_params(type(self).__name__, self.get_params(), self._SPEC)
                self._train(encoded, remap, self._vocab, state)
            finally:
                self.epochs = saved
        self._state = {k: state[k] for k in self._weight_names()}
        self._vectors = self._final_vectors(self._vocab, state)
        return self

    # ------------------------------------------------------------------ steps
    # -- the parts a subclass (FastText) replaces: weights, tables, kernel, final vectors
    def _init_weights(self, n_words: int, rng: np.random.Generator) -> dict[str, Any]:
        shape = (n_words, self.dim)
        return {
            # uniform in [-1/dim, 1/dim], as gensim
            "syn0": (rng.random(shape, dtype=np.float32) * 2 - 1) / self.dim,
            "syn1neg": np.zeros((n_words if self.negative else 0, self.dim), dtype=np.float32),
            "syn1": np.zeros((max(n_words - 1, 0) if self.hs else 0, self.dim), dtype=np.float32),
        }

    def _tables(self, vocab: Vocabulary) -> dict[str, Any]:
        if self.hs:
            codes, points, code_len = huffman_tree(vocab.counts)
        else:
            codes, points = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32)
            code_len = np.zeros(1, np.int32)
        return {"codes": codes, "points": points, "code_len": code_len}

    def _kernel(self) -> Any:
        return K.train_serial if self.workers == 1 else K.train_parallel

    def _kernel_parts(
        self, state: dict[str, Any], tables: dict[str, Any]
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The kernel's model-specific arguments: its weights and tables, then its settings."""
        window = 0 if self.window == "sequence" else int(self.window)
        weights = ("syn0", "syn1neg", "syn1")
        return (
            (*(state[k] for k in weights), tables["codes"], tables["points"], tables["code_len"]),
            (self.sg, self.hs, self.negative, window, self.shrink_windows, self.cbow_mean),
        )

    def _keep_probabilities(self, vocab: Vocabulary) -> npt.NDArray[np.float64]:
        """word2vec C subsampling: frequencies relative to the retained words."""
        return vocab.keep_probabilities(self.sample)

    def _final_vectors(self, vocab: Vocabulary, state: dict[str, Any]) -> Vectors:
        return Vectors(vocab.words, state["syn0"], vocab.counts)

    def _weight_names(self) -> tuple[str, ...]:
        return ("syn0", "syn1neg", "syn1")

    def _initial_state(self, vocab: Vocabulary, resume: bool) -> dict[str, Any]:
        # a checkpoint folder whose replacement was interrupted is read from its old copy
        ckpt_dir = None if self.checkpoint_dir is None else readable_dir(Path(self.checkpoint_dir))
        found = ckpt_dir is not None and (ckpt_dir / "state.json").exists()
        if resume:
            if not found:
                raise ParameterError(
                    f"resume=True, but {self.checkpoint_dir} holds no checkpoint to resume from "
                    "(a run writes one after each epoch); train without resume to start over."
                )
            assert ckpt_dir is not None
            return self._resume_state(Checkpoint.load(ckpt_dir), vocab)
        if found:
            logger.warning(
                "%s holds a checkpoint of an earlier run; it will be overwritten after the first "
                "epoch (resume=True continues it instead)",
                self.checkpoint_dir,
            )
        state = self._init_weights(len(vocab), np.random.default_rng(self.seed))
        state.update(epochs_done=0, loss_history=[])
        return state

    def _resume_state(self, ckpt: Checkpoint, vocab: Vocabulary) -> dict[str, Any]:
        mine = {k: v for k, v in self.get_params().items() if k != "workers"}
        theirs = {k: v for k, v in ckpt.params.items() if k != "workers"}
        if ckpt.trainer != type(self).__name__ or mine != theirs:
            diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise ParameterError(
                f"the checkpoint in {self.checkpoint_dir} was made by {ckpt.trainer} with other "
                f"parameters ({', '.join(diff) or 'trainer'}); resume with the same ones."
            )
        if ckpt.vocab_sha256 != vocab_digest(vocab.words):
            raise ParameterError(
                f"the checkpoint in {self.checkpoint_dir} was trained on another corpus "
                "(its vocabulary differs); resume on the same corpus."
            )
        logger.info("resuming after epoch %d of %d", ckpt.epochs_done, self.epochs)
        return {
            **ckpt.weights,
            "epochs_done": ckpt.epochs_done,
            "loss_history": list(ckpt.loss_history),
        }

    def _train(
        self,
        encoded: EncodedCorpus,
        remap: npt.NDArray[np.int32],
        vocab: Vocabulary,
        state: dict[str, Any],
    ) -> None:
        alias_prob, alias_idx = K.alias_table(vocab.counts.astype(np.float64) ** self.ns_exponent)
        sig, log_sig = K.sigmoid_tables()
        shared = {
            "remap": remap,
            "keep": self._keep_probabilities(vocab).astype(np.float32),
            "alias_prob": alias_prob,
            "alias_idx": alias_idx,
            "sig": sig,
            "log_sig": log_sig,
        }
        tables = self._tables(vocab)
        chunks = np.array(encoded.chunk_starts, dtype=np.int64)
        n_chunks = chunks.shape[0] - 1
        total = encoded.n_tokens
        step = 1.0 / (self.epochs * total)
        writer = ScalarWriter(self.tensorboard_dir) if self.tensorboard_dir is not None else None
        self._loss_history = list(state["loss_history"])
        start_epoch = int(state["epochs_done"])
        started = getattr(self, "_started", None) or time.perf_counter()
        deadline = None if self.max_time is None else started + self.max_time
        self.stopped_early_ = False
        with (
            numba_threads(self.workers),
            progress(
                total=(self.epochs - start_epoch) * total,
                desc=f"{type(self).__name__} training",
                unit="w",
                enabled=self.show_progress,
            ) as bar,
        ):
            size = K.size_token(self.dim)
            first = announce(self._kernel(), type(self).__name__, bar, size)
            for epoch in range(start_epoch, self.epochs):
                began = time.perf_counter()
                loss_sum, trained, done = 0.0, 0, 0
                seeds = _splitmix(
                    np.uint64(self.seed) * np.uint64(1_000_003)
                    + np.uint64(epoch) * np.uint64(n_chunks)
                    + np.arange(n_chunks, dtype=np.uint64)
                )
                for b in range(0, n_chunks, BLOCK_CHUNKS):
                    block = chunks[b : b + BLOCK_CHUNKS + 1]
                    n = block.shape[0] - 1
                    out_loss = np.zeros(n, dtype=np.float64)
                    out_trained = np.zeros(n, dtype=np.int64)
                    out_seen = np.zeros(n, dtype=np.int64)
                    ids, bounds = encoded.read(int(block[0]), int(block[-1]))
                    progress0 = (epoch * total + done) * step
                    weights, settings = self._kernel_parts(state, tables)
                    self._kernel()(
                        ids, bounds, block - block[0], shared["remap"], shared["keep"], *weights,
                        shared["alias_prob"], shared["alias_idx"], shared["sig"],
                        shared["log_sig"], *settings, self.alpha_, self.min_alpha, progress0,
                        step, seeds[b : b + n], out_loss, out_trained, out_seen, size,
                    )  # fmt: skip
                    if first:  # compiled: the bar says what it does again
                        bar.set_description(f"{type(self).__name__} training")
                        first = False
                    done += int(bounds[-1])
                    loss_sum += float(out_loss.sum())
                    trained += int(out_trained.sum())
                    bar.update(int(out_seen.sum()))
                    bar.set_postfix(epoch=epoch + 1, loss=f"{loss_sum / max(trained, 1):.4f}")
                    if deadline is not None and time.perf_counter() > deadline:
                        self.stopped_early_ = True
                        break
                epoch_loss = loss_sum / max(trained, 1)
                if self.stopped_early_ and b + BLOCK_CHUNKS < n_chunks:  # within the epoch
                    logger.info(
                        "max_time (%.0f s) reached in epoch %d after %d of %d words; the vectors "
                        "are the ones trained so far (no checkpoint for a part of an epoch)",
                        self.max_time,
                        epoch + 1,
                        done,
                        total,
                    )
                    self._loss_history.append(epoch_loss)
                    break
                self._loss_history.append(epoch_loss)
                logger.info(
                    "epoch %d: loss %.5f, %d words trained, %.0f words/s",
                    epoch + 1,
                    epoch_loss,
                    trained,
                    total / max(time.perf_counter() - began, 1e-9),
                )
                if writer is not None:
                    writer.add_scalar("train/loss", epoch_loss, epoch + 1)
                self._end_epoch(epoch + 1, epoch_loss, vocab, state)
                if deadline is not None and time.perf_counter() > deadline:
                    self.stopped_early_ = epoch + 1 < self.epochs
                    if self.stopped_early_:
                        logger.info(
                            "max_time (%.0f s) reached after epoch %d", self.max_time, epoch + 1
                        )
                    break
        if writer is not None:
            writer.close()

    def _end_epoch(self, epoch: int, loss: float, vocab: Vocabulary, state: dict[str, Any]) -> None:
        if self.checkpoint_dir is not None:
            Checkpoint(
                trainer=type(self).__name__,
                params=self.get_params(),
                epochs_done=epoch,
                loss_history=list(self._loss_history),
                vocab_size=len(vocab),
                vocab_sha256=vocab_digest(vocab.words),
                weights={k: state[k] for k in self._weight_names()},
            ).save(Path(self.checkpoint_dir))
        if self.callbacks:
            self._vectors = self._final_vectors(
                vocab, {k: v.copy() for k, v in state.items() if isinstance(v, np.ndarray)}
            )
            for callback in self.callbacks:
                callback(self, epoch, loss)
