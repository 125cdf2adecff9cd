"""One report for word-level evaluation: run the tasks, print a table, write JSON.

``evaluate_words(vectors)`` runs WS-353 (all/sim/rel), SimLex-999 and the Google analogies;
``format_table({"glove": r1, "w2v": r2})`` puts several reports side by side. Scores are computed
by :mod:`.word_similarity` and :mod:`.analogy`; this module only orchestrates and renders.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..files import atomic_file
from ..vectors import Vectors
from .analogy import AnalogyResult, word_analogy
from .datasets import AnalogySet, WordPairs
from .word_similarity import SimilarityResult, word_similarity

__all__ = [
    "DEFAULT_ANALOGIES",
    "DEFAULT_SIMILARITY",
    "WordReport",
    "evaluate_words",
    "format_table",
    "save_reports_json",
]

DEFAULT_SIMILARITY = ("ws353", "ws353-sim", "ws353-rel", "simlex999")
DEFAULT_ANALOGIES = ("google",)


@dataclass(frozen=True)
class WordReport:
    """Results of every word-level task run on one set of vectors."""

    name: str
    similarity: list[SimilarityResult] = field(default_factory=list)
    analogy: list[AnalogyResult] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str, str, float, str]]:
        """(task, dataset, metric, score, coverage) for each headline figure."""
        out: list[tuple[str, str, str, float, str]] = []
        for s in self.similarity:
            out.append(
                ("similarity", s.dataset, "spearman", s.spearman, f"{s.evaluated}/{s.pairs}")
            )
        for a in self.analogy:
            out.append(
                (
                    "analogy",
                    a.dataset,
                    f"acc {a.method}",
                    a.accuracy,
                    f"{a.evaluated}/{a.questions}",
                )
            )
        return out

    def table(self) -> str:
        """The headline figures as an aligned text table."""
        return format_table({self.name: self})

    def sections_table(self) -> str:
        """Analogy accuracy per section (``capital-common-countries  0.812  412/506`` ...)."""
        out: list[str] = []
        for a in self.analogy:
            out.append(f"{self.name}: {a.dataset} ({a.method}) by section")
            width = max(len(s.section) for s in a.sections)
            for s in a.sections:
                out.append(f"  {s.section:<{width}}  {s.accuracy:6.3f}  {s.correct}/{s.evaluated}")
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save_json(self, path: str | os.PathLike[str]) -> None:
        """Write this report as JSON (atomically)."""
        save_reports_json({self.name: self}, path, single=True)


def save_reports_json(
    reports: Mapping[str, WordReport], path: str | os.PathLike[str], *, single: bool = False
) -> None:
    """Write ``{name: report}`` as JSON (``single``: the one report's fields at the top level)."""
    data: Any = {n: r.to_dict() for n, r in reports.items()}
    if single:
        (data,) = data.values()
    with atomic_file(Path(path)) as f:
        f.write((json.dumps(data, indent=2) + "\n").encode())


def evaluate_words(
    vectors: Vectors,
    *,
    name: str = "vectors",
    similarity: Sequence[str | os.PathLike[str] | WordPairs] = DEFAULT_SIMILARITY,
    analogies: Sequence[str | os.PathLike[str] | AnalogySet] = DEFAULT_ANALOGIES,
    method: Literal["3cosadd", "3cosmul"] = "3cosadd",
    restrict_vocab: int | None = 300_000,
    case_insensitive: bool = True,
    show_progress: bool | None = None,
) -> WordReport:
    """Run every requested word-similarity and analogy task on ``vectors``."""
    sims = [
        word_similarity(
            vectors, d, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive
        )
        for d in similarity
    ]
    analog = [
        word_analogy(
            vectors,
            d,
            method=method,
            restrict_vocab=restrict_vocab,
            case_insensitive=case_insensitive,
            show_progress=show_progress,
        )
        for d in analogies
    ]
    return WordReport(name, sims, analog)


def format_table(reports: Mapping[str, WordReport]) -> str:
    """Reports side by side: one row per (task, dataset, metric), one score column per report."""
    names = list(reports)
    keys: list[tuple[str, str, str]] = []
    cells: dict[tuple[str, str, str, str], str] = {}
    for name, report in reports.items():
        for task, dataset, metric, score, coverage in report.rows():
            key = (task, dataset, metric)
            if key not in keys:
                keys.append(key)
            cells[(*key, name)] = f"{score:.4f} ({coverage})"
    header = ["task", "dataset", "metric", *names]
    body = [[*k, *(cells.get((*k, n), "-") for n in names)] for k in keys]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells_: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells_, widths)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in body)])
