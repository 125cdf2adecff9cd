"""Image collections: photos embedded by a CLIP-family encoder, found by a text or by an image.

``Collection.create(folder, clip, content="images")`` makes the collection; ``add_images(col,
files)`` embeds the readable files (one batch at a time; unreadable ones skipped with one warning
naming each) and stores each under its id, with its path as the text. ``col.search("a dog on the
beach")`` then finds photos by text through the encoder's shared space, and
``search_by_image(col, "query.jpg")`` finds photos like a photo. This module does not read
folders (see :func:`embedlab.imagefiles.image_files`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..imagefiles import ImageSource, encode_readable
from .collection import Collection, Document

__all__ = ["add_images", "search_by_image"]


def _encoder(collection: Collection) -> Any:
    if collection.content != "images":
        raise ParameterError(f"{collection.folder} holds texts; create it with content='images'")
    if not callable(getattr(collection.encoder, "encode_images", None)):
        raise ParameterError(
            f"{collection.encoder!r} does not encode images (a CLIP-family model does)"
        )
    return collection.encoder


def add_images(
    collection: Collection,
    files: Sequence[str | os.PathLike[str]],
    *,
    ids: Sequence[str] | None = None,
    metadata: Sequence[Mapping[str, Any]] | None = None,
    batch_size: int = 32,
    show_progress: bool | None = None,
) -> list[int]:
    """Embed and add the readable ``files`` (ids: the paths, unless given); returns the
    positions of the files added (the others were skipped with a warning)."""
    encoder = _encoder(collection)
    keys = [os.fspath(f) for f in files] if ids is None else [str(i) for i in ids]
    if len(keys) != len(files) or (metadata is not None and len(metadata) != len(files)):
        raise ParameterError("files, ids and metadata must have the same length")
    vectors, kept = encode_readable(
        encoder, list(files), batch_size=batch_size, normalize=True, show_progress=show_progress
    )
    collection.add(
        [keys[i] for i in kept],
        [os.fspath(files[i]) for i in kept],
        None if metadata is None else [metadata[i] for i in kept],
        vectors=vectors,
    )
    return kept


def search_by_image(
    collection: Collection,
    image: ImageSource,
    k: int = 10,
    *,
    where: Mapping[str, Any] | None = None,
) -> list[Document]:
    """The ``k`` images nearest to ``image`` (a path, bytes, an array or a PIL image)."""
    vector = np.asarray(_encoder(collection).encode_images([image], normalize=True))[0]
    return collection.search(vector, k, where=where)
