"""``embedlab viz words|texts|images``: projections to interactive HTML or PNG (thin shells)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

viz_app = typer.Typer(help="Project embeddings to 2D: HTML explorer or PNG.", no_args_is_help=True)

MethodOpt = Annotated[str, typer.Option("--method", help="pca, tsne or umap.")]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="OUT.html (interactive) or OUT.png.")]


@viz_app.command("words")
def viz_words(
    vectors: Path,
    output: OutOpt,
    method: MethodOpt = "pca",
    limit: Annotated[int, typer.Option(help="The first N words (most frequent).")] = 500,
    words: Annotated[
        Optional[str], typer.Option(help="Comma-separated words instead of the first N.")
    ] = None,
) -> None:
    """Project word vectors."""
    from ..io import load_vectors
    from ..viz import plot_words

    v = load_vectors(vectors)
    chosen = [w.strip() for w in words.split(",") if w.strip()] if words else None
    path = plot_words(v, output, words=chosen, limit=limit, method=method)  # type: ignore[arg-type]
    typer.echo(f"wrote {path}")


@viz_app.command("texts")
def viz_texts(
    input: Annotated[Path, typer.Argument(help=".txt, .jsonl, .csv, .tsv or .parquet.")],
    output: OutOpt,
    model: Annotated[
        Optional[str], typer.Option("--model", "-m", help="Encoder (default: offline MiniLM).")
    ] = None,
    field: Annotated[str, typer.Option("--field", "--column", help="The text field.")] = "text",
    label: Annotated[
        Optional[str], typer.Option("--label", help="A field/column to colour by.")
    ] = None,
    method: MethodOpt = "pca",
    limit: Annotated[int, typer.Option(help="At most N texts (the first ones).")] = 2000,
) -> None:
    """Embed and project sentences or documents."""
    from ..encoders import load_encoder
    from ..viz import plot_texts

    labels = None
    if label is not None:
        from ..records import read_columns

        cols = read_columns(input, {"text": field, "label": label})
        texts, labels = cols["text"][:limit], [str(x) for x in cols["label"][:limit]]
    else:
        from ..records import read_texts

        texts = read_texts(input, field=field)[1][:limit]
    encoder = load_encoder(model)
    path = plot_texts(encoder, texts, output, labels=labels, method=method)  # type: ignore[arg-type]
    typer.echo(f"wrote {path} ({len(texts)} texts)")


@viz_app.command("images")
def viz_images(
    inputs: Annotated[
        list[Path], typer.Argument(help="Image folders or files.", metavar="IMAGES...")
    ],
    output: OutOpt,
    model: Annotated[
        str, typer.Option("--model", "-m", help="A CLIP-family model (or train clip's).")
    ],
    method: MethodOpt = "pca",
    by_folder: Annotated[
        bool, typer.Option("--by-folder", help="Colour each image by the folder it is in.")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most N images (the first ones).")] = 2000,
) -> None:
    """Embed and project photos; the HTML page shows thumbnails."""
    import warnings

    from ..encoders import load_encoder
    from ..imagefiles import image_files
    from ..viz import plot_images

    files = image_files(inputs)[:limit]
    labels = [f.parent.name for f in files] if by_folder else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = plot_images(load_encoder(model), files, output, names=[f.name for f in files],
                           labels=labels, method=method)  # type: ignore[arg-type]  # fmt: skip
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    typer.echo(f"wrote {path} (from {len(files)} image files)")
