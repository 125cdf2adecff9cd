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
labels and probabilities.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..encoders.base import length_sorted_batches, pad_ids
from ..errors import FormatError, ParameterError, check_choice
from ..files import atomic_file, read_json
from .training import TrainingArguments, TrainResult, resolve_device, seed_everything, train

logger = logging.getLogger(__name__)

__all__ = ["ClassificationReport", "LabeledTexts", "TextClassifier", "finetune_classifier"]

Metric = Literal["accuracy", "macro_f1"]
Column = str | int  # a column by header name or 0-based position


@dataclass
class LabeledTexts:
    """Texts (and optional second texts of a pair) with their labels, as strings."""

    texts: list[str]
    labels: list[str]
    pairs: list[str] | None = None

    def __post_init__(self) -> None:
        self.labels = [str(x) for x in self.labels]
        if len(self.texts) != len(self.labels):
            raise ParameterError(f"{len(self.texts)} texts but {len(self.labels)} labels")
        if self.pairs is not None and len(self.pairs) != len(self.texts):
            raise ParameterError(f"{len(self.texts)} texts but {len(self.pairs)} pair texts")
        if not self.texts:
            raise ParameterError("no examples")

    @classmethod
    def read(
        cls,
        path: str | os.PathLike[str],
        *,
        text: Column = "text",
        label: Column = "label",
        pair: Column | None = None,
        **kw: Any,
    ) -> LabeledTexts:
        """Read columns ``text``, ``label`` (and ``pair``) by header name or 0-based position."""
        from ..records import read_columns

        columns: dict[str, Column] = {"text": text, "label": label}
        if pair is not None:
            columns["pair"] = pair
        got = read_columns(path, columns, **kw)
        return cls(
            [str(t) for t in got["text"]],
            [str(x) for x in got["label"]],
            None if pair is None else [str(t) for t in got["pair"]],
        )

    def subset(self, index: Sequence[int] | npt.NDArray[np.intp]) -> LabeledTexts:
        idx = [int(i) for i in index]
        return LabeledTexts(
            [self.texts[i] for i in idx],
            [self.labels[i] for i in idx],
            None if self.pairs is None else [self.pairs[i] for i in idx],
        )

    def split(self, fraction: float, seed: int) -> tuple[LabeledTexts, LabeledTexts]:
        """A stratified (train, held-out) split with ``fraction`` of each label held out."""
        if not 0 < fraction < 1:
            raise ParameterError(f"validation_split must be in (0, 1), got {fraction}")
        rng = np.random.default_rng(seed)
        labels = np.array(self.labels)
        held: list[int] = []
        for value in sorted(set(self.labels)):
            members = rng.permutation(np.flatnonzero(labels == value))
            held.extend(members[: max(1, round(fraction * len(members)))].tolist())
        mask = np.zeros(len(labels), dtype=bool)
        mask[held] = True
        return self.subset(np.flatnonzero(~mask)), self.subset(np.flatnonzero(mask))


@dataclass
class ClassificationReport:
    """Accuracy, macro-F1, per-class figures and the confusion matrix (rows: true labels)."""

    labels: list[str]
    accuracy: float
    macro_f1: float
    precision: list[float]
    recall: list[float]
    f1: list[float]
    support: list[int]
    confusion: list[list[int]]

    @classmethod
    def compute(cls, labels: list[str], truth: Sequence[int], predicted: Sequence[int]) -> Any:
        k = len(labels)
        cm = np.zeros((k, k), dtype=np.int64)
        np.add.at(cm, (np.asarray(truth), np.asarray(predicted)), 1)
        tp = np.diag(cm).astype(np.float64)
        precision = np.divide(tp, cm.sum(0), out=np.zeros(k), where=cm.sum(0) > 0)
        recall = np.divide(tp, cm.sum(1), out=np.zeros(k), where=cm.sum(1) > 0)
        denom = precision + recall
        f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
        return cls(
            labels=labels,
            accuracy=float(tp.sum() / max(1, cm.sum())),
            macro_f1=float(f1.mean()),
            precision=precision.tolist(),
            recall=recall.tolist(),
            f1=f1.tolist(),
            support=cm.sum(1).tolist(),
            confusion=cm.tolist(),
        )

    def save(self, folder: Path) -> None:
        with atomic_file(folder / "report.json") as f:
            f.write(json.dumps(self.__dict__, indent=1).encode())
        try:
            from ..optional import pyplot

            plt = pyplot()
        except ImportError as e:
            logger.warning("confusion.png skipped: %s", e)
            return
        cm = np.array(self.confusion)
        size = 2.5 + 0.45 * len(self.labels)
        fig, ax = plt.subplots(figsize=(size, size))
        ax.imshow(cm, cmap="Blues")
        ax.set_xticks(range(len(self.labels)), self.labels, rotation=45, ha="right")
        ax.set_yticks(range(len(self.labels)), self.labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"accuracy {self.accuracy:.3f}, macro-F1 {self.macro_f1:.3f}")
        for (i, j), n in np.ndenumerate(cm):
            colour = "white" if n > cm.max() / 2 else "black"
            ax.text(j, i, str(n), ha="center", va="center", color=colour, fontsize=8)
        fig.tight_layout()
        with atomic_file(folder / "confusion.png") as f:
            fig.savefig(f, format="png", dpi=110)
        plt.close(fig)


