"""Tasks that learn on top of frozen embeddings: a linear probe, and k-means clustering.

``probe_scores`` fits scikit-learn's logistic regression on the training embeddings and scores the
test ones (accuracy, macro-F1); without a test split it runs stratified k-fold (default 5) and
averages. ``cluster_scores`` runs k-means with as many clusters as labels and reports the
V-measure against them (mean over a few seeds, as MTEB). scikit-learn is imported here only
(``pip install 'embedlab[viz]'``). This module does not encode text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError
from ..optional import require

logger = logging.getLogger(__name__)

__all__ = ["ClassificationResult", "ClusteringResult", "cluster_scores", "probe_scores"]

Matrix = npt.NDArray[np.float32]


def _sklearn() -> Any:
    return require("sklearn", "viz", "classification and clustering tasks")


@dataclass(frozen=True)
class ClassificationResult:
    accuracy: float
    macro_f1: float
    train: int
    test: int
    folds: int

    @property
    def main(self) -> float:
        return self.accuracy


@dataclass(frozen=True)
class ClusteringResult:
    v_measure: float
    clusters: int
    items: int

    @property
    def main(self) -> float:
        return self.v_measure


def _fit_score(
    x_train: Matrix, y_train: Sequence[Any], x_test: Matrix, y_test: Sequence[Any], seed: int
) -> tuple[float, float]:
    _sklearn()
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    model = LogisticRegression(max_iter=1000, random_state=seed)
    model.fit(x_train, list(y_train))
    pred = model.predict(x_test)
    return (
        float(accuracy_score(list(y_test), pred)),
        float(f1_score(list(y_test), pred, average="macro")),
    )


def probe_scores(
    x: Matrix,
    y: Sequence[Any],
    *,
    x_test: Matrix | None = None,
    y_test: Sequence[Any] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> ClassificationResult:
    """Logistic-regression probe: on the given split, or stratified ``folds``-fold on ``x``."""
    if len(x) != len(y):
        raise ParameterError(f"{len(x)} embeddings but {len(y)} labels")
    if len(set(y)) < 2:
        raise ParameterError("classification needs at least two labels")
    if x_test is not None and y_test is not None:
        acc, f1 = _fit_score(x, y, x_test, y_test, seed)
        return ClassificationResult(acc, f1, train=len(x), test=len(x_test), folds=1)
    _sklearn()
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(list(y), dtype=object)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = [
        _fit_score(x[tr], labels[tr], x[te], labels[te], seed)
        for tr, te in splitter.split(x, labels.astype(str))
    ]
    acc, f1 = np.mean(scores, axis=0)
    return ClassificationResult(
        float(acc),
        float(f1),
        train=len(x) * (folds - 1) // folds,
        test=len(x) // folds,
        folds=folds,
    )


def cluster_scores(x: Matrix, labels: Sequence[Any], *, seeds: int = 3) -> ClusteringResult:
    """k-means with one cluster per distinct label; V-measure averaged over ``seeds`` runs."""
    if len(x) != len(labels):
        raise ParameterError(f"{len(x)} embeddings but {len(labels)} labels")
    k = len(set(labels))
    if k < 2:
        raise ParameterError("clustering needs at least two labels")
    _sklearn()
    from sklearn.cluster import KMeans
    from sklearn.metrics import v_measure_score

    values = []
    for seed in range(seeds):
        pred = KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(x)
        values.append(v_measure_score(list(labels), pred))
    return ClusteringResult(float(np.mean(values)), clusters=k, items=len(x))
