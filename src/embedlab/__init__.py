"""embedlab: the embeddings workbench for NLP developers.

The package root keeps a small surface: :class:`Vectors`, :func:`load_vectors`,
:func:`save_vectors` and the version. Everything else lives in its subpackage
(``embedlab.io``, ``embedlab.text``, ``embedlab.evaluate`` ...). Importing embedlab loads none of
the heavy optional dependencies (torch, transformers, onnxruntime, jieba, ray ...).
"""

from __future__ import annotations

import logging

from ._version import __version__
from .io import load_vectors, save_vectors
from .subword import SubwordVectors
from .vectors import Vectors

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["SubwordVectors", "Vectors", "__version__", "load_vectors", "save_vectors"]
