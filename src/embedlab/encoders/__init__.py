"""Sentence and token encoders behind one contract, :class:`Encoder`.

``TransformerEncoder`` runs any transformers model (sentence-transformers folders with their own
pooling, prompts and normalization) on torch or ONNX Runtime; ``StaticEncoder`` averages static
vectors (word2vec, GloVe, fastText, or pieces distilled from a transformer by :func:`distill`);
:func:`export_onnx` writes fp32 and int8 ONNX folders. torch, transformers and onnxruntime are
imported only when a transformer encoder is built (``pip install 'embedlab[torch,onnx]'``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from ..errors import LongTextWarning
from .base import Encoder, ImageEncoder
from .distill import distill
from .folders import DEFAULT_MODEL_NAME
from .onnx import export_onnx
from .pooling import Pooling
from .static import StaticEncoder
from .tokens import TokenEmbeddings
from .transformer import TransformerEncoder

__all__ = [
    "DEFAULT_MODEL_NAME",
    "Encoder",
    "ImageEncoder",
    "LongTextWarning",
    "Pooling",
    "StaticEncoder",
    "TokenEmbeddings",
    "TransformerEncoder",
    "distill",
    "export_onnx",
    "load_encoder",
]


def load_encoder(
    model: str | os.PathLike[str] | None = None,
    *,
    backend: Literal["torch", "onnx"] = "torch",
    int8: bool = False,
    **options: Any,
) -> Encoder:
    """A ready encoder for ``model``: a StaticEncoder folder (``static_encoder.json``) opens as one,
    a compressed one (``compressed_encoder.json``) as its base model followed by its PCA,
    a biLM folder (``bilm.json``) as a :class:`~embedlab.encoders.bilm.BiLMEncoder`, an ONNX export runs
    on ONNX Runtime, anything else (hub id, transformers or
    sentence-transformers folder, None for the offline default) becomes a
    :class:`TransformerEncoder` with ``backend``/``int8``/``options``; a CLIP or SigLIP model
    (``model_type`` clip/siglip, or a sentence-transformers CLIP folder) becomes a
    :class:`~embedlab.encoders.clip.ClipEncoder`, which also encodes images, as does a folder
    ``embedlab train clip`` wrote (``lit.json``, a :class:`~embedlab.encoders.lit.LitEncoder`)."""
    if model is not None:
        folder = Path(model)
        from .clip import is_clip_folder

        if folder.is_dir() and is_clip_folder(folder):
            from .clip import ClipEncoder

            return ClipEncoder(folder, backend=backend, **options)
        if (folder / "lit.json").exists():  # embedlab train clip
            from .lit import LitEncoder

            return LitEncoder(folder, **options)
        if (folder / "static_encoder.json").exists():
            return StaticEncoder.load(folder)
        if (folder / "compressed_encoder.json").exists():  # embedlab encoders compress
            from .compressed import CompressedEncoder

            return CompressedEncoder.load(folder, **options)
        if (folder / "bilm.json").exists():  # embedlab pretrain bilm
            from .bilm import BiLMEncoder

            return BiLMEncoder(folder, **options)
        if (folder / "onnx" / "model.onnx").exists() and not any(folder.glob("*.safetensors")):
            backend = "onnx"  # an ONNX export (embedlab encoders export-onnx) has no torch weights
    return TransformerEncoder(model, backend=backend, int8=int8, **options)
