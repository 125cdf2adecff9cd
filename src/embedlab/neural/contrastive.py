"""Contrastive fine-tuning of sentence encoders: MultipleNegativesRanking with in-batch negatives.

``finetune_contrastive(model, "pairs.tsv", args=...)`` trains an encoder so each anchor's vector
is closest to its own positive among every positive (and hard negative) in the batch — the loss
of sentence-transformers' ``MultipleNegativesRankingLoss``: cross-entropy over ``scale *
cos(anchor, candidate)``. Pairs or triplets (anchor, positive, hard negative) come from CSV / TSV
/ JSONL (:class:`TextPairs`). Batches are *duplicate-aware*: a text never appears twice in one
batch, because a repeated positive would be scored as a negative of its own anchor (a false
negative); clashing examples wait for a later batch.

The model is any encoder folder or hub id that :class:`embedlab.encoders.TransformerEncoder`
reads: its pooling, max length, lower-casing and normalization are kept. The result
(``model/``) is a sentence-transformers folder (modules.json, pooling config, the fine-tuned
transformer in safetensors) that ``TransformerEncoder`` and sentence-transformers both load.
``validation=(texts1, texts2, scores)`` evaluates STS Spearman during training and keeps the best.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError
from .training import TrainingArguments, TrainResult, resolve_device, seed_everything, train

logger = logging.getLogger(__name__)

__all__ = ["TextPairs", "finetune_contrastive"]

Column = str | int


@dataclass
class TextPairs:
    """Anchors with their positives, and optionally one hard negative each."""

    anchors: list[str]
    positives: list[str]
    negatives: list[str] | None = None

    def __post_init__(self) -> None:
        if len(self.anchors) != len(self.positives):
            raise ParameterError(f"{len(self.anchors)} anchors but {len(self.positives)} positives")
        if self.negatives is not None and len(self.negatives) != len(self.anchors):
            raise ParameterError(f"{len(self.anchors)} anchors but {len(self.negatives)} negatives")
        if not self.anchors:
            raise ParameterError("no pairs")

    @classmethod
    def read(
        cls,
        path: str | os.PathLike[str],
        *,
        anchor: Column = "anchor",
        positive: Column = "positive",
        negative: Column | None = None,
        **kw: Any,
    ) -> TextPairs:
        """Read columns by header name or 0-based position (errors name file, line, column)."""
        from ..records import read_text_columns

        columns = {"anchor": anchor, "positive": positive, "negative": negative}
        got = read_text_columns(path, columns, **kw)
        return cls(got["anchor"], got["positive"], got.get("negative"))

    def texts(self, i: int) -> tuple[str, ...]:
        extra = () if self.negatives is None else (self.negatives[i],)
        return (self.anchors[i], self.positives[i], *extra)


def _take(pairs: TextPairs, i: int, batch: list[int], seen: set[str], size: int) -> bool:
    texts = pairs.texts(i)
    if len(batch) >= size or any(t in seen for t in texts):
        return False
    batch.append(i)
    seen.update(texts)
    return True


def duplicate_free_batches(
    pairs: TextPairs, order: Sequence[int], batch_size: int
) -> Iterator[list[int]]:
    """Batches in ``order`` where no text occurs in two examples; clashing ones wait their turn.

    Waiting examples get the first places of the next batches, so none waits long.
    """
    stream = iter(order)
    waiting: list[int] = []
    while True:
        batch: list[int] = []
        seen: set[str] = set()
        still: list[int] = []
        for j in waiting:
            if not _take(pairs, j, batch, seen, batch_size):
                still.append(j)
        waiting = still
        while len(batch) < batch_size:
            i = next(stream, None)
            if i is None:
                break
            if not _take(pairs, i, batch, seen, batch_size):
                waiting.append(i)
        if not batch:  # the stream is done and nothing waits (a lone example always fits)
            return
        yield batch


def pool_torch(hidden: Any, mask: Any, modes: Sequence[str]) -> Any:
    """The pooling modes of :class:`embedlab.encoders.pooling.Pooling`, on torch tensors."""
    import torch

    m = mask.unsqueeze(-1).to(hidden.dtype)
    parts = []
    for mode in modes:
        if mode == "cls":
            parts.append(hidden[:, 0])
        elif mode in ("mean", "mean_sqrt_len"):
            total, count = (hidden * m).sum(1), m.sum(1).clamp(min=1e-9)
            parts.append(total / (count if mode == "mean" else count.sqrt()))
        elif mode == "max":
            parts.append(hidden.masked_fill(m == 0, -1e9).max(1).values)
        elif mode == "weightedmean":
            w = m * torch.arange(1, hidden.shape[1] + 1, device=hidden.device).view(1, -1, 1)
            parts.append((hidden * w).sum(1) / w.sum(1).clamp(min=1e-9))
        elif mode == "lasttoken":
            flipped = mask.flip(1).to(torch.long).argmax(1)
            last = hidden.shape[1] - 1 - flipped
            parts.append(hidden[torch.arange(hidden.shape[0], device=hidden.device), last])
        else:
            raise ParameterError(f"unknown pooling mode {mode!r}")
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


class _ContrastiveTask:
    greater_is_better = True

    def __init__(
        self,
        encoder: Any,
        pairs: TextPairs,
        *,
        batch_size: int,
        scale: float,
        seed: int,
        validation: tuple[list[str], list[str], list[float]] | None,
        device: str,
    ) -> None:
        self.encoder, self.pairs, self.batch_size, self.scale = encoder, pairs, batch_size, scale
        self.model = encoder.backend.model
        self.device = device
        self.validation = validation
        self.metric = None if validation is None else "spearman"
        self.modes = encoder.pooling.modes
        first = duplicate_free_batches(
            pairs, np.random.default_rng([seed, 0]).permutation(len(pairs.anchors)).tolist(),
            batch_size,
        )  # fmt: skip
        self._per_epoch = sum(1 for _ in first)

    def batches_per_epoch(self) -> int:
        return self._per_epoch

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[Any]:
        order = rng.permutation(len(self.pairs.anchors)).tolist()
        for batch in duplicate_free_batches(self.pairs, order, self.batch_size):
            p = self.pairs
            yield (
                [p.anchors[i] for i in batch],
                [p.positives[i] for i in batch],
                None if p.negatives is None else [p.negatives[i] for i in batch],
            )

    def _embed(self, texts: list[str]) -> Any:
        import torch

        enc = self.encoder
        if enc.pipeline.do_lower_case:
            texts = [t.lower() for t in texts]
        tok = enc.tokenizer(
            texts, padding=True, truncation=True, max_length=enc.max_length, return_tensors="pt"
        )
        inputs = {k: v.to(self.device) for k, v in tok.items() if k != "token_type_ids"}
        if enc.backend.takes_token_types:
            inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
        hidden = self.model(**inputs).last_hidden_state
        return pool_torch(hidden, inputs["attention_mask"], self.modes)

    def loss(self, batch: Any) -> Any:
        import torch

        anchors, positives, negatives = batch
        a = torch.nn.functional.normalize(self._embed(anchors).float(), dim=-1)
        candidates = positives + (negatives or [])
        c = torch.nn.functional.normalize(self._embed(candidates).float(), dim=-1)
        scores = self.scale * a @ c.T
        target = torch.arange(len(anchors), device=scores.device)
        return torch.nn.functional.cross_entropy(scores, target)

    def evaluate(self) -> dict[str, float]:
        if self.validation is None:
            return {}
        from ..evaluate.sentence import sts_scores

        left, right, gold = self.validation
        r = sts_scores(self.encoder.encode(left), self.encoder.encode(right), gold)
        return {"spearman": r.spearman, "pearson": r.pearson}

    def save(self, folder: Path) -> None:
        save_sentence_model(self.encoder, folder)


def save_sentence_model(encoder: Any, folder: Path) -> None:
    """Write ``encoder`` (torch backend) as a sentence-transformers folder into ``folder``."""
    pipe = encoder.pipeline
    if (pipe.root / "modules.json").exists():
        skip = shutil.ignore_patterns("*.safetensors", "*.bin", "onnx", "*.onnx", ".cache")
        shutil.copytree(pipe.root, folder, ignore=skip, dirs_exist_ok=True)
        target = folder / pipe.transformer.relative_to(pipe.root)
    else:  # a plain transformers folder: describe its pooling so loaders agree
        target = folder
        dim = int(encoder.backend.hidden_size)
        modules = [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.models.Pooling"},
        ]  # fmt: skip
        if pipe.normalize or encoder.normalize:
            modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                            "type": "sentence_transformers.models.Normalize"})  # fmt: skip
            (folder / "2_Normalize").mkdir(parents=True, exist_ok=True)
        (folder / "1_Pooling").mkdir(parents=True, exist_ok=True)
        (folder / "1_Pooling" / "config.json").write_text(
            json.dumps(encoder.pooling.to_st_config(dim), indent=1)
        )
        (folder / "modules.json").write_text(json.dumps(modules, indent=1))
        (folder / "sentence_bert_config.json").write_text(
            json.dumps({"max_seq_length": encoder.max_length, "do_lower_case": False})
        )
        encoder.tokenizer.save_pretrained(str(folder))
    target.mkdir(parents=True, exist_ok=True)
    encoder.backend.model.save_pretrained(str(target), safe_serialization=True)


def finetune_contrastive(
    model: str | os.PathLike[str] | None,
    pairs: TextPairs | str | os.PathLike[str],
    *,
    args: TrainingArguments,
    anchor: Column = "anchor",
    positive: Column = "positive",
    negative: Column | None = None,
    scale: float = 20.0,
    validation: tuple[Sequence[str], Sequence[str], npt.ArrayLike] | None = None,
) -> TrainResult:
    """Fine-tune ``model`` (None: the offline default MiniLM) on ``pairs``; see the module doc."""
    from ..encoders import TransformerEncoder

    data = (
        pairs
        if isinstance(pairs, TextPairs)
        else TextPairs.read(pairs, anchor=anchor, positive=positive, negative=negative)
    )
    if args.batch_size < 2:
        raise ParameterError("in-batch negatives need batch_size >= 2")
    seed_everything(args.seed)
    device = resolve_device(args.device)
    encoder = TransformerEncoder(model, backend="torch", device=device, threads=args.threads)
    if encoder.pipeline.dense:
        raise ParameterError(
            "contrastive fine-tuning of pipelines with Dense layers is not supported; "
            "fine-tune the transformer alone (a folder without the Dense modules)"
        )
    checked = None
    if validation is not None:
        left, right, gold = validation
        scores = [float(x) for x in np.asarray(gold, dtype=np.float64)]
        if not len(left) == len(right) == len(scores):
            raise ParameterError("validation needs texts1, texts2 and scores of equal length")
        checked = (list(left), list(right), scores)
    task = _ContrastiveTask(
        encoder, data, batch_size=args.batch_size, scale=scale, seed=args.seed,
        validation=checked, device=device,
    )  # fmt: skip
    logger.info("contrastive fine-tuning on %d pairs", len(data.anchors))
    return train(task, args)
