"""Word similarity: Spearman and Pearson correlation of cosine scores with human judgements.

Follows gensim's ``evaluate_word_pairs`` (case folding, ``restrict_vocab``, pairs with an unknown
word skipped) so numbers agree with it; the result states the OOV policy and counts. Datasets come
from :mod:`.datasets`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import ParameterError
from ..vectors import Vectors
from ._vocab_view import evaluation_vocab, fold
from .datasets import WordPairs, load_word_pairs

logger = logging.getLogger(__name__)

__all__ = ["SimilarityResult", "word_similarity"]


@dataclass(frozen=True)
class SimilarityResult:
    """Correlations on the pairs whose two words are both known."""

    dataset: str
    spearman: float
    pearson: float
    pairs: int
    evaluated: int
    oov_pairs: int
    oov_policy: str = "pairs with an out-of-vocabulary word are skipped"

    @property
    def coverage(self) -> float:
        return self.evaluated / self.pairs if self.pairs else 0.0

    @property
    def main(self) -> float:
        return self.spearman


def word_similarity(
    vectors: Vectors,
    dataset: str | os.PathLike[str] | WordPairs = "ws353",
    *,
    restrict_vocab: int | None = 300_000,
    case_insensitive: bool = True,
) -> SimilarityResult:
    """Evaluate ``vectors`` on a word-similarity set (a built-in name, a path, or `WordPairs`)."""
    data = dataset if isinstance(dataset, WordPairs) else load_word_pairs(dataset)
    vocab, _ = evaluation_vocab(vectors, restrict_vocab, case_insensitive)
    gold: list[float] = []
    model: list[float] = []
    matrix = vectors.vectors
    for (a, b), score in zip(data.pairs, data.scores.tolist()):
        ia, ib = vocab.get(fold(a, case_insensitive)), vocab.get(fold(b, case_insensitive))
        if ia is None or ib is None:
            continue
        va, vb = matrix[ia], matrix[ib]
        na, nb = np.linalg.norm(va), np.linalg.norm(vb)
        cos = float(np.dot(va / na if na else va, vb / nb if nb else vb))
        gold.append(score)
        model.append(cos)
    oov = len(data) - len(gold)
    if len(gold) < 2:
        raise ParameterError(
            f"only {len(gold)} of {len(data)} pairs of {data.name} are in the vocabulary; "
            "cannot compute a correlation"
        )
    spearman = float(stats.spearmanr(gold, model).statistic)
    pearson = float(stats.pearsonr(gold, model).statistic)
    logger.info("%s: spearman %.4f, pearson %.4f, %d OOV pairs", data.name, spearman, pearson, oov)
    return SimilarityResult(data.name, spearman, pearson, len(data), len(gold), oov)
