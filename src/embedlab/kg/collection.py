"""A text-aware graph model's entities as a search collection: find entities by what they are.

``embedlab index build MODEL -o entities`` (or :func:`entity_collection`) makes one document per
entity: its id, its description (from the entity text file recorded at training; the id when the
file is gone), ``{"name": ...}`` metadata (the text before the first comma), and the description
vector the model was trained with, so no text is encoded twice. Queries are encoded by the same
encoder (recorded as the collection's source), dense, BM25 and hybrid search work as on any
collection, and a hit's id is what ``kg predict`` takes. The graph vectors themselves are ordinary
vectors (``MODEL/entities``) for ``similar``, ``viz`` and the projector. This module does not
train or rank triples.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ..files import read_json
from ..io import load_vectors
from .triples import read_entity_text

__all__ = ["entity_collection"]


def entity_collection(
    model: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    index: str = "hnsw",
    encoder: Any = None,
) -> Any:
    """The collection at ``output`` holding every described entity of the model folder ``model``
    (``encoder``: the one the descriptions were encoded with; loaded from kg.json's record when
    None)."""
    from ..encoders import load_encoder
    from ..search import Collection

    folder = Path(model)
    body = read_json(folder / "kg.json")
    text = body.get("text")
    if not text or not (folder / "text").exists():
        raise ParameterError(
            f"{folder} holds no entity descriptions: train it with --text (kg train --text "
            "entity2text.txt) to index its entities"
        )
    source = None if text.get("encoder") in (None, "default") else str(text["encoder"])
    described = load_vectors(folder / "text")
    texts: dict[str, str] = {}
    if text.get("file") and Path(text["file"]).exists():
        texts = read_entity_text(text["file"])
    enc = encoder if encoder is not None else load_encoder(source)
    if int(enc.dim) != described.dim:
        raise ParameterError(
            f"the descriptions are {described.dim}-dim; the encoder gives {enc.dim}"
        )
    col = Collection.create(output, enc, index=index, source=source)  # type: ignore[arg-type]
    ids = list(described.index_to_key)
    docs = [texts.get(e, e) for e in ids]
    metas = [{"name": d.split(",", 1)[0].strip()} for d in docs]
    try:
        col.add(ids, docs, metas, vectors=described.vectors)  # one commit
    except BaseException:
        col.close()
        raise
    return col
