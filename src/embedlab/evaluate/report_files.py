"""Writing an :class:`~embedlab.evaluate.runner.EvalReport`: JSON, markdown, PNG plots.

``save_report(report, "out/")`` writes ``report.json`` (every metric of every cell),
``report.md`` (the main figure per task and model), ``scores.png`` (grouped bars: tasks x models)
and, when the report holds truncated variants (``model@dim``), ``dims.png`` (main figure against
dimension, one line per model and task); with compressed variants (``model~name``) also
``retention.md`` (score kept, bytes per vector, index memory, query speed) and ``retention.png``
(mean score kept against bytes per vector). matplotlib is imported here only, with the Agg backend
(``pip install 'embedlab[viz]'``). Files are written atomically. This module does not evaluate.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ..files import atomic_file
from ..optional import pyplot
from .runner import EvalReport

logger = logging.getLogger(__name__)

__all__ = ["save_report"]


def save_report(
    report: EvalReport, folder: str | os.PathLike[str], *, plots: bool = True
) -> list[Path]:
    """Write the report files into ``folder``; returns their paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with atomic_file(out / "report.json") as f:
        f.write(json.dumps(report.to_dict(), indent=2, default=float).encode())
    written.append(out / "report.json")
    with atomic_file(out / "report.md") as f:
        f.write((report.markdown() + f"\n\nWall time: {report.seconds:.1f} s\n").encode())
    written.append(out / "report.md")
    if report.variants:
        with atomic_file(out / "retention.md") as f:
            f.write((report.retention_markdown() + "\n").encode())
        written.append(out / "retention.md")
    if plots:
        written.append(_bars(report, out / "scores.png"))
        if any("@" in m for m in report.models()):
            written.append(_dims(report, out / "dims.png"))
        if report.variants:
            written.append(_retention(report, out / "retention.png"))
    return written


def _bars(report: EvalReport, path: Path) -> Path:
    plt = pyplot()
    tasks = report.tasks()
    models = [m for m in report.models() if "@" not in m and m not in report.variants]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(tasks) + 2), 4.5))
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        values = []
        for task in tasks:
            s = report.get(model, task)
            values.append(0.0 if s is None or s.main is None else 100 * s.main)
        ax.bar([t + i * width for t in range(len(tasks))], values, width, label=model)
    ax.set_xticks([t + width * (len(models) - 1) / 2 for t in range(len(tasks))])
    ax.set_xticklabels(tasks, rotation=30, ha="right")
    ax.set_ylabel("main metric x 100")
    ax.set_title("embedlab evaluation")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, plt, path)


def _dims(report: EvalReport, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bases = [m for m in report.models() if "@" not in m]
    for base in bases:
        family = [base] + [m for m in report.models() if m.startswith(base + "@")]
        for task in report.tasks():
            points = sorted(
                (s.dim, 100 * s.main)
                for s in (report.get(m, task) for m in family)
                if s is not None and s.main is not None and s.dim is not None
            )
            if len(points) > 1:
                ax.plot(
                    [d for d, _ in points],
                    [v for _, v in points],
                    marker="o",
                    label=f"{base}: {task}",
                )
    ax.set_xlabel("dimensions kept")
    ax.set_ylabel("main metric x 100")
    ax.set_xscale("log", base=2)
    ax.legend(fontsize="x-small")
    fig.tight_layout()
    return _save(fig, plt, path)


def _retention(report: EvalReport, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rows = [r for r in report.retention() if r["mean_retained"] is not None]
    for base in dict.fromkeys(r["base"] for r in rows):
        mine = sorted((r["bytes_per_vector"], 100 * r["mean_retained"], r["compression"])
                      for r in rows if r["base"] == base)  # fmt: skip
        ax.plot([b for b, _, _ in mine], [v for _, v, _ in mine], marker="o", ls="", label=base)
        for b, v, name in mine:
            ax.annotate(name, (b, v), fontsize="x-small", xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("bytes per vector")
    ax.set_ylabel("mean score kept, % of uncompressed")
    ax.set_title("what compression keeps")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, plt, path)


def _save(fig: Any, plt: Any, path: Path) -> Path:
    with atomic_file(path) as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return path
