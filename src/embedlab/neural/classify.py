"""Sequence-classification fine-tuning (sentiment, intents, pairs) and prediction.

``finetune_classifier("all-MiniLM-L6-v2-folder", "train.tsv", validation="dev.tsv", args=...)``
puts a classification head on any encoder folder or hub id (a sentence-transformers folder works:
its transformer is used) and fine-tunes the whole model with :func:`embedlab.neural.training.train`.
Data: CSV / TSV / JSONL with a text column, an optional second text (pairs) and a label column,
read by :func:`embedlab.records.read_columns` (errors name file, line and column); or a
:class:`LabeledTexts` built in memory. Without a validation file a stratified ``validation_split``
is held out (seeded). Batches group texts of similar length (shuffled groups) to waste little
padding; ``class_weights="balanced"`` weighs the loss against imbalance; the best validation
checkpoint is kept (early stopping with ``patience``).

``extend_vocab=N`` adds to the tokenizer the ``N`` most frequent words of the training texts that
it can only spell as ``[UNK]`` (a Chinese review read by an English WordPiece vocabulary is mostly
unknown characters); their embedding rows start as the ``[UNK]`` row and are learned in fine-tuning.

The output folder's ``model/`` is a standard transformers classifier (``id2label`` in its config,
safetensors weights, the tokenizer) plus ``report.json`` (accuracy, macro-F1, per-class precision /
recall / F1, confusion matrix) and ``confusion.png``. :class:`TextClassifier` loads it and predicts
labels and probabilities. The data (:mod:`.labeled`), the report (:mod:`.metrics`), the vocabulary
extension (:mod:`.vocab_extension`) and prediction (:mod:`.classifier`) live beside this module,
which only trains.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError, check_choice
from . import vocab_extension
from .classifier import TextClassifier, probabilities
from .labeled import Column, LabeledTexts, collate, encode_rows
from .metrics import ClassificationReport
from .training import TrainingArguments, TrainResult, resolve_device, seed_everything, train
from .vocab_extension import unknown_words

logger = logging.getLogger(__name__)

__all__ = [
    "ClassificationReport",
    "LabeledTexts",
    "TextClassifier",
    "finetune_classifier",
    "unknown_words",
]

Metric = Literal["accuracy", "macro_f1"]


class _ClassifyTask:
    greater_is_better = True

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        label_names: list[str],
        train_set: LabeledTexts,
        valid_set: LabeledTexts | None,
        *,
        max_length: int,
        batch_size: int,
        weights: npt.NDArray[np.float32] | None,
        metric: str,
        device: str,
    ) -> None:
        import torch

        self.model, self.tokenizer, self.label_names = model, tokenizer, label_names
        index = {name: i for i, name in enumerate(label_names)}
        self.rows = encode_rows(tokenizer, train_set, max_length)
        self.y = np.array([index[x] for x in train_set.labels], dtype=np.int64)
        self.valid = valid_set
        self.valid_rows = (
            None if valid_set is None else encode_rows(tokenizer, valid_set, max_length)
        )
        self.valid_y = None if valid_set is None else [index[x] for x in valid_set.labels]
        self.batch_size, self.device = batch_size, device
        self.metric = None if valid_set is None else metric
        self.pad = int(tokenizer.pad_token_id or 0)
        self.weights = None if weights is None else torch.tensor(weights, device=device)
        self.takes_types = "token_type_ids" in model.forward.__code__.co_varnames

    def _groups(self, rng: np.random.Generator) -> list[npt.NDArray[np.intp]]:
        order = rng.permutation(len(self.rows))
        span = self.batch_size * 50  # sort by length inside shuffled spans, as HF's group_by_length
        batches = []
        for start in range(0, len(order), span):
            chunk = order[start : start + span]
            chunk = chunk[np.argsort([-len(self.rows[i][0]) for i in chunk], kind="stable")]
            batches += [
                chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)
            ]
        return [batches[i] for i in rng.permutation(len(batches))]

    def batches_per_epoch(self) -> int:
        span = self.batch_size * 50
        n = len(self.rows)
        full, rest = divmod(n, span)
        return full * math.ceil(span / self.batch_size) + math.ceil(rest / self.batch_size)

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[Any]:
        import torch

        for batch in self._groups(rng):
            inputs = collate([self.rows[i] for i in batch], self.pad, self.device)
            yield inputs, torch.tensor(self.y[batch], device=self.device)

    def loss(self, batch: Any) -> Any:
        import torch

        inputs, labels = batch
        if not self.takes_types:
            inputs = {k: v for k, v in inputs.items() if k != "token_type_ids"}
        logits = self.model(**inputs).logits
        return torch.nn.functional.cross_entropy(logits.float(), labels, weight=self.weights)

    def predict(self, rows: list[tuple[list[int], list[int]]]) -> npt.NDArray[np.float32]:
        return probabilities(self.model, rows, self.pad, self.device, self.takes_types, 64)

    def evaluate(self) -> dict[str, float]:
        if self.valid_rows is None or self.valid_y is None:
            return {}
        predicted = self.predict(self.valid_rows).argmax(1)
        r = ClassificationReport.compute(self.label_names, self.valid_y, predicted.tolist())
        return {"accuracy": r.accuracy, "macro_f1": r.macro_f1}

    def save(self, folder: Path) -> None:
        self.model.save_pretrained(str(folder), safe_serialization=True)
        self.tokenizer.save_pretrained(str(folder))


def _as_data(data: LabeledTexts | str | os.PathLike[str], columns: dict[str, Any]) -> LabeledTexts:
    if isinstance(data, LabeledTexts):
        return data
    return LabeledTexts.read(data, **columns)


def finetune_classifier(
    model: str | os.PathLike[str] | None,
    train_data: LabeledTexts | str | os.PathLike[str],
    *,
    args: TrainingArguments,
    validation: LabeledTexts | str | os.PathLike[str] | None = None,
    validation_split: float = 0.1,
    text: Column = "text",
    label: Column = "label",
    pair: Column | None = None,
    max_length: int = 128,
    class_weights: Literal["balanced"] | None = None,
    metric: Metric = "accuracy",
    extend_vocab: int = 0,
) -> tuple[TrainResult, ClassificationReport]:
    """Fine-tune ``model`` (None: the offline default MiniLM) for classification; returns the run
    and the validation report. ``extend_vocab``: see the module docstring."""
    from ..encoders.folders import read_pipeline, resolve_model
    from ..optional import import_torch

    import_torch()
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    check_choice("metric", "finetune_classifier", metric, ("accuracy", "macro_f1"))
    if extend_vocab < 0:
        raise ParameterError(f"extend_vocab must be >= 0 (words to add), got {extend_vocab}")
    if class_weights is not None:
        check_choice("class_weights", "finetune_classifier", class_weights, ("balanced",))
    columns = {"text": text, "label": label, "pair": pair}
    train_set = _as_data(train_data, columns)
    if validation is None:
        train_set, valid_set = train_set.split(validation_split, args.seed)
    else:
        valid_set = _as_data(validation, columns)
    names = sorted(set(train_set.labels))
    if len(names) < 2:
        raise ParameterError(f"classification needs at least 2 labels; found {names}")
    unseen = sorted(set(valid_set.labels) - set(names))
    if unseen:
        raise ParameterError(f"validation labels {unseen} never occur in the training data")
    folder = read_pipeline(resolve_model(model)).transformer
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    seed_everything(args.seed)
    try:
        net = AutoModelForSequenceClassification.from_pretrained(
            str(folder),
            num_labels=len(names),
            id2label=dict(enumerate(names)),
            label2id={n: i for i, n in enumerate(names)},
            use_safetensors=True,
        )
    except (OSError, ValueError) as e:
        raise FormatError(folder, f"transformers could not load a classifier from it: {e}") from e
    if extend_vocab:
        texts = train_set.texts + (train_set.pairs or [])
        vocab_extension.extend_vocab(tokenizer, net, texts, extend_vocab)
    weights = None
    if class_weights == "balanced":
        counts = np.array([train_set.labels.count(n) for n in names], dtype=np.float32)
        weights = (counts.sum() / (len(names) * counts)).astype(np.float32)
    device = resolve_device(args.device)
    task = _ClassifyTask(
        net, tokenizer, names, train_set, valid_set, max_length=max_length,
        batch_size=args.batch_size, weights=weights, metric=metric, device=device,
    )  # fmt: skip
    logger.info("fine-tuning on %d examples, %d labels %s", len(train_set.texts), len(names), names)
    result = train(task, args)
    best = TextClassifier.load(result.model_dir, device=device)
    report = best.evaluate(valid_set)
    report.save(result.model_dir)
    return result, report
