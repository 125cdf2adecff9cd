"""``embedlab classify-images``: zero-shot labels for a folder of photos (a thin shell).

``classify-images photos/ --labels "cat,dog,car" -m CLIP`` prints each image's best label and its
probability, from :class:`embedlab.encoders.zeroshot.ZeroShotClassifier` (prompt ensembling over
``--template``s, default the CLIP authors' eight); ``-o labels.csv`` also writes every label's
probability. Unreadable files are skipped with one warning naming them.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer


def classify_images(
    inputs: Annotated[
        list[Path], typer.Argument(help="Image folders or files.", metavar="IMAGES...")
    ],
    labels: Annotated[str, typer.Option(help="Comma-separated label names, e.g. 'cat,dog,car'.")],
    model: Annotated[
        str, typer.Option("--model", "-m", help="A CLIP-family model folder or hub id.")
    ],
    template: Annotated[
        Optional[list[str]],
        typer.Option(
            help="Prompt template with {} for the label (repeatable; default: 8 of CLIP's)."
        ),
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", help="CSV: image, label, one column a label."),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b")] = 32,
) -> None:
    """Label images without training (zero-shot, CLIP-style)."""
    from ..encoders import load_encoder
    from ..encoders.zeroshot import DEFAULT_TEMPLATES, ZeroShotClassifier
    from ..files import atomic_file
    from ..imagefiles import encode_readable, image_files

    names = [x.strip() for x in labels.split(",") if x.strip()]
    files = image_files(inputs)
    classifier = ZeroShotClassifier(
        load_encoder(model), names, templates=template or DEFAULT_TEMPLATES
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vectors, kept = encode_readable(classifier.encoder, files, batch_size=batch_size)
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    probs = classifier.scores(vectors)
    width = max(len(str(files[i])) for i in kept)
    for row, i in zip(probs, kept, strict=True):
        best = int(row.argmax())
        typer.echo(f"{files[i]!s:<{width}}  {names[best]}  {row[best]:.3f}")
    if output is not None:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["image", "label", *names])
        for row, i in zip(probs, kept, strict=True):
            writer.writerow([files[i], names[int(row.argmax())], *(f"{p:.6f}" for p in row)])
        with atomic_file(output) as f:
            f.write(text.getvalue().encode("utf-8"))
        typer.echo(f"saved:   {output}")
