"""Reading and writing vectors in every format people hold.

``load_vectors`` detects the format; ``save_vectors`` picks it from the suffix (``.txt`` word2vec
text, ``.vec`` fastText text, ``.bin`` word2vec binary, a folder or ``.embedlab``: native).
``export_projector`` and ``export_keras`` write folders for TensorBoard and Keras users.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..vectors import Vectors
from .registry import FORMATS, WRITABLE, FormatName, detect_format, load_vectors, save_vectors

__all__ = [
    "FORMATS",
    "WRITABLE",
    "FormatName",
    "detect_format",
    "export_keras",
    "export_projector",
    "load_vectors",
    "save_vectors",
]


def export_projector(
    vectors: Vectors, folder: str | os.PathLike[str], *, limit: int | None = None
) -> Path:
    """TensorBoard projector folder: vectors.tsv, metadata.tsv, projector_config.pbtxt."""
    return save_vectors(vectors, folder, "projector", limit=limit)


def export_keras(vectors: Vectors, folder: str | os.PathLike[str]) -> Path:
    """Keras folder: embedding_matrix.npy (padding, OOV, rows) and vocab.txt."""
    return save_vectors(vectors, folder, "keras")
