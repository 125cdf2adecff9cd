"""``embedlab index build|add|search|info``: persistent collections (thin shells)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

index_app = typer.Typer(help="Build and query persistent search collections.", no_args_is_help=True)

ModelOpt = Annotated[
    Optional[str],
    typer.Option("--model", "-m", help="Encoder (default: the one recorded, else offline MiniLM)."),
]


def _records(input: Path, field: str, id_field: str, meta: Optional[str]):  # type: ignore[no-untyped-def]
    from ..records import read_records

    fields = [m.strip() for m in meta.split(",") if m.strip()] if meta else None
    return read_records(input, field=field, id_field=id_field, meta_fields=fields)


def _open(collection: Path, model: Optional[str]):  # type: ignore[no-untyped-def]
    from ..encoders import load_encoder
    from ..search import Collection

    source = model or Collection.recorded_source(collection)
    sparse = Collection.recorded_source(collection, sparse=True)
    splade = None
    if sparse is not None:
        from ..encoders.sparse import SpladeEncoder

        splade = SpladeEncoder(sparse)
    return Collection.open(collection, load_encoder(source), sparse_encoder=splade)


@index_app.command("build")
def build(
    input: Annotated[Path, typer.Argument(help=".txt, .jsonl, .csv, .tsv or .parquet.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The collection folder.")],
    model: ModelOpt = None,
    field: Annotated[str, typer.Option("--field", "--column")] = "text",
    id_field: Annotated[str, typer.Option("--id-field")] = "id",
    meta: Annotated[Optional[str], typer.Option(help="Comma-separated metadata fields.")] = None,
    index: Annotated[
        str, typer.Option(help="hnsw, exact, or compressed exact: int8 or binary (rescored).")
    ] = "hnsw",
    sparse: Annotated[
        Optional[str],
        typer.Option(
            help="Also keep SPLADE vectors: 'splade' (the default model) or a masked-LM folder."
        ),
    ] = None,
) -> None:
    """Create a collection from a file of records."""
    from ..encoders import load_encoder
    from ..search import Collection

    ids, texts, metas = _records(input, field, id_field, meta)
    start = time.perf_counter()
    splade, sparse_source = None, None
    if sparse is not None:
        from ..encoders.sparse import SpladeEncoder, default_splade

        sparse_source = default_splade() if sparse == "splade" else sparse
        splade = SpladeEncoder(sparse_source)
    col = Collection.create(
        output, load_encoder(model), index=index, source=model,  # type: ignore[arg-type]
        sparse_encoder=splade, sparse_source=sparse_source,
    )  # fmt: skip
    col.add(ids, texts, metas)
    typer.echo(f"indexed {len(col):,} documents in {time.perf_counter() - start:.1f} s -> {output}")


@index_app.command("add")
def add(
    collection: Path,
    input: Path,
    model: ModelOpt = None,
    field: Annotated[str, typer.Option("--field", "--column")] = "text",
    id_field: Annotated[str, typer.Option("--id-field")] = "id",
    meta: Annotated[Optional[str], typer.Option(help="Comma-separated metadata fields.")] = None,
) -> None:
    """Add or update documents (same ids replace)."""
    ids, texts, metas = _records(input, field, id_field, meta)
    col = _open(collection, model)
    col.add(ids, texts, metas)
    typer.echo(f"added {len(ids):,} documents; the collection holds {len(col):,}")


@index_app.command("search")
def search(
    collection: Path,
    query: str,
    k: Annotated[int, typer.Option("-k")] = 5,
    mode: Annotated[
        str, typer.Option(help="dense, sparse (BM25), splade or hybrid (all fused).")
    ] = "hybrid",
    where: Annotated[
        Optional[list[str]], typer.Option(help="Metadata filter key=value (repeatable).")
    ] = None,
    model: ModelOpt = None,
) -> None:
    """Query a collection."""
    filters = {}
    for item in where or []:
        key, _, value = item.partition("=")
        filters[key] = value
    col = _open(collection, model)
    for doc in col.search(query, k, mode=mode, where=filters or None):
        meta = f"  {json.dumps(doc.metadata, ensure_ascii=False)}" if doc.metadata else ""
        typer.echo(f"{doc.score:8.4f}  {doc.id}  {doc.text[:100]}{meta}")


@index_app.command("info")
def info(collection: Path, model: ModelOpt = None) -> None:
    """Show a collection's size, encoder and index."""
    for key, value in _open(collection, model).info().items():
        typer.echo(f"{key + ':':<12}{value}")
