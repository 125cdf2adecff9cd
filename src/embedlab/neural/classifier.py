"""Predicting with a fine-tuned classifier folder: :class:`TextClassifier`.

``TextClassifier.load("clf/model")`` opens a standard transformers classifier folder (``id2label``
in its config, safetensors weights, the tokenizer); ``predict`` gives labels, ``predict_proba``
probabilities (batched by length), ``evaluate`` a :class:`ClassificationReport`. This module does
not train.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..encoders.base import length_sorted_batches
from ..errors import FormatError, ParameterError
from ..files import read_json
from .labeled import LabeledTexts, collate, encode_rows
from .metrics import ClassificationReport
from .training import resolve_device

logger = logging.getLogger(__name__)

__all__ = ["TextClassifier", "probabilities"]


def probabilities(
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
            inputs = collate([rows[i] for i in batch], pad, device)
            if not takes_types:
                inputs.pop("token_type_ids")
            probs = torch.softmax(model(**inputs).logits.float(), dim=-1).cpu().numpy()
            if out is None:
                out = np.zeros((len(rows), probs.shape[1]), dtype=np.float32)
            out[batch] = probs
    assert out is not None
    return out


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
        rows = encode_rows(self.tokenizer, data, self.max_length)
        pad = int(self.tokenizer.pad_token_id or 0)
        return probabilities(self.model, rows, pad, self.device, self._types, batch_size)

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
