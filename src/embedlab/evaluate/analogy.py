"""Word analogy: ``a : b :: c : ?`` answered by 3CosAdd or 3CosMul, per section and in total.

Matches gensim's ``evaluate_word_analogies`` (case folding, ``restrict_vocab`` on both the question
words and the answers, questions with an unknown word skipped, the three question words never count
as the answer) but scores questions in batches through BLAS instead of one at a time.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import check_choice
from ..vectors import Vectors
from ._vocab_view import evaluation_vocab, fold
from .datasets import AnalogySet, load_analogies

logger = logging.getLogger(__name__)

__all__ = ["AnalogyResult", "SectionScore", "word_analogy"]

_TOPN = 5  # gensim looks at the 5 best answers and takes the first that is not a question word
_BATCH = 512


@dataclass(frozen=True)
class SectionScore:
    section: str
    correct: int
    evaluated: int
    questions: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.evaluated if self.evaluated else 0.0


@dataclass(frozen=True)
class AnalogyResult:
    """Accuracy over the questions whose four words are known (OOV ones are counted, not scored)."""

    dataset: str
    method: str
    accuracy: float
    correct: int
    evaluated: int
    questions: int
    restrict_vocab: int | None
    sections: list[SectionScore] = field(default_factory=list)
    oov_policy: str = "questions with an out-of-vocabulary word are skipped"

    @property
    def oov_questions(self) -> int:
        return self.questions - self.evaluated

    @property
    def main(self) -> float:
        return self.accuracy


def _queries(vectors: Vectors, rows: npt.NDArray[np.int64], method: str) -> npt.NDArray[np.float32]:
    """Per question: 3CosMul keeps the unit a, b, c; 3CosAdd the unit mean of (b, c, -a), all in
    float32 and in gensim's order of operations."""
    norms = vectors.norms[rows]  # (m, 3)
    unit = (vectors.vectors[rows] / np.where(norms > 0, norms, 1)[..., None]).astype(np.float32)
    if method == "3cosmul":
        return unit
    mean = np.stack([unit[:, 1], unit[:, 2], -unit[:, 0]], axis=1).mean(axis=1)
    length = np.sqrt(np.sum(mean * mean, axis=1, keepdims=True))
    out: npt.NDArray[np.float32] = (mean / np.where(length > 0, length, 1)).astype(np.float32)
    return out


def _best(
    vectors: Vectors, rows: npt.NDArray[np.int64], limit: int, method: str
) -> npt.NDArray[np.int64]:
    """The top answers (row ids, best first) for a batch of questions, question words excluded."""
    norms = vectors.norms[:limit]
    safe = np.where(norms > 0, norms, np.float32(1))
    q = _queries(vectors, rows, method)
    matrix = vectors.vectors[:limit]
    if method == "3cosadd":
        scores = (q @ matrix.T) / safe
    else:
        cos = [((1 + (q[:, j] @ matrix.T) / safe) / 2) for j in range(3)]
        scores = cos[1] * cos[2] / (cos[0] + 1e-6)
    for j in range(3):  # the question words are never the answer
        scores[np.arange(len(rows)), rows[:, j]] = -np.inf
    k = min(_TOPN, limit)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def word_analogy(
    vectors: Vectors,
    dataset: str | os.PathLike[str] | AnalogySet = "google",
    *,
    method: Literal["3cosadd", "3cosmul"] = "3cosadd",
    restrict_vocab: int | None = 300_000,
    case_insensitive: bool = True,
    show_progress: bool | None = None,
) -> AnalogyResult:
    """Evaluate ``vectors`` on an analogy set (a built-in name, a path, or `AnalogySet`)."""
    method = check_choice("method", "word_analogy", method, ("3cosadd", "3cosmul"))  # type: ignore[assignment]
    data = dataset if isinstance(dataset, AnalogySet) else load_analogies(dataset)
    vocab, limit = evaluation_vocab(vectors, restrict_vocab, case_insensitive)
    folded_keys = [fold(k, case_insensitive) for k in vectors.index_to_key[:limit]]
    known: list[tuple[int, tuple[str, ...], list[int]]] = []  # (section, folded words, rows)
    for s, (_, questions) in enumerate(data.sections):
        for q in questions:
            words = tuple(fold(w, case_insensitive) for w in q)
            rows = [vocab.get(w) for w in words]
            if all(r is not None for r in rows):
                known.append((s, words, rows))  # type: ignore[arg-type]
    correct = np.zeros(len(data.sections), dtype=np.int64)
    evaluated = np.zeros(len(data.sections), dtype=np.int64)
    with progress(
        total=len(known), desc=f"analogies ({data.name})", unit="q", enabled=show_progress
    ) as bar:
        for start in range(0, len(known), _BATCH):
            batch = known[start : start + _BATCH]
            question_rows = np.array([r[:3] for _, _, r in batch], dtype=np.int64).reshape(-1, 3)
            best = _best(vectors, question_rows, limit, method)
            for (s, words, _), answers in zip(batch, best.tolist()):
                predicted = None
                for i in answers:
                    predicted = folded_keys[i]
                    if predicted not in words[:3]:
                        break
                evaluated[s] += 1
                correct[s] += predicted == words[3]
            bar.update(len(batch))
    sections = [
        SectionScore(name, int(correct[s]), int(evaluated[s]), len(q))
        for s, (name, q) in enumerate(data.sections)
    ]
    total_correct, total_eval = int(correct.sum()), int(evaluated.sum())
    accuracy = total_correct / total_eval if total_eval else 0.0
    logger.info("%s (%s): %.4f (%d/%d)", data.name, method, accuracy, total_correct, total_eval)
    return AnalogyResult(
        data.name, method, accuracy, total_correct, total_eval, len(data), restrict_vocab, sections
    )