def _encode(
    tokenizer: Any, data: LabeledTexts, max_length: int
) -> list[tuple[list[int], list[int]]]:
    """Token ids and token-type ids of every example (pairs joined by the tokenizer's template)."""
    enc = tokenizer(
        data.texts,
        data.pairs,
        truncation=True,
        max_length=max_length,
        return_attention_mask=False,
        return_token_type_ids=True,
        verbose=False,
    )
    types = enc.get("token_type_ids") or [[0] * len(x) for x in enc["input_ids"]]
    return list(zip(enc["input_ids"], types, strict=True))


def _collate(rows: list[tuple[list[int], list[int]]], pad: int, device: str) -> dict[str, Any]:
    import torch

    ids, mask = pad_ids([x for x, _ in rows], pad)
    types, _ = pad_ids([t for _, t in rows], 0)
    tensors = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {k: torch.from_numpy(v).to(device) for k, v in tensors.items()}


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
        self.rows = _encode(tokenizer, train_set, max_length)
        self.y = np.array([index[x] for x in train_set.labels], dtype=np.int64)
        self.valid = valid_set
        self.valid_rows = None if valid_set is None else _encode(tokenizer, valid_set, max_length)
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
            inputs = _collate([self.rows[i] for i in batch], self.pad, self.device)
            yield inputs, torch.tensor(self.y[batch], device=self.device)

    def loss(self, batch: Any) -> Any:
        import torch

        inputs, labels = batch
        if not self.takes_types:
            inputs = {k: v for k, v in inputs.items() if k != "token_type_ids"}
        logits = self.model(**inputs).logits
        return torch.nn.functional.cross_entropy(logits.float(), labels, weight=self.weights)

    def predict(self, rows: list[tuple[list[int], list[int]]]) -> npt.NDArray[np.float32]:
        return _probabilities(self.model, rows, self.pad, self.device, self.takes_types, 64)

    def evaluate(self) -> dict[str, float]:
        if self.valid_rows is None or self.valid_y is None:
            return {}
        predicted = self.predict(self.valid_rows).argmax(1)
        r = ClassificationReport.compute(self.label_names, self.valid_y, predicted.tolist())
        return {"accuracy": r.accuracy, "macro_f1": r.macro_f1}

    def save(self, folder: Path) -> None:
        self.model.save_pretrained(str(folder), safe_serialization=True)
        self.tokenizer.save_pretrained(str(folder))


def _probabilities(
    model: Any,
    rows: list[tuple[list[int], list[int]]],
    pad: int,
    device: str,
    takes_types: bool,
    batch_size: int,
) -> npt.NDArray[np.float32]:
    import torch

    out: npt.NDArray[np.float32] | None = None
    with torch.inference_mode():
        for batch in length_sorted_batches([len(r[0]) for r in rows], batch_size):
            inputs = _collate([rows[i] for i in batch], pad, device)
            if not takes_types:
                inputs.pop("token_type_ids")
            probs = torch.softmax(model(**inputs).logits.float(), dim=-1).cpu().numpy()
            if out is None:
                out = np.zeros((len(rows), probs.shape[1]), dtype=np.float32)
            out[batch] = probs
    assert out is not None
    return out


