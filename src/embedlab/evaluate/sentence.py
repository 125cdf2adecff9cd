"""Pairwise sentence tasks scored by cosine: STS, pair classification, document similarity.

Each takes row-aligned unit vectors (the runner encodes and normalizes) and gold labels:

- ``sts_scores``: Spearman and Pearson of cos(a_i, b_i) against gold scores (any scale: 0-5, 0-1).
- ``pair_scores``: duplicate / paraphrase pairs with 0/1 labels: the best accuracy over thresholds
  on the cosine, the best F1 (with its precision and recall) and average precision, as MTEB and
  sentence-transformers' BinaryClassificationEvaluator compute them.
- ``docsim_scores``: a document x document human similarity matrix (the Lee corpus) against the
  cosine matrix: Pearson (and Spearman) over the upper triangle, as gensim's Lee evaluation.

Results are small dataclasses with a ``main`` figure. This module does not encode text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import pearsonr, spearmanr

from ..errors import ParameterError

logger = logging.getLogger(__name__)

__all__ = ["DocSimResult", "PairResult", "STSResult", "docsim_scores", "pair_scores", "sts_scores"]

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class STSResult:
    spearman: float
    pearson: float
    pairs: int

    @property
    def main(self) -> float:
        return self.spearman


@dataclass(frozen=True)
class PairResult:
    accuracy: float
    accuracy_threshold: float
    f1: float
    precision: float
    recall: float
    f1_threshold: float
    average_precision: float
    pairs: int

    @property
    def main(self) -> float:
        return self.average_precision


@dataclass(frozen=True)
class DocSimResult:
    pearson: float
    spearman: float
    documents: int

    @property
    def main(self) -> float:
        return self.pearson


def _cosines(a: Matrix, b: Matrix) -> npt.NDArray[np.float64]:
    if a.shape != b.shape:
        raise ParameterError(f"the two sides differ in shape: {a.shape} vs {b.shape}")
    return np.asarray(np.einsum("ij,ij->i", a.astype(np.float64), b.astype(np.float64)))


def sts_scores(a: Matrix, b: Matrix, gold: npt.ArrayLike) -> STSResult:
    """Correlations of row-wise cosine (rows of unit length) with the gold scores."""
    g = np.asarray(gold, dtype=np.float64)
    cos = _cosines(a, b)
    if len(g) != len(cos) or len(g) < 2:
        raise ParameterError(f"need >= 2 pairs with one gold score each; got {len(cos)}, {len(g)}")
    return STSResult(
        spearman=float(spearmanr(cos, g).statistic),
        pearson=float(pearsonr(cos, g).statistic),
        pairs=len(g),
    )


def pair_scores(a: Matrix, b: Matrix, labels: npt.ArrayLike) -> PairResult:
    """Threshold-free and best-threshold scores of cosine for 0/1 duplicate labels."""
    y = np.asarray(labels, dtype=np.float64)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ParameterError("pair labels must be 0 or 1")
    cos = _cosines(a, b)
    order = np.argsort(-cos, kind="stable")
    s, t = cos[order], y[order]
    n, positives = len(t), float(t.sum())
    tp = np.cumsum(t)  # predicting "duplicate" for the top k+1
    fp = np.cumsum(1 - t)
    last = np.r_[s[1:] != s[:-1], True]  # thresholds only between distinct scores
    # accuracy when the top k are called positive, k = 0 .. n
    correct = np.r_[n - positives, (tp + (n - positives - fp))[last]]
    cuts = np.r_[np.inf, s[last]]
    best = int(np.argmax(correct))
    acc_threshold = _midpoint(cuts, best, s)
    precision = np.divide(tp, tp + fp)[last]
    recall = (tp / positives)[last] if positives else np.zeros(int(last.sum()))
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros_like(precision),
        where=(precision + recall) > 0,
    )
    k = int(np.argmax(f1)) if len(f1) else 0
    # average precision as scikit-learn: precision at each distinct threshold x recall gained there
    gained = np.diff(np.r_[0.0, tp[last]])
    ap = float(np.sum(precision * gained) / positives) if positives else 0.0
    return PairResult(
        accuracy=float(correct[best] / n),
        accuracy_threshold=acc_threshold,
        f1=float(f1[k]) if len(f1) else 0.0,
        precision=float(precision[k]) if len(f1) else 0.0,
        recall=float(recall[k]) if len(f1) else 0.0,
        f1_threshold=float(s[last][k]) if len(f1) else 0.0,
        average_precision=ap,
        pairs=n,
    )


def _midpoint(cuts: npt.NDArray[np.float64], best: int, s: npt.NDArray[np.float64]) -> float:
    """A threshold between the last score called positive and the next one."""
    if best == 0:
        return float(s[0] + 1e-6)
    below = s[s < cuts[best]]
    return float((cuts[best] + below[0]) / 2) if len(below) else float(cuts[best] - 1e-6)


def docsim_scores(vectors: Matrix, human: npt.ArrayLike) -> DocSimResult:
    """Cosine matrix of the documents against a human similarity matrix, upper triangle."""
    h = np.asarray(human, dtype=np.float64)
    n = len(vectors)
    if h.shape != (n, n):
        raise ParameterError(f"the human matrix is {h.shape}; expected ({n}, {n})")
    v = vectors.astype(np.float64)
    sims = v @ v.T
    iu = np.triu_indices(n, k=1)
    return DocSimResult(
        pearson=float(pearsonr(sims[iu], h[iu]).statistic),
        spearman=float(spearmanr(sims[iu], h[iu]).statistic),
        documents=n,
    )
