"""Seeing embeddings: 2D projections of words or sentences as PNG and interactive HTML.

``plot_words(vectors, "words.html")`` projects the most frequent words (or the ones you name);
``plot_texts(encoder, texts, "texts.html", labels=...)`` embeds and projects sentences;
``plot_images(clip, files, "photos.html")`` projects photos, shown as thumbnails. The suffix
picks the output (``.html`` self-contained and interactive: hover for the text, colour by label,
search to highlight matches and their nearest neighbours; ``.png`` a static scatter). Methods:
``pca`` (exact, no extra dependency), ``tsne`` (scikit-learn), ``umap`` (umap-learn).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import KeyNotFoundError, ParameterError
from ..vectors import Vectors
from .html import scatter_html
from .plots import scatter_png
from .projection import Method, neighbours, project

__all__ = [
    "neighbours",
    "plot_images",
    "plot_texts",
    "plot_words",
    "project",
    "scatter_html",
    "scatter_png",
    "thumbnail_url",
]


def _write(
    x: np.ndarray,
    texts: Sequence[str],
    path: str | os.PathLike[str],
    labels: Sequence[str] | None,
    method: Method,
    title: str,
    seed: int,
    thumbnails: Sequence[str] | None = None,
) -> Path:
    points = project(x, method, seed=seed)
    target = Path(path)
    if target.suffix.lower() == ".html":
        return scatter_html(
            points, texts, target, labels=labels, neighbours=neighbours(x, 5), title=title,
            thumbnails=thumbnails,
        )  # fmt: skip
    if target.suffix.lower() == ".png":
        return scatter_png(points, texts, target, labels=labels, title=title)
    raise ParameterError(f"the output must end in .html or .png; got {target.name}")


def plot_words(
    vectors: Vectors,
    path: str | os.PathLike[str],
    *,
    words: Sequence[str] | None = None,
    limit: int = 500,
    labels: Sequence[str] | None = None,
    method: Method = "pca",
    seed: int = 0,
) -> Path:
    """Project ``words`` (default: the first ``limit`` keys, usually the most frequent)."""
    chosen = list(words) if words is not None else list(vectors.index_to_key[:limit])
    missing = [w for w in chosen if w not in vectors]
    if missing:
        raise KeyNotFoundError(f"not in the vocabulary: {missing[:10]}")
    x = np.stack([vectors.get_vector(w) for w in chosen])
    title = f"{len(chosen)} words, {method.upper()}"
    return _write(x, chosen, path, labels, method, title, seed)


def plot_texts(
    encoder: Any,
    texts: Sequence[str],
    path: str | os.PathLike[str],
    *,
    labels: Sequence[str] | None = None,
    method: Method = "pca",
    seed: int = 0,
) -> Path:
    """Embed ``texts`` with any Encoder and project them."""
    x = np.asarray(encoder.encode(list(texts), normalize=True), dtype=np.float32)
    title = f"{len(texts)} texts, {getattr(encoder, 'name', 'encoder')}, {method.upper()}"
    return _write(x, list(texts), path, labels, method, title, seed)


def thumbnail_url(image: Any, size: int = 96) -> str:
    """A small JPEG of an image (a path, bytes, an array, a PIL image) as a ``data:`` URL."""
    import base64
    import io

    from ..imagefiles import load_image

    small = load_image(image).copy()
    small.thumbnail((size, size))
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def plot_images(
    encoder: Any,
    images: Sequence[Any],
    path: str | os.PathLike[str],
    *,
    names: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    method: Method = "pca",
    seed: int = 0,
) -> Path:
    """Embed images with an image encoder (CLIP-family) and project them; the HTML page shows
    each as a thumbnail. Unreadable images are left out with one warning naming them."""
    from ..imagefiles import encode_readable

    x, kept = encode_readable(encoder, list(images), normalize=True)
    shown = [str(names[i]) if names is not None else str(images[i]) for i in kept]
    kept_labels = None if labels is None else [labels[i] for i in kept]
    thumbs = [thumbnail_url(images[i]) for i in kept] if Path(path).suffix == ".html" else None
    title = f"{len(kept)} images, {getattr(encoder, 'name', 'encoder')}, {method.upper()}"
    return _write(x, shown, path, kept_labels, method, title, seed, thumbs)
