"""FAQ answering: match a user's question to the best answer, or say there is no confident one.

An FAQ is a set of answers, each with one or more known phrasings of its question. ``FAQ.build``
stores every phrasing in a persistent :class:`~embedlab.search.Collection` (dense vectors + BM25,
the answer id in its metadata). ``ask`` ranks answers by fusing the dense ranking and the BM25
ranking of their phrasings (an answer ranks at its best phrasing; min-max scaled scores weighted
0.8 / 0.2 by default, see ``ask``); each answer's score, and the confidence, is the cosine between
the question and its closest phrasing.
Below the calibrated ``threshold`` it answers "no confident answer". ``calibrate`` sets that
threshold on held-out phrasings with known answers: the lowest threshold whose precision among
answered questions reaches the target, and reports precision and coverage along the way. Chinese
FAQs work: BM25 segments with jieba and the encoder sees the text as is. This module does not
serve HTTP (:mod:`embedlab.server` does).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import FormatError, ParameterError, check_choice
from ..files import atomic_file, read_json
from ..search import Collection, Hits, weighted

logger = logging.getLogger(__name__)

__all__ = ["FAQ", "Answer", "Calibration", "FAQResult"]

CONFIG = "faq.json"


@dataclass(frozen=True)
class Answer:
    id: str
    text: str
    score: float
    matched_question: str


@dataclass(frozen=True)
class FAQResult:
    """The ranked answers; ``answered`` is False when the best is below the threshold."""

    question: str
    answers: list[Answer]
    confidence: float
    answered: bool

    @property
    def best(self) -> Answer | None:
        return self.answers[0] if self.answered and self.answers else None


@dataclass(frozen=True)
class Calibration:
    threshold: float
    target_precision: float
    precision: float
    coverage: float
    accuracy_at_1: float
    curve: list[tuple[float, float, float]] = field(default_factory=list)  # threshold, prec, cov


class FAQ:
    """An answer bank over a :class:`Collection` of question phrasings."""

    def __init__(self, folder: Path, collection: Collection, config: dict[str, Any]) -> None:
        self.folder = folder
        self.collection = collection
        self.answers: dict[str, str] = dict(config["answers"])
        self.threshold: float = float(config.get("threshold", 0.0))
        self.calibration: dict[str, Any] | None = config.get("calibration")

    @classmethod
    def build(
        cls,
        folder: str | os.PathLike[str],
        encoder: Any,
        questions: Sequence[str],
        answers: Sequence[str],
        *,
        answer_ids: Sequence[str] | None = None,
        source: str | None = None,
    ) -> FAQ:
        """One row per phrasing: ``questions[i]`` is answered by ``answers[i]`` (same answer text,
        or the same ``answer_ids[i]``, groups phrasings)."""
        if len(questions) != len(answers) or (
            answer_ids is not None and len(answer_ids) != len(answers)
        ):
            raise ParameterError("questions, answers and answer_ids must have the same length")
        if not questions:
            raise ParameterError("an FAQ needs at least one question")
        ids: list[str] = []
        bank: dict[str, str] = {}
        by_text: dict[str, str] = {}
        for n, ans in enumerate(answers):
            if answer_ids is not None:
                aid = str(answer_ids[n])
            else:
                aid = by_text.setdefault(ans, f"a{len(by_text)}")
            if bank.setdefault(aid, ans) != ans and answer_ids is not None:
                raise ParameterError(f"answer id {aid!r} has two different answer texts")
            ids.append(aid)
        root = Path(folder)
        collection = Collection.create(root / "questions", encoder, index="exact", source=source)
        collection.add(
            [f"q{n}" for n in range(len(questions))], list(questions), [{"answer": a} for a in ids]
        )
        config = {"format_version": 1, "answers": bank, "threshold": 0.0, "calibration": None}
        faq = cls(root, collection, config)
        faq._save()
        return faq

    @classmethod
    def open(cls, folder: str | os.PathLike[str], encoder: Any) -> FAQ:
        root = Path(folder)
        path = root / CONFIG
        if not path.exists():
            raise FormatError(root, f"not an FAQ folder: {CONFIG} is missing")
        config = read_json(path)
        return cls(root, Collection.open(root / "questions", encoder), config)

    @staticmethod
    def recorded_source(folder: str | os.PathLike[str]) -> str | None:
        return Collection.recorded_source(Path(folder) / "questions")

    def _save(self) -> None:
        config = {
            "format_version": 1,
            "answers": self.answers,
            "threshold": self.threshold,
            "calibration": self.calibration,
        }
        with atomic_file(self.folder / CONFIG) as f:
            f.write(json.dumps(config, ensure_ascii=False, indent=1).encode("utf-8"))

    def __len__(self) -> int:
        return len(self.answers)

    # -- asking ---------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        k: int = 3,
        *,
        threshold: float | None = None,
        mode: Literal["hybrid", "dense", "sparse"] = "hybrid",
        dense_weight: float = 0.8,
    ) -> FAQResult:
        """The ``k`` best answers and whether the best is confident enough to give.

        ``mode``: answers ranked by a weighted sum of the min-max scaled embedding and BM25 scores
        (``hybrid``, ``dense_weight`` for the embedding side), or by one of them alone; confidence
        is always the cosine of the best phrasing. The 0.8 weight was picked on StackFAQ's
        calibration phrasings: equal-weight reciprocal-rank fusion ranked 5 points below MiniLM
        alone there (BM25 is far weaker on rephrasings), 0.8 / 0.2 ranks as well as MiniLM.
        """
        if not 0.0 <= dense_weight <= 1.0:
            raise ParameterError(f"dense_weight must be in [0, 1]; got {dense_weight}")
        check_choice("mode", "FAQ.ask", mode, ("hybrid", "dense", "sparse"))
        limit = self.threshold if threshold is None else threshold
        pool = max(20, 5 * k)
        dense = self.collection.search(question, pool, mode="dense")
        sparse = self.collection.search(question, pool, mode="sparse")
        best_cos: dict[str, tuple[float, str]] = {}
        for doc in dense:
            aid = doc.metadata["answer"]
            if aid not in best_cos or doc.score > best_cos[aid][0]:
                best_cos[aid] = (doc.score, doc.text)
        dense_rank, sparse_rank = _by_answer(dense), _by_answer(sparse)
        if mode == "hybrid":
            fused = weighted([dense_rank, sparse_rank], [dense_weight, 1.0 - dense_weight], top=k)
            ranked = list(fused.ids)
        else:
            ranked = list((dense_rank if mode == "dense" else sparse_rank).ids[:k])
        answers = []
        for aid in ranked:  # ordered by fusion, scored by the cosine of the best phrasing
            cos, text = best_cos.get(aid, (0.0, ""))
            answers.append(Answer(aid, self.answers[aid], float(cos), text))
        confidence = best_cos.get(answers[0].id, (0.0, ""))[0] if answers else 0.0
        return FAQResult(
            question, answers, float(confidence), bool(answers) and confidence >= limit
        )

    # -- calibration and evaluation -------------------------------------------------------------
    def calibrate(
        self, questions: Sequence[str], answer_ids: Sequence[str], *, target_precision: float = 0.9
    ) -> Calibration:
        """Set ``threshold`` from held-out phrasings with known answers; saved with the FAQ."""
        if not 0 < target_precision <= 1:
            raise ParameterError(f"target_precision must be in (0, 1]; got {target_precision}")
        unknown = sorted({str(a) for a in answer_ids} - set(self.answers) - {""})
        if unknown:
            raise ParameterError(f"answer ids not in this FAQ: {unknown[:5]}")
        results = [self.ask(q, 1, threshold=-np.inf) for q in questions]
        conf = np.array([r.confidence for r in results])
        correct = np.array(
            [bool(r.answers) and r.answers[0].id == str(a) for r, a in zip(results, answer_ids)]
        )
        order = np.argsort(-conf, kind="stable")
        hits = np.cumsum(correct[order])
        answered = np.arange(1, len(order) + 1)
        precision = hits / answered
        coverage = answered / len(order)
        ok = np.flatnonzero(precision >= target_precision)
        pick = int(ok.max()) if len(ok) else 0
        threshold = float(conf[order][pick]) if len(ok) else float(conf.max() + 1e-6)
        curve = [
            (float(conf[order][i]), float(precision[i]), float(coverage[i]))
            for i in np.unique(np.linspace(0, len(order) - 1, 21).astype(int))
        ]
        cal = Calibration(
            threshold=threshold,
            target_precision=target_precision,
            precision=float(precision[pick]) if len(ok) else 1.0,
            coverage=float(coverage[pick]) if len(ok) else 0.0,
            accuracy_at_1=float(correct.mean()),
            curve=curve,
        )
        self.threshold = threshold
        self.calibration = {
            "threshold": threshold,
            "target_precision": target_precision,
            "precision": cal.precision,
            "coverage": cal.coverage,
            "accuracy_at_1": cal.accuracy_at_1,
            "held_out": len(questions),
        }
        self._save()
        return cal

    def evaluate(
        self,
        questions: Sequence[str],
        answer_ids: Sequence[str],
        *,
        k: int = 10,
        mode: Literal["hybrid", "dense", "sparse"] = "hybrid",
    ) -> dict[str, float]:
        """accuracy@1 and MRR@k over in-scope questions (a known answer id), precision and
        coverage at the current threshold over all, and how often out-of-scope ones (id "")
        were answered anyway."""
        results = [self.ask(q, k, mode=mode) for q in questions]
        targets = [str(t) for t in answer_ids]
        ranks = [
            next((i for i, a in enumerate(r.answers) if a.id == t), None)
            for r, t in zip(results, targets)
        ]
        scope = [t != "" for t in targets]
        in_scope = [rank for rank, s in zip(ranks, scope) if s]
        answered = [r.answered for r in results]
        right = [r.answered and rank == 0 for r, rank in zip(results, ranks)]
        n_answered = sum(answered)
        out = [a for a, s in zip(answered, scope) if not s]
        return {
            "questions": float(len(results)),
            "in_scope": float(len(in_scope)),
            "accuracy_at_1": float(np.mean([r == 0 for r in in_scope])) if in_scope else 0.0,
            f"mrr_at_{k}": float(np.mean([0.0 if r is None else 1 / (r + 1) for r in in_scope]))
            if in_scope
            else 0.0,
            "coverage": n_answered / len(results),
            "precision": (sum(right) / n_answered) if n_answered else 1.0,
            "out_of_scope_answered": float(np.mean(out)) if out else 0.0,
            "threshold": self.threshold,
        }


def _by_answer(docs: Sequence[Any]) -> Hits:
    """Phrasing hits -> answer ranking (each answer at its best phrasing's rank)."""
    seen: dict[str, float] = {}
    for doc in docs:
        seen.setdefault(doc.metadata["answer"], doc.score)
    return Hits(list(seen), np.array(list(seen.values()), dtype=np.float32))