def unknown_words(
    tokenizer: Any, texts: Sequence[str], limit: int, *, min_count: int = 2
) -> list[str]:
    """The ``limit`` most frequent words (pre-tokenizer units, at least ``min_count`` times) of
    ``texts`` that ``tokenizer`` spells as nothing but its unknown token."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    unk = getattr(tokenizer, "unk_token_id", None)
    if backend is None or unk is None or backend.pre_tokenizer is None:
        raise ParameterError("extend_vocab needs a fast tokenizer with an unknown token")
    counts: Counter[str] = Counter()
    for text in texts:
        norm = backend.normalizer.normalize_str(text) if backend.normalizer else text
        counts.update(word for word, _ in backend.pre_tokenizer.pre_tokenize_str(norm))
    found: list[str] = []
    for word, n in counts.most_common():
        if n < min_count or len(found) >= limit:
            break
        if all(t.id == unk for t in backend.model.tokenize(word)):
            found.append(word)
    return found


def _extend_vocab(tokenizer: Any, net: Any, texts: Sequence[str], limit: int) -> int:
    """Add ``unknown_words`` to ``tokenizer`` and rows for them (copies of ``[UNK]``'s) to ``net``."""
    import torch

    words = unknown_words(tokenizer, texts, limit)
    added = int(tokenizer.add_tokens(words))
    if added:
        old = net.get_input_embeddings().weight.shape[0]
        net.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        with torch.no_grad():
            table = net.get_input_embeddings().weight
            table[old:] = table[tokenizer.unk_token_id]
    logger.info("extend_vocab: added %d tokens unknown to the tokenizer", added)
    return added


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
        _extend_vocab(tokenizer, net, texts, extend_vocab)
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


class TextClassifier:
    """A fine-tuned classifier folder: ``predict`` labels, ``predict_proba`` probabilities."""

    def __init__(self, model: Any, tokenizer: Any, *, device: str, max_length: int) -> None:
        self.model, self.tokenizer, self.device, self.max_length = (
            model,
            tokenizer,
            device,
            max_length,
        )
        config = model.config
        self.labels = [str(config.id2label[i]) for i in range(config.num_labels)]
        self._types = "token_type_ids" in model.forward.__code__.co_varnames

    @classmethod
    def load(
        cls,
        folder: str | os.PathLike[str],
        *,
        device: str = "auto",
        threads: int | None = None,
        max_length: int = 512,
    ) -> TextClassifier:
        from ..optional import import_torch

        torch = import_torch()
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(folder)
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"no classifier folder (config.json) at {path}")
        if read_json(path / "config.json").get("id2label") is None:
            raise FormatError(path / "config.json", "no id2label: not a classifier folder")
        if threads is not None:
            torch.set_num_threads(threads)
        dev = resolve_device(device)
        model = AutoModelForSequenceClassification.from_pretrained(str(path), use_safetensors=True)
        tok = AutoTokenizer.from_pretrained(str(path))
        limit = min(max_length, int(getattr(tok, "model_max_length", max_length) or max_length))
        return cls(model.to(dev).eval(), tok, device=dev, max_length=limit)

    def predict_proba(
        self, texts: Sequence[str], pairs: Sequence[str] | None = None, *, batch_size: int = 64
    ) -> npt.NDArray[np.float32]:
        """Class probabilities, ``(n, len(labels))``, columns in ``labels`` order."""
        data = LabeledTexts(list(texts), ["?"] * len(texts), None if pairs is None else list(pairs))
        rows = _encode(self.tokenizer, data, self.max_length)
        pad = int(self.tokenizer.pad_token_id or 0)
        return _probabilities(self.model, rows, pad, self.device, self._types, batch_size)

    def predict(
        self, texts: Sequence[str], pairs: Sequence[str] | None = None, *, batch_size: int = 64
    ) -> list[str]:
        probs = self.predict_proba(texts, pairs, batch_size=batch_size)
        return [self.labels[i] for i in probs.argmax(1)]

    def evaluate(self, data: LabeledTexts) -> ClassificationReport:
        index = {name: i for i, name in enumerate(self.labels)}
        unknown = sorted(set(data.labels) - set(index))
        if unknown:
            raise ParameterError(f"labels {unknown} are not among the model's {self.labels}")
        predicted = self.predict_proba(data.texts, data.pairs).argmax(1)
        truth = [index[x] for x in data.labels]
        report: ClassificationReport = ClassificationReport.compute(
            self.labels, truth, predicted.tolist()
        )
        return report
