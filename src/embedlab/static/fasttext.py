"""`FastText`: word2vec with subword information (Bojanowski et al. 2017), fastText-compatible.

A word's input vector is the mean of its own row and the rows of its character n-grams
(``minn``..``maxn`` characters of ``<word>``, hashed into ``bucket`` rows with fastText's FNV-1a,
so the n-gram rows line up with fastText's ``.bin`` files). ``vectors_`` is a
:class:`~embedlab.SubwordVectors`: any word -- seen or not -- gets a vector, computed exactly as
fastText's ``get_word_vector``. Defaults are fastText's (lr 0.05, sample 1e-4, negatives
drawn by count^0.5, minn 3, maxn 6, 2M buckets). Everything else (streaming scan, epochs,
checkpoints, callbacks, TensorBoard, deterministic mode) is :class:`Word2Vec`'s.

This module does not support hierarchical softmax for subword models (negative sampling only).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..fitting.params import Constraint, Interval
from ..subword import SubwordVectors, _pack
from ..text import Vocabulary
from . import _ft_kernels as FK
from .word2vec import Callback, Word2Vec

__all__ = ["FastText"]


class FastText(Word2Vec):
    """fastText-style skip-gram or CBOW with hashed character n-grams (negative sampling)."""

    _SPEC: ClassVar[dict[str, Constraint]] = {
        **Word2Vec._SPEC,
        "window": Interval(int, 1, None),
        "negative": Interval(int, 1, None),
        "minn": Interval(int, 1, None),
        "maxn": Interval(int, 0, None),
        "bucket": Interval(int, 0, None),
    }

    def __init__(
        self,
        *,
        dim: int = 100,
        window: int = 5,
        sg: bool = True,
        negative: int = 5,
        ns_exponent: float = 0.5,
        sample: float = 1e-4,
        alpha: float | None = 0.05,
        min_alpha: float = 0.0,
        min_count: int = 5,
        max_vocab_size: int | None = None,
        epochs: int = 5,
        workers: int | None = None,
        seed: int = 1,
        minn: int = 3,
        maxn: int = 6,
        bucket: int = 2_000_000,
        max_sentence_length: int = 10_000,
        callbacks: Sequence[Callback] = (),
        checkpoint_dir: str | os.PathLike[str] | None = None,
        tensorboard_dir: str | os.PathLike[str] | None = None,
        show_progress: bool | None = None,
        max_time: float | None = None,
    ) -> None:
        super().__init__(
            dim=dim,
            window=window,
            sg=sg,
            hs=False,
            negative=negative,
            ns_exponent=ns_exponent,
            sample=sample,
            alpha=alpha,
            min_alpha=min_alpha,
            min_count=min_count,
            max_vocab_size=max_vocab_size,
            epochs=epochs,
            workers=workers,
            seed=seed,
            max_sentence_length=max_sentence_length,
            callbacks=callbacks,
            checkpoint_dir=checkpoint_dir,
            tensorboard_dir=tensorboard_dir,
            show_progress=show_progress,
            max_time=max_time,
        )
        self.minn = minn
        self.maxn = maxn
        self.bucket = bucket

    @classmethod
    def from_fasttext_bin(cls, path: str | os.PathLike[str], **overrides: Any) -> FastText:
        """A fitted model from a fastText ``.bin`` (skip-gram or CBOW, negative sampling): its
        words, counts, input and output matrices and arguments, ready for ``continue_training``.
        ``overrides`` replace parameters (e.g. ``epochs=1``, ``workers=1``)."""
        from ..errors import ParameterError
        from ..io.fasttext_bin import read_fasttext_model

        parts = read_fasttext_model(path)
        a = parts.args
        if a["model"] not in (1, 2) or a["loss"] != 2:
            raise ParameterError(
                f"{path}: only unsupervised fastText models trained with negative sampling can "
                f"continue training here (model={a['model']}, loss={a['loss']})."
            )
        params: dict[str, Any] = {
            "dim": a["dim"],
            "window": a["ws"],
            "sg": a["model"] == 2,
            "negative": a["neg"],
            "sample": float(a["t"]),
            "epochs": a["epoch"],
            "min_count": a["min_count"],
            "minn": a["minn"],
            "maxn": a["maxn"],
            "bucket": a["bucket"],
        }
        model = cls(**{**params, **overrides})
        v = parts.vectors
        counts = v.counts if v.counts is not None else np.ones(len(v), dtype=np.int64)
        model._vocab = Vocabulary(list(v.index_to_key), counts)
        model._state = {
            "w_in": np.array(parts.input_matrix, dtype=np.float32),
            "w_out": np.array(parts.output_matrix, dtype=np.float32),
        }
        model._loss_history = []
        model._vectors = v
        return model

    @property
    def vectors_(self) -> SubwordVectors:
        vectors = super().vectors_
        assert isinstance(vectors, SubwordVectors)
        return vectors

    def _init_weights(self, n_words: int, rng: np.random.Generator) -> dict[str, Any]:
        rows = n_words + (self.bucket if self.maxn else 0)
        w_in = rng.random((rows, self.dim), dtype=np.float32)  # fastText: U[-1/dim, 1/dim]
        w_in *= 2.0
        w_in -= 1.0
        w_in /= self.dim
        return {"w_in": w_in, "w_out": np.zeros((n_words, self.dim), dtype=np.float32)}

    def _weight_names(self) -> tuple[str, ...]:
        return ("w_in", "w_out")

    def _tables(self, vocab: Vocabulary) -> dict[str, Any]:
        """Each word's input rows: itself, then its n-gram buckets (CSR: offsets + ids)."""
        from .._subword_kernels import subword_ids

        n = len(vocab)
        buf, offsets = _pack(vocab.words)
        scratch = np.empty(
            max(1, int(np.diff(offsets).max(initial=0)) * max(self.maxn, 1)), np.int64
        )
        rows: list[npt.NDArray[np.int32]] = []
        sub_off = np.zeros(n + 1, dtype=np.int64)
        for w in range(n):
            word = buf[offsets[w] : offsets[w + 1]]
            count = (
                0
                if self.maxn == 0
                else subword_ids(word, self.minn, self.maxn, self.bucket, n, scratch)
            )
            own = np.array([w], dtype=np.int32)
            rows.append(np.concatenate([own, scratch[:count].astype(np.int32)]))
            sub_off[w + 1] = sub_off[w] + 1 + count
        return {
            "sub_off": sub_off,
            "sub_ids": np.concatenate(rows) if rows else np.zeros(0, np.int32),
        }

    def _kernel(self) -> Any:
        return FK.ft_serial if self.workers == 1 else FK.ft_parallel

    def _kernel_parts(
        self, state: dict[str, Any], tables: dict[str, Any]
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return (
            (tables["sub_off"], tables["sub_ids"], state["w_in"], state["w_out"]),
            (self.sg, self.negative, int(self.window)),
        )

    def _keep_probabilities(self, vocab: Vocabulary) -> npt.NDArray[np.float64]:
        """fastText's pdiscard: sqrt(t / f) + t / f with f relative to every token read."""
        if self.sample <= 0:
            return np.ones(len(vocab), dtype=np.float64)
        f = vocab.counts.astype(np.float64) / max(vocab.total, 1)
        return np.minimum(1.0, np.sqrt(self.sample / f) + self.sample / f)

    def _final_vectors(self, vocab: Vocabulary, state: dict[str, Any]) -> SubwordVectors:
        return SubwordVectors.from_input_matrix(
            vocab.words,
            state["w_in"],
            minn=self.minn,
            maxn=self.maxn,
            bucket=self.bucket if self.maxn else 0,
            counts=vocab.counts,
        )
