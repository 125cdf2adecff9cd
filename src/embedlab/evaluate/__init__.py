"""Evaluation of embeddings. Word level (this issue): similarity and analogy, one report.

``evaluate_words(vectors).table()`` prints WS-353, SimLex-999 and Google analogy figures;
``word_similarity`` and ``word_analogy`` run one task; datasets load by built-in name or path.
"""

from __future__ import annotations

from .analogy import AnalogyResult, SectionScore, word_analogy
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
from .word_similarity import SimilarityResult, word_similarity

__all__ = [
    "BUILTIN_ANALOGIES",
    "BUILTIN_PAIRS",
    "DEFAULT_ANALOGIES",
    "DEFAULT_SIMILARITY",
    "AnalogyResult",
    "AnalogySet",
    "SectionScore",
    "SimilarityResult",
    "WordPairs",
    "WordReport",
    "evaluate_words",
    "format_table",
    "load_analogies",
    "load_word_pairs",
    "save_reports_json",
    "word_analogy",
    "word_similarity",
]
