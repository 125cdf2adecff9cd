"""``embedlab eval words | run``: word-vector benchmarks, and many models on many tasks in one
report (thin shells over :mod:`embedlab.evaluate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

eval_app = typer.Typer(help="Evaluate embeddings.", no_args_is_help=True)
LimitOpt = Annotated[Optional[int], typer.Option(help="Read only the first N rows.")]


def open_model(spec: str) -> tuple[str, Any]:
    """``NAME=WHAT`` or ``WHAT``: a vectors file/folder, a StaticEncoder folder, a transformer
    (hub id or folder), ``default`` for the offline all-MiniLM-L6-v2, or a graph model folder
    (``kg train``: link-prediction tasks)."""
    from ..encoders import load_encoder
    from ..io import load_vectors

    name, _, what = spec.rpartition("=")
    path = Path(what)
    name = name or (path.name if what != "default" else "all-MiniLM-L6-v2")
    if path.is_file() or (path / "header.json").exists():
        return name, load_vectors(path)
    if (path / "kg.json").exists():  # a graph model: link-prediction tasks
        from ..kg.store import load_model

        return name, load_model(path)
    return name, load_encoder(what)


@eval_app.command("run")
def eval_run(
    model: Annotated[
        list[str],
        typer.Option(
            "--model", "-m", help="NAME=MODEL or MODEL: vectors, encoder folder, hub id, 'default'."
        ),
    ],
    tasks: Annotated[
        str,
        typer.Option(
            "--tasks",
            "-t",
            help="Comma-separated: built-in names, 'en', 'zh', 'all', or spec files.",
        ),
    ] = "en",
    data_dir: Annotated[
        Optional[Path], typer.Option(help="Folder of the public data (for built-in tasks).")
    ] = None,
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Write report.json/.md and PNGs here.")
    ] = None,
    dims: Annotated[
        Optional[str], typer.Option(help="Also evaluate truncated to these dims, e.g. 64,128.")
    ] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots with --out.")] = True,
    compress: Annotated[
        Optional[str],
        typer.Option(help="Also evaluate compressed: e.g. pca:128,int8,binary,pq:48x8."),
    ] = None,
    calibration: Annotated[
        Optional[Path],
        typer.Option(help="Texts (one a line) to fit --compress on (default: the tasks' texts)."),
    ] = None,
) -> None:
    """Evaluate models on sentence and word tasks; print the table, save the report."""
    from ..evaluate.runner import evaluate

    models = dict(open_model(m) for m in model)
    dim_list = [int(d) for d in dims.split(",")] if dims else None
    calib = None
    if calibration is not None:
        from ..records import read_texts

        calib = read_texts(calibration)[1]
    report = evaluate(
        models,
        [t.strip() for t in tasks.split(",") if t.strip()],
        data_dir=None if data_dir is None else str(data_dir),
        dims=dim_list,
        compress=compress,
        calibration=calib,
    )
    _print(report)
    if report.variants:
        typer.echo("\nWhat compression keeps (score as % of the uncompressed model's):\n")
        typer.echo(report.retention_markdown())
    if out is not None:
        from ..evaluate.report_files import save_report

        for f in save_report(report, out, plots=plots):
            typer.echo(f"wrote {f}")


def _print(report: Any) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich comes with typer
        typer.echo(report.markdown())
        return
    table = Table(title=f"embedlab evaluation ({report.seconds:.1f} s)")
    table.add_column("task")
    table.add_column("metric")
    for m in report.models():
        table.add_column(m, justify="right")
    for task in report.tasks():
        cells = []
        for m in report.models():
            s = report.get(m, task)
            cells.append("-" if s is None or s.main is None else f"{100 * s.main:.2f}")
        table.add_row(task, report.metric_of(task), *cells)
    Console(width=160).print(table)


@eval_app.command("words")
def eval_words(
    vectors: Annotated[
        list[Path], typer.Argument(help="One or more vector files, compared side by side.")
    ],
    similarity: Annotated[
        Optional[list[str]],
        typer.Option("--similarity", "-s", help="Word-pair sets (names or paths)."),
    ] = None,
    analogies: Annotated[
        Optional[list[str]],
        typer.Option("--analogies", "-a", help="Analogy sets (names or paths)."),
    ] = None,
    method: Annotated[str, typer.Option(help="3cosadd or 3cosmul.")] = "3cosadd",
    restrict_vocab: Annotated[
        int, typer.Option(help="Evaluate on the first N rows, as gensim.")
    ] = 300_000,
    case_sensitive: Annotated[
        bool, typer.Option(help="Do not fold case when matching words.")
    ] = False,
    sections: Annotated[
        bool, typer.Option(help="Also print analogy accuracy per section.")
    ] = False,
    json_out: Annotated[
        Optional[Path], typer.Option("--json", help="Write the results as JSON.")
    ] = None,
    limit: LimitOpt = None,
) -> None:
    """Word similarity (Spearman) and analogy accuracy, one column per vector file."""
    from ..evaluate import (
        DEFAULT_ANALOGIES,
        DEFAULT_SIMILARITY,
        evaluate_words,
        format_table,
        save_reports_json,
    )
    from ..io import load_vectors

    reports = {}
    for path in vectors:
        v = load_vectors(path, limit=limit)
        name = path.name if path.name not in reports else str(path)
        reports[name] = evaluate_words(
            v,
            name=name,
            similarity=similarity if similarity is not None else DEFAULT_SIMILARITY,
            analogies=analogies if analogies is not None else DEFAULT_ANALOGIES,
            method=method,  # type: ignore[arg-type]
            restrict_vocab=restrict_vocab,
            case_insensitive=not case_sensitive,
        )
    typer.echo(format_table(reports))
    if sections:
        for report in reports.values():
            typer.echo("\n" + report.sections_table())
    if json_out is not None:
        save_reports_json(reports, json_out)
        typer.echo(f"wrote {json_out}")
