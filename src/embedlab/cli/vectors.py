"""``embedlab info | convert | compress | similar | export projector|keras``: vectors files (thin shells)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ..io import FORMATS, detect_format, export_keras, export_projector, load_vectors, save_vectors
from ..subword import SubwordVectors

vectors_app = typer.Typer()  # its commands are registered at the top level by cli.app
export_app = typer.Typer(help="Export vectors for other tools.", no_args_is_help=True)

FormatOpt = Annotated[
    Optional[str],
    typer.Option("--format", "-f", help=f"One of {', '.join(FORMATS)} (default: detect)."),
]
LimitOpt = Annotated[Optional[int], typer.Option(help="Read only the first N rows.")]


StrictOpt = Annotated[
    bool, typer.Option(help="Refuse NaN or infinite values (default: load them with a warning).")
]


@vectors_app.command()
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


@vectors_app.command()
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
    dtype: Annotated[
        Optional[str], typer.Option(help="native only: float32, float16, int8 or binary.")
    ] = None,
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


@vectors_app.command()
def compress(
    source: Path,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The native folder to write (.embedlab).")
    ],
    pca: Annotated[Optional[int], typer.Option(help="Project to N principal directions.")] = None,
    truncate: Annotated[
        Optional[int], typer.Option(help="Keep the first N dimensions (Matryoshka).")
    ] = None,
    float16: Annotated[bool, typer.Option("--float16", help="Store 2 bytes a value.")] = False,
    int8: Annotated[
        bool, typer.Option("--int8", help="Store 1 byte a value (calibrated).")
    ] = False,
    binary: Annotated[bool, typer.Option("--binary", help="Store 1 bit a value (signs).")] = False,
    sample: Annotated[int, typer.Option(help="Rows the PCA is fitted on.")] = 100_000,
    check: Annotated[
        int, typer.Option(help="Keys whose 10 nearest neighbours are compared (0: skip).")
    ] = 200,
    format: FormatOpt = None,
) -> None:
    """Compress a vectors file (PCA or truncation, then float16 / int8 / binary); load_vectors
    reads the result."""
    from ..compress import compress_vectors, neighbour_agreement, save_compressed

    picked = [name for name, on in (("float16", float16), ("int8", int8), ("binary", binary)) if on]
    if len(picked) > 1:
        raise ParameterError(f"choose one of --float16, --int8, --binary; got {', '.join(picked)}")
    v = load_vectors(source, format=format)  # type: ignore[arg-type]
    small = compress_vectors(
        v, pca=pca, truncate=truncate, dtype=picked[0] if picked else "float32", sample=sample
    )
    out = save_compressed(small, output)
    typer.echo(
        f"wrote {len(v):,} x {small.vectors.dim} {small.dtype} to {out}: "
        f"{small.bytes_per_vector:,.0f} bytes a vector (was {v.dim * 4:,}, "
        f"{v.dim * 4 / small.bytes_per_vector:.1f}x smaller)"
    )
    if small.pca is not None:
        kept = float(small.pca.explained_variance_ratio_.sum())
        typer.echo(f"PCA keeps {kept:.1%} of the variance (saved in the folder)")
    if check and len(v) > 10:
        agreement = neighbour_agreement(v, small.vectors, sample=check)
        typer.echo(f"10 nearest neighbours kept, {min(check, len(v))} keys: {agreement:.1%}")


@vectors_app.command()
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
