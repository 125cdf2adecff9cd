"""``embedlab classify-images`` and ``embedlab train clip``: images (thin shells).

``classify-images photos/ --labels "cat,dog,car" -m CLIP`` prints each image's best label and its
probability, from :class:`embedlab.encoders.zeroshot.ZeroShotClassifier` (prompt ensembling over
``--template``s, default the CLIP authors' eight); ``-o labels.csv`` also writes every label's
probability. Unreadable files are skipped with one warning naming them. ``train clip CAPTIONS
IMAGES -o OUT`` trains an image tower against a frozen sentence encoder
(:func:`embedlab.neural.clip.train_clip`); ``OUT/model`` opens with ``--model`` anywhere.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .neural import _args, _report, run


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


@run(epochs=40.0, batch_size=64, lr=1e-3, warmup=0.05, every=100, without=("grad_accum",))
def train_clip_cmd(
    captions: Annotated[Path, typer.Argument(help="image<TAB>caption rows (CSV/TSV/JSONL).")],
    images: Annotated[Path, typer.Argument(help="The folder the image names are relative to.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output folder (model/, checkpoints/).")
    ],
    text_model: Annotated[
        Optional[str], typer.Option(help="The frozen text tower (default: offline MiniLM).")
    ] = None,
    backbone: Annotated[str, typer.Option(help="resnet or clip (a random ViT).")] = "resnet",
    init: Annotated[
        Optional[Path], typer.Option(help="Start from this CLIP/SigLIP folder's vision tower.")
    ] = None,
    width: Annotated[
        int, typer.Option(help="Channels of the first stage (ViT: hidden size).")
    ] = 32,
    depth: Annotated[int, typer.Option(help="Blocks per stage (ViT: layers).")] = 2,
    image_size: Annotated[int, typer.Option(help="Crop size in pixels.")] = 96,
    split_table: Annotated[
        Optional[Path], typer.Option(help="image<TAB>split rows; train on --split only.")
    ] = None,
    split: Annotated[str, typer.Option(help="The split to train on.")] = "train",
    dev_fraction: Annotated[
        float, typer.Option(help="Share of the photos held out to pick the best model.")
    ] = 0.1,
    *,
    opts: dict[str, Any],
) -> None:
    """Train an image tower against a frozen sentence encoder (LiT, locked text)."""
    from ..neural.clip import train_clip

    result = train_clip(
        captions, images, args=_args(output, **opts), text_model=text_model, backbone=backbone,
        init=init, width=width, depth=depth, image_size=image_size, split_table=split_table,
        split=split, dev_fraction=dev_fraction,
    )  # fmt: skip
    _report(result)
