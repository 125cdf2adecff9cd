"""Pretraining an ELMo-style bidirectional LSTM language model on a streamed corpus.

``pretrain_bilm(corpus, args=TrainingArguments("out", max_steps=3000))`` trains a forward LSTM
language model (predict the next word) and a backward one (predict the previous word) over shared
token representations and a shared softmax, as ELMo (Peters et al., 2018) does, on windows of
``window`` words cut from the running text and shuffled through a seeded buffer; every 100th
window is held out for the validation perplexity. The model, its folder format and
:class:`~embedlab.encoders.bilm.BiLMEncoder` (inference) live in :mod:`embedlab.encoders.bilm`;
this module only trains.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.bilm import (
    FORMAT_VERSION,
    SPECIALS,
    BiLMConfig,
    BiLMEncoder,
    BiLMVocab,
    bilm_batch,
    bilm_words,
    build_bilm,
)
from ..errors import ParameterError
from .pretrain import held_out_split, iter_lines, reusable_corpus
from .training import TrainingArguments, TrainResult, resolve_device, seed_everything, train

logger = logging.getLogger(__name__)

__all__ = ["BiLMConfig", "BiLMEncoder", "pretrain_bilm"]  # the model's names, for convenience


class _BiLMTask:
    metric: str | None = "loss"
    greater_is_better = False

    def __init__(
        self,
        model: Any,
        vocab: BiLMVocab,
        corpus: Any,
        *,
        window: int,
        batch_size: int,
        eval_blocks: int,
        shuffle_buffer: int,
        device: str,
    ) -> None:
        self.model, self.vocab, self.corpus = model, vocab, corpus
        self.cfg: BiLMConfig = model.cfg
        self.window, self.batch_size, self.device = window, batch_size, device
        self.eval_blocks, self.shuffle_buffer = eval_blocks, shuffle_buffer
        self.held_out: list[list[str]] = []
        self.split = bilm_words(self.cfg.lowercase)

    def _windows(self) -> Iterator[list[str]]:
        buffer: list[str] = []
        inner = self.window - 2
        for line in iter_lines(self.corpus):
            buffer.extend(self.split(line))
            while len(buffer) >= inner:
                yield ["<s>", *buffer[:inner], "</s>"]
                buffer = buffer[inner:]

    def batches_per_epoch(self) -> None:
        return None

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[Any]:
        rows: list[list[str]] = []
        for block in held_out_split(
            self._windows(), rng, self.shuffle_buffer, self.held_out, self.eval_blocks
        ):
            rows.append(block)
            if len(rows) == self.batch_size:
                yield bilm_batch(rows, self.vocab, self.cfg, self.device)
                rows = []
        if rows:
            yield bilm_batch(rows, self.vocab, self.cfg, self.device)

    def loss(self, batch: Any) -> Any:
        return self.model.loss(*batch)

    def evaluate(self) -> dict[str, float]:
        import torch

        if not self.held_out:
            return {}
        total, count = 0.0, 0
        with torch.inference_mode():
            for start in range(0, len(self.held_out), self.batch_size):
                rows = self.held_out[start : start + self.batch_size]
                total += float(
                    self.model.loss(*bilm_batch(rows, self.vocab, self.cfg, self.device))
                )
                count += 1
        loss = total / count
        return {"loss": loss, "perplexity": float(np.exp(min(loss, 50.0)))}

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_model

        header = {"format_version": FORMAT_VERSION, "config": asdict(self.cfg)}
        (folder / "bilm.json").write_text(json.dumps(header, indent=1))
        (folder / "vocab.txt").write_text("\n".join(self.vocab.words) + "\n", encoding="utf-8")
        save_model(self.model, str(folder / "model.safetensors"))


def build_vocab(corpus: Any, size: int, *, min_count: int = 1, lowercase: bool = True) -> list[str]:
    """The specials, then the ``size - 4`` most frequent words seen ``min_count`` times or more."""
    split = bilm_words(lowercase)
    counts: Counter[str] = Counter()
    for line in iter_lines(corpus):
        counts.update(split(line))
    ranked = sorted((w for w, n in counts.items() if n >= min_count and w not in SPECIALS),
                    key=lambda w: (-counts[w], w))  # fmt: skip
    return SPECIALS + ranked[: size - len(SPECIALS)]


def pretrain_bilm(
    corpus: str | os.PathLike[str] | Iterable[str],
    *,
    args: TrainingArguments,
    config: BiLMConfig | None = None,
    min_count: int = 2,
    window: int = 64,
    eval_blocks: int = 256,
    shuffle_buffer: int = 4096,
) -> TrainResult:
    """Train the biLM on ``corpus``; the vocabulary (``config.vocab_size`` words) comes from it."""
    cfg = config or BiLMConfig()
    corpus = reusable_corpus(corpus)
    if window < 4:
        raise ParameterError(f"window must be at least 4 words, got {window}")
    words = build_vocab(corpus, cfg.vocab_size, min_count=min_count, lowercase=cfg.lowercase)
    cfg = BiLMConfig(**{**asdict(cfg), "vocab_size": len(words)})
    seed_everything(args.seed)
    model = build_bilm(cfg)
    task = _BiLMTask(
        model, BiLMVocab(words), corpus, window=window, batch_size=args.batch_size,
        eval_blocks=eval_blocks, shuffle_buffer=shuffle_buffer, device=resolve_device(args.device),
    )  # fmt: skip
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("training a biLM: %d words, %.1fM parameters", len(words), n_params / 1e6)
    return train(task, args)
