"""Typer commands: info, convert, similar, eval words, export projector|keras, train, embed,
distill, encoders export-onnx, pretrain, finetune, predict, demo.

Each command parses its options, calls one library function and prints the result. No logic lives
here that a Python user could not reach through the library.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from .._progress import set_progress
from .._version import __version__
from ..errors import ParameterError
from ..io import FORMATS, detect_format, export_keras, export_projector, load_vectors, save_vectors
from ..subword import SubwordVectors
from .encode import distill_cmd, embed, encoders_app
from .evaluate import eval_run
from .faq import faq_app
from .index import index_app
from .neural import finetune_app, predict, pretrain_app
from .serve import serve
from .tokenizer import tokenizer_app
from .train import train_app
from .viz import viz_app

app = typer.Typer(
    name="embedlab",
    help="The embeddings workbench: open, convert, explore and evaluate vectors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
eval_app = typer.Typer(help="Evaluate embeddings.", no_args_is_help=True)
export_app = typer.Typer(help="Export vectors for other tools.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(export_app, name="export")
app.add_typer(train_app, name="train")
app.add_typer(encoders_app, name="encoders")
app.add_typer(viz_app, name="viz")
app.add_typer(index_app, name="index")
app.add_typer(faq_app, name="faq")
app.command("serve")(serve)
app.add_typer(tokenizer_app, name="tokenizer")
app.add_typer(pretrain_app, name="pretrain")
app.add_typer(finetune_app, name="finetune")
app.command("predict")(predict)
app.command("embed")(embed)
app.command("distill")(distill_cmd)
eval_app.command("run")(eval_run)

FormatOpt = Annotated[
    Optional[str],
    typer.Option("--format", "-f", help=f"One of {', '.join(FORMATS)} (default: detect)."),
]
LimitOpt = Annotated[Optional[int], typer.Option(help="Read only the first N rows.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"embedlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Hide progress bars.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what the library does.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s"
    )
    if quiet:
        set_progress(False)


StrictOpt = Annotated[
    bool, typer.Option(help="Refuse NaN or infinite values (default: load them with a warning).")
]


@app.command()
def info(
    path: Path, format: FormatOpt = None, limit: LimitOpt = None, strict: StrictOpt = False
) -> None:
    """Show the format, size and first keys of a vectors file."""
    fmt = format or detect_format(path)
    start = time.perf_counter()
    v = load_vectors(path, format=fmt, limit=limit, strict=strict)  # type: ignore[arg-type]
    took = time.perf_counter() - start
    typer.echo(f"path:    {path}")
    typer.echo(f"format:  {fmt}")
    typer.echo(f"rows:    {len(v):,}")
    typer.echo(f"dim:     {v.dim}")
    typer.echo(f"storage: {'memory-mapped' if v.is_mmap else 'in memory'} (opened in {took:.3f} s)")
    typer.echo(f"counts:  {'yes' if v.counts is not None else 'no'}")
    if isinstance(v, SubwordVectors):
        typer.echo(
            f"subword: {v.bucket:,} n-gram buckets, n = {v.minn}..{v.maxn} (OOV words get vectors)"
        )
    typer.echo(f"keys:    {', '.join(v.index_to_key[:10])}{' ...' if len(v) > 10 else ''}")


@app.command()
def convert(
    source: Path,
    target: Path,
    from_format: Annotated[
        Optional[str], typer.Option("--from", help="Input format (default: detect).")
    ] = None,
    to_format: Annotated[
        Optional[str], typer.Option("--to", help="Output format (default: by suffix).")
    ] = None,
    limit: LimitOpt = None,
    precision: Annotated[
        Optional[int], typer.Option(help="Significant digits for text formats.")
    ] = None,
    dtype: Annotated[Optional[str], typer.Option(help="native only: float32 or float16.")] = None,
    storage: Annotated[
        Optional[str], typer.Option(help="native only: safetensors (default) or npy.")
    ] = None,
    strict: StrictOpt = False,
) -> None:
    """Convert vectors from any format to any writable format."""
    v = load_vectors(source, format=from_format, limit=limit, strict=strict)  # type: ignore[arg-type]
    options: dict[str, object] = {}
    if precision is not None:
        options["precision"] = precision
    if dtype is not None:
        options["dtype"] = dtype
    if storage is not None:
        options["storage"] = storage
    out = save_vectors(v, target, format=to_format, **options)  # type: ignore[arg-type]
    typer.echo(f"wrote {len(v):,} x {v.dim} vectors to {out}")


@app.command()
def similar(
    vectors: Path,
    words: Annotated[list[str], typer.Argument(help="Query words (added together).")],
    minus: Annotated[
        Optional[list[str]], typer.Option("--minus", "-m", help="Words to subtract.")
    ] = None,
    analogy: Annotated[bool, typer.Option(help="Treat WORDS a b c as a : b :: c : ?")] = False,
    method: Annotated[str, typer.Option(help="Analogy method: 3cosadd or 3cosmul.")] = "3cosadd",
    topn: Annotated[int, typer.Option("--topn", "-n")] = 10,
    restrict_vocab: Annotated[
        Optional[int], typer.Option(help="Search only the first N rows.")
    ] = None,
    format: FormatOpt = None,
) -> None:
    """Nearest neighbours of words (or of king - man + woman), or an analogy."""
    v = load_vectors(vectors, format=format)  # type: ignore[arg-type]
    if analogy:
        if len(words) != 3 or minus:
            raise ParameterError("--analogy takes exactly three words: a b c (a : b :: c : ?)")
        a, b, c = words
        result = v.analogy(a, b, c, method=method, topn=topn, restrict_vocab=restrict_vocab)  # type: ignore[arg-type]
        typer.echo(f"{a} : {b} :: {c} : ?")
    else:
        result = v.most_similar(
            list(words), list(minus or []), topn=topn, restrict_vocab=restrict_vocab
        )
    width = max((len(k) for k, _ in result), default=0)
    for key, score in result:
        typer.echo(f"  {key:<{width}}  {score:.4f}")


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


@export_app.command("projector")
def export_projector_cmd(vectors: Path, folder: Path, limit: LimitOpt = None) -> None:
    """TensorBoard projector folder (vectors.tsv, metadata.tsv, projector_config.pbtxt)."""
    v = load_vectors(vectors)
    export_projector(v, folder, limit=limit)
    typer.echo(
        f"wrote {min(len(v), limit or len(v)):,} rows to {folder} (tensorboard --logdir {folder})"
    )


@export_app.command("keras")
def export_keras_cmd(vectors: Path, folder: Path, limit: LimitOpt = None) -> None:
    """Keras folder (embedding_matrix.npy with padding and OOV rows, vocab.txt)."""
    v = load_vectors(vectors, limit=limit)
    export_keras(v, folder)
    typer.echo(f"wrote {len(v) + 2:,} x {v.dim} embedding matrix and vocab.txt to {folder}")


@app.command()
def demo() -> None:
    """A two-minute tour on the bundled sample vectors."""
    from .demo import run_demo

    run_demo()
