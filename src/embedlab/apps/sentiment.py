"""What the monitor reads off a text: its sentiment, and the entities it names.

``SentimentProbe.fit(encoder, texts, labels)`` is the fast classifier: a logistic regression on a
sentence encoder's vectors (seconds to train); its score of a text is the expected value of the
label (bearish -1, neutral 0, bullish +1 by default). ``ZeroShotSentiment(encoder)`` needs no
training: it compares each text with a description of each label. Both take unit vectors and
return labels and scores, so :class:`embedlab.apps.monitor.Monitor` takes either.
``FineTunedSentiment.load(folder)`` wraps a classifier fine-tuned end to end (``embedlab
finetune classify``): the most accurate and the slowest; it reads the texts themselves.
Entities are ``$TICKER`` cash-tags and the names of a user list
(:class:`EntityList`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import FormatError, ParameterError
from ..files import atomic_file, read_json
from ..optional import require

__all__ = [
    "DEFAULT_VALUES",
    "EntityList",
    "FineTunedSentiment",
    "SentimentProbe",
    "ZeroShotSentiment",
]

DEFAULT_VALUES = {
    "bearish": -1.0,
    "negative": -1.0,
    "neutral": 0.0,
    "bullish": 1.0,
    "positive": 1.0,
}


class SentimentProbe:
    """Logistic regression on frozen sentence vectors; ``score`` = expected label value."""

    def __init__(
        self, values: Mapping[str, float] | None = None, c: float = 1.0, encoder: str | None = None
    ) -> None:
        self.values = dict(values or DEFAULT_VALUES)
        self.c = c
        self.encoder = encoder  # how to load the encoder again (a hub id or folder), if known

    def fit(self, encoder: Any, texts: Sequence[str], labels: Sequence[str]) -> SentimentProbe:
        linear = require("sklearn.linear_model", "viz", "the sentiment probe")
        classes = sorted(set(map(str, labels)))
        unknown = [c for c in classes if c not in self.values]
        if unknown:
            raise ParameterError(f"labels {unknown} have no value; give values={{label: score}}")
        x = np.asarray(encoder.encode(list(texts), normalize=True), dtype=np.float64)
        model = linear.LogisticRegression(C=self.c, max_iter=2000).fit(x, list(map(str, labels)))
        self.labels_ = [str(c) for c in model.classes_]
        self.coef_ = np.asarray(model.coef_, dtype=np.float64)
        self.intercept_ = np.asarray(model.intercept_, dtype=np.float64)
        return self

    def proba(self, vectors: np.ndarray) -> np.ndarray:
        logits = np.asarray(vectors, np.float64) @ self.coef_.T + self.intercept_
        if logits.shape[1] == 1:  # binary: sklearn keeps one column
            logits = np.hstack([-logits, logits]) / 2
        return _softmax(logits)

    def predict(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Labels and scores (expected label value) of unit sentence vectors."""
        return _scored(self.proba(vectors), self.labels_, self.values)

    def save(self, path: str | os.PathLike[str]) -> None:
        data = {"labels": self.labels_, "values": self.values, "coef": self.coef_.tolist(),
                "intercept": self.intercept_.tolist(), "c": self.c, "encoder": self.encoder}  # fmt: skip
        with atomic_file(Path(path)) as f:
            f.write((json.dumps(data) + "\n").encode("utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SentimentProbe:
        data = read_json(Path(path))
        probe = cls(data["values"], data["c"], data.get("encoder"))
        probe.labels_ = list(data["labels"])
        probe.coef_ = np.asarray(data["coef"], np.float64)
        probe.intercept_ = np.asarray(data["intercept"], np.float64)
        return probe


class ZeroShotSentiment:
    """Sentiment without training: each label is described in words, and a text's label
    probabilities are a softmax over its cosines to the descriptions (times ``temperature``);
    the score is the expected label value, as the probe's. Drop-in for :class:`SentimentProbe`."""

    DESCRIPTIONS: ClassVar[dict[str, str]] = {
        "bearish": "the stock falls: losses, downgrade, weak results, lawsuit, cuts",
        "neutral": "company news with no clear effect on the stock price",
        "bullish": "the stock rises: profit, upgrade, strong growth, record results",
    }

    def __init__(
        self,
        encoder: Any,
        descriptions: Mapping[str, str] | None = None,
        values: Mapping[str, float] | None = None,
        temperature: float = 50.0,
    ) -> None:
        self.descriptions = dict(descriptions or self.DESCRIPTIONS)
        self.values = dict(values or DEFAULT_VALUES)
        missing = [k for k in self.descriptions if k not in self.values]
        if missing:
            raise ParameterError(f"labels {missing} have no value; give values={{label: score}}")
        self.labels_ = list(self.descriptions)
        rows = encoder.encode([self.descriptions[k] for k in self.labels_], normalize=True)
        self.label_vectors_ = np.asarray(rows, dtype=np.float64)
        self.temperature = temperature

    def predict(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
        logits = self.temperature * (np.asarray(vectors, np.float64) @ self.label_vectors_.T)
        return _scored(_softmax(logits), self.labels_, self.values)


class FineTunedSentiment:
    """A fine-tuned text classifier as the monitor's classifier: ``predict_texts(texts)`` gives
    labels and scores (the expected label value, as the probe's). ``classifier`` is anything with
    ``labels`` and ``predict_proba(texts)`` (:class:`embedlab.neural.TextClassifier`);
    ``label_names`` maps its labels to sentiment names (``{"0": "bearish", ...}``)."""

    def __init__(
        self,
        classifier: Any,
        *,
        label_names: Mapping[str, str] | None = None,
        values: Mapping[str, float] | None = None,
        batch_size: int = 64,
    ) -> None:
        self.classifier, self.batch_size = classifier, batch_size
        self.values = dict(values or DEFAULT_VALUES)
        names = dict(label_names or {})
        self.labels_ = [names.get(str(c), str(c)) for c in classifier.labels]
        unknown = [c for c in self.labels_ if c not in self.values]
        if unknown:
            raise ParameterError(
                f"the classifier's labels {unknown} have no sentiment value; map them with "
                f"label_names (e.g. {{'0': 'bearish', '1': 'bullish', '2': 'neutral'}})"
            )

    @classmethod
    def load(
        cls, folder: str | os.PathLike[str], *, label_names: Mapping[str, str] | None = None
    ) -> FineTunedSentiment:
        from ..neural.classifier import TextClassifier

        return cls(TextClassifier.load(folder), label_names=label_names)

    def predict_texts(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        p = np.asarray(self.classifier.predict_proba(list(texts), batch_size=self.batch_size))
        return _scored(p, self.labels_, self.values)


def _softmax(logits: np.ndarray) -> np.ndarray:
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def _scored(
    p: np.ndarray, labels: Sequence[str], values: Mapping[str, float]
) -> tuple[list[str], np.ndarray]:
    """The likeliest label of each row of probabilities, and its expected label value."""
    return [labels[int(i)] for i in p.argmax(axis=1)], p @ np.array([values[c] for c in labels])


class EntityList:
    """Entities to track: ``$TICKER`` cash-tags always; names from a list, case-insensitive."""

    def __init__(self, names: Mapping[str, Sequence[str]] | None = None) -> None:
        self.names = {k: list(v) for k, v in (names or {}).items()}
        self._patterns = [
            (key, re.compile(r"(?<!\w)" + re.escape(alias) + r"(?!\w)", re.IGNORECASE))
            for key, aliases in self.names.items()
            for alias in [key, *aliases]
        ]

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> EntityList:
        """A JSON object ``{"AAPL": ["Apple"], ...}`` or lines ``AAPL<TAB>Apple, Apple Inc``."""
        p = Path(path)
        if p.suffix == ".json":
            data = read_json(p)
            if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
                raise FormatError(p, 'expected {"ENTITY": ["alias", ...], ...}')
            return cls(data)
        if p.suffix not in (".txt", ".tsv"):
            raise FormatError(p, "expected an entity list as .json, or .txt/.tsv lines "
                                 "'ENTITY<TAB>alias, alias'")  # fmt: skip
        names: dict[str, list[str]] = {}
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            key, _, aliases = line.partition("\t")
            if not key.strip():
                raise FormatError(p, "expected 'ENTITY<TAB>alias, alias'", line=n)
            names[key.strip()] = [a.strip() for a in aliases.split(",") if a.strip()]
        return cls(names)

    def find(self, text: str) -> list[str]:
        found = {m.upper() for m in re.findall(r"\$([A-Za-z]{1,6})\b", text)}
        found |= {key for key, pattern in self._patterns if pattern.search(text)}
        return sorted(found)
