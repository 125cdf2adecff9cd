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
    input: Annotated[
        Path,
        typer.Argument(
            help=".txt, .jsonl, .csv, .tsv or .parquet; a folder of embedding shards (Parquet "
            "with id and embedding, e.g. from embed --ray); a text-aware graph model (kg train "
            "--text: its entities); with --images a folder of images."
        ),
    ],
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
    images: Annotated[
        bool, typer.Option("--images", help="INPUT is a folder of images (a CLIP-family model).")
    ] = False,
) -> None:
    """Create a collection from a file of records, a folder of embedding shards (vectors
    appended as they are read, HNSW built after), or, with --images, a folder of images."""
    from ..encoders import load_encoder
    from ..search import Collection

    if images:
        _build_images(input, output, model, index)
        return
    if (input / "kg.json").exists():  # a graph model: its entities, found by description
        from ..errors import ParameterError
        from ..kg.collection import entity_collection

        if model is not None:
            raise ParameterError(
                "--model: a graph model's entities are indexed with the encoder that described "
                "them (kg.json records it)"
            )
        start = time.perf_counter()
        col = entity_collection(input, output, index=index)
        typer.echo(
            f"indexed {len(col):,} entities with their descriptions in "
            f"{time.perf_counter() - start:.1f} s -> {output}"
        )
        return
    if input.is_dir():
        _build_from_shards(input, output, model, index, meta, sparse)
        return
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


def _build_from_shards(
    folder: Path,
    output: Path,
    model: Optional[str],
    index: str,
    meta: Optional[str],
    sparse: Optional[str],
) -> None:
    from ..distributed.index import index_shards, shard_files
    from ..errors import ParameterError

    if sparse is not None:
        raise ParameterError(
            "--sparse encodes texts; build from the records to keep SPLADE vectors"
        )
    fields = [m.strip() for m in meta.split(",") if m.strip()] if meta else None
    start = time.perf_counter()
    col = index_shards(folder, output, model=model, index=index, meta_fields=fields)
    typer.echo(
        f"indexed {len(col):,} documents from {len(shard_files(folder)):,} shard files in "
        f"{time.perf_counter() - start:.1f} s -> {output}"
    )


def _build_images(folder: Path, output: Path, model: Optional[str], index: str) -> None:
    import warnings

    from ..encoders import load_encoder
    from ..errors import ParameterError
    from ..imagefiles import image_files
    from ..search import Collection
    from ..search.images import add_images

    if model is None:
        raise ParameterError("an image collection needs a CLIP or SigLIP model: --model")
    files = image_files(folder)
    start = time.perf_counter()
    col = Collection.create(
        output,
        load_encoder(model),
        index=index,  # type: ignore[arg-type]
        source=model,
        content="images",
    )
    ids = [f.relative_to(folder).as_posix() if folder.is_dir() else f.name for f in files]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept = add_images(col, files, ids=ids)
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    typer.echo(
        f"indexed {len(kept):,} of {len(files):,} images in {time.perf_counter() - start:.1f} s "
        f"-> {output}"
    )


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
    query: Annotated[Optional[str], typer.Argument(help="A text (or --image).")] = None,
    image: Annotated[
        Optional[Path], typer.Option("--image", help="Find images like this one.")
    ] = None,
    k: Annotated[int, typer.Option("-k")] = 5,
    mode: Annotated[
        str, typer.Option(help="dense, sparse (BM25), splade or hybrid (all fused).")
    ] = "hybrid",
    where: Annotated[
        Optional[list[str]], typer.Option(help="Metadata filter key=value (repeatable).")
    ] = None,
    model: ModelOpt = None,
) -> None:
    """Query a collection by text (or, in an image collection, by --image)."""
    from ..errors import ParameterError

    filters = {}
    for item in where or []:
        key, _, value = item.partition("=")
        filters[key] = value
    if (query is None) == (image is None):
        raise ParameterError("give a text query or --image, not both")
    col = _open(collection, model)
    if image is not None:
        from ..search.images import search_by_image

        found = search_by_image(col, image, k, where=filters or None)
    else:
        found = col.search(str(query), k, mode=mode, where=filters or None)
    for doc in found:
        meta = f"  {json.dumps(doc.metadata, ensure_ascii=False)}" if doc.metadata else ""
        typer.echo(f"{doc.score:8.4f}  {doc.id}  {doc.text[:100]}{meta}")


@index_app.command("info")
def info(collection: Path, model: ModelOpt = None) -> None:
    """Show a collection's size, encoder and index."""
    for key, value in _open(collection, model).info().items():
        typer.echo(f"{key + ':':<12}{value}")
