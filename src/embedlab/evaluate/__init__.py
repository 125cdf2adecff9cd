"""Evaluation of any embedding: word vectors and sentence encoders, side by side, one report.

Word level: ``evaluate_words(vectors).table()`` prints WS-353, SimLex-999 and Google analogy
figures; ``word_similarity`` and ``word_analogy`` run one task. Sentence level:
``evaluate({"minilm": encoder, "w2v": vectors}, ["en"], data_dir=...)`` runs STS, classification
(linear probe), pair classification, retrieval, clustering and document-similarity tasks declared
as data (:class:`TaskSpec`, JSON/YAML files, or the built-in specs of ../shared/data) and returns an
:class:`EvalReport`; ``save_report`` writes JSON, markdown and PNG plots.
"""

from __future__ import annotations

from .analogy import AnalogyResult, SectionScore, word_analogy
from .classification import ClassificationResult, ClusteringResult, cluster_scores, probe_scores
from .datasets import (
    BUILTIN_ANALOGIES,
    BUILTIN_PAIRS,
    AnalogySet,
    WordPairs,
    load_analogies,
    load_word_pairs,
)
from .report import (
    DEFAULT_ANALOGIES,
    DEFAULT_SIMILARITY,
    WordReport,
    evaluate_words,
    format_table,
    save_reports_json,
)
from .report_files import save_report
from .retrieval import RetrievalResult, retrieval_metrics
from .runner import EvalReport, TaskScore, evaluate
from .sentence import DocSimResult, PairResult, STSResult, docsim_scores, pair_scores, sts_scores
from .tasks import BUILTIN_TASKS, TaskSpec, load_task
from .word_similarity import SimilarityResult, word_similarity

__all__ = [
    "BUILTIN_ANALOGIES",
    "BUILTIN_PAIRS",
    "BUILTIN_TASKS",
    "DEFAULT_ANALOGIES",
    "DEFAULT_SIMILARITY",
    "AnalogyResult",
    "AnalogySet",
    "ClassificationResult",
    "ClusteringResult",
    "DocSimResult",
    "EvalReport",
    "PairResult",
    "RetrievalResult",
    "STSResult",
    "SectionScore",
    "SimilarityResult",
    "TaskScore",
    "TaskSpec",
    "WordPairs",
    "WordReport",
    "cluster_scores",
    "docsim_scores",
    "evaluate",
    "evaluate_words",
    "format_table",
    "load_analogies",
    "load_task",
    "load_word_pairs",
    "pair_scores",
    "probe_scores",
    "retrieval_metrics",
    "save_report",
    "save_reports_json",
    "sts_scores",
    "word_analogy",
    "word_similarity",
]
