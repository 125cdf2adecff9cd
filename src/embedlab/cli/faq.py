"""``embedlab faq build|ask|eval``: FAQ answering from a CSV/JSONL of questions and answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

faq_app = typer.Typer(help="Answer questions from an FAQ.", no_args_is_help=True)

ModelOpt = Annotated[
    Optional[str],
    typer.Option("--model", "-m", help="Encoder (default: the one recorded, else offline MiniLM)."),
]


def _open(folder: Path, model: Optional[str]):  # type: ignore[no-untyped-def]
    from ..apps import FAQ
    from ..encoders import load_encoder

    return FAQ.open(folder, load_encoder(model or FAQ.recorded_source(folder)))


@faq_app.command("build")
def build(
    input: Annotated[Path, typer.Argument(help="CSV/TSV/JSONL with question and answer columns.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The FAQ folder.")],
    model: ModelOpt = None,
    question: Annotated[str, typer.Option(help="Question column.")] = "question",
    answer: Annotated[str, typer.Option(help="Answer column.")] = "answer",
    answer_id: Annotated[
        Optional[str],
        typer.Option("--id", help="Answer id column (default: group by answer text)."),
    ] = "id",
) -> None:
    """Build an FAQ: every row is one phrasing of a question and its answer."""
    from ..apps import FAQ
    from ..encoders import load_encoder
    from ..errors import FormatError
    from ..records import read_columns

    columns = {"q": question, "a": answer}
    try:
        cols = read_columns(input, {**columns, "id": answer_id} if answer_id else columns)
    except FormatError:
        if answer_id != "id":
            raise
        cols = read_columns(input, columns)  # no id column: answers group by their text
    ids = [str(x) for x in cols["id"]] if "id" in cols else None
    faq = FAQ.build(
        output,
        load_encoder(model),
        [str(x) for x in cols["q"]],
        [str(x) for x in cols["a"]],
        answer_ids=ids,
        source=model,
    )
    typer.echo(f"{len(faq)} answers from {len(cols['q'])} questions -> {output}")


@faq_app.command("ask")
def ask(
    folder: Path,
    question: str,
    k: Annotated[int, typer.Option("-k")] = 3,
    model: ModelOpt = None,
) -> None:
    """Answer one question (or say there is no confident answer)."""
    faq = _open(folder, model)
    result = faq.ask(question, k)
    if not result.answered:
        typer.echo(
            f"no confident answer (confidence {result.confidence:.3f} < threshold "
            f"{faq.threshold:.3f}); closest:"
        )
    for a in result.answers:
        typer.echo(f"{a.score:6.3f}  [{a.id}] {a.text}    (matched: {a.matched_question})")


@faq_app.command("eval")
def evaluate(
    folder: Path,
    held_out: Annotated[Path, typer.Argument(help="CSV/TSV/JSONL of questions and answer ids.")],
    question: Annotated[str, typer.Option(help="Question column.")] = "question",
    answer_id: Annotated[
        str, typer.Option("--id", help="Answer id column ('' = no answer).")
    ] = "id",
    calibrate: Annotated[
        bool, typer.Option(help="Set the threshold from these questions.")
    ] = False,
    target_precision: Annotated[float, typer.Option(help="Precision the threshold aims at.")] = 0.9,
    model: ModelOpt = None,
) -> None:
    """Accuracy, MRR and precision/coverage on held-out questions; optionally calibrate."""
    from ..records import read_columns

    cols = read_columns(held_out, {"q": question, "id": answer_id})
    faq = _open(folder, model)
    qs, ids = [str(x) for x in cols["q"]], [str(x) for x in cols["id"]]
    if calibrate:
        cal = faq.calibrate(qs, ids, target_precision=target_precision)
        typer.echo(
            f"threshold {cal.threshold:.4f}: precision {cal.precision:.3f}, coverage "
            f"{cal.coverage:.3f} (target precision {target_precision})"
        )
    for key, value in faq.evaluate(qs, ids).items():
        typer.echo(f"{key + ':':<15}{value:.4f}")
