"""`LitEncoder`: a text-image model whose text side is a frozen sentence encoder ("locked text").

``embedlab train clip`` (:mod:`embedlab.neural.clip`) trains an image tower so a photo lands where
a frozen sentence encoder (MiniLM by default) puts its captions: LiT (Zhai et al. 2022) with the
towers swapped. The folder it writes opens here: ``encode(texts)`` is the sentence encoder's
output, ``encode_images(images)`` the image tower's, both unit length in one space. Folder::

    lit.json                  format, version, text model, backbone kind, dim, image size
    backbone/                 a transformers ResNetModel or CLIPVisionModel (config + safetensors)
    head.safetensors          the projection from the backbone's features to the text space
    preprocessor_config.json  resize / crop / normalise, read by ImageProcessor

``build_image_tower`` makes the torch module (backbone + linear head) for both the trainer and
this loader. This module does not train.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, ParameterError
from ..files import read_json
from ..imagefiles import DEFAULT_MAX_PIXELS, ImageSource
from ..optional import import_torch
from ..rows import normalize_inplace
from .base import FloatArray, check_batch_size
from .images import ImageProcessor, embed_images

__all__ = ["LIT_FORMAT", "LitEncoder", "build_image_tower", "is_lit_folder"]

LIT_FORMAT = "embedlab.lit"
LIT_VERSION = 1
BACKBONES = ("resnet", "clip")


def is_lit_folder(folder: str | os.PathLike[str]) -> bool:
    return (Path(folder) / "lit.json").is_file()


def _backbone_config(kind: str, width: int, depth: int, image_size: int) -> Any:
    """A small random backbone: a basic-block ResNet (ResNet-18's shape at ``width`` channels
    first) or a CLIP ViT (patch 16, ``width`` wide, ``depth`` layers)."""
    if kind == "resnet":
        from transformers import ResNetConfig

        return ResNetConfig(
            embedding_size=width, hidden_sizes=[width, 2 * width, 4 * width, 8 * width],
            depths=[depth] * 4, layer_type="basic",
        )  # fmt: skip
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        hidden_size=width, intermediate_size=4 * width, num_hidden_layers=depth,
        num_attention_heads=max(1, width // 64), image_size=image_size, patch_size=16,
    )  # fmt: skip


def build_image_tower(
    kind: str,
    dim: int,
    *,
    backbone: Any = None,
    width: int = 32,
    depth: int = 2,
    image_size: int = 96,
) -> Any:
    """The torch module images -> ``dim`` (unnormalised): ``backbone`` (a transformers
    ResNetModel or CLIPVisionModel; a random one of ``kind`` when None) then a linear head."""
    torch = import_torch()
    if kind not in BACKBONES:
        raise ParameterError(f"backbone must be one of {BACKBONES}; got {kind!r}")
    if backbone is None:
        from transformers import CLIPVisionModel, ResNetModel

        config = _backbone_config(kind, width, depth, image_size)
        backbone = ResNetModel(config) if kind == "resnet" else CLIPVisionModel(config)
    features = int(
        backbone.config.hidden_sizes[-1] if kind == "resnet" else backbone.config.hidden_size
    )

    class ImageTower(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone
            self.head = torch.nn.Linear(features, dim)
            self.kind = kind

        def forward(self, pixel_values: Any) -> Any:
            pooled = self.backbone(pixel_values=pixel_values).pooler_output
            return self.head(pooled.flatten(1))

    return ImageTower()


class LitEncoder:
    """Texts through a frozen sentence encoder, images through a trained tower, one space."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        threads: int | None = None,
        batch_size: int = 32,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        text_encoder: Any = None,
    ) -> None:
        torch = import_torch()
        from safetensors.torch import load_file
        from transformers import AutoModel

        root = Path(folder)
        meta = read_json(root / "lit.json")
        if meta.get("format") != LIT_FORMAT or meta.get("version") != LIT_VERSION:
            raise FormatError(
                root / "lit.json",
                f"expected format {LIT_FORMAT} version {LIT_VERSION}, found "
                f"{meta.get('format')} version {meta.get('version')}",
            )
        check_batch_size(batch_size, "LitEncoder")
        if threads is not None:
            torch.set_num_threads(threads)
        self.folder, self.meta = root, meta
        backbone = AutoModel.from_pretrained(str(root / "backbone"), use_safetensors=True)
        self.tower = build_image_tower(str(meta["backbone"]), int(meta["dim"]), backbone=backbone)
        self.tower.head.load_state_dict(load_file(str(root / "head.safetensors")))
        self.tower.eval()
        if text_encoder is None:
            from . import load_encoder

            source = meta.get("text_model")
            text_encoder = load_encoder(None if source in (None, "default") else str(source))
        if int(text_encoder.dim) != int(meta["dim"]):
            raise FormatError(
                root / "lit.json",
                f"expected a {meta['dim']}-dim text encoder, found {text_encoder.dim}",
            )
        self.text_encoder = text_encoder
        self.processor = ImageProcessor.from_folder(root)
        self.batch_size, self.max_pixels = batch_size, max_pixels
        self.image_threads = threads or min(os.cpu_count() or 1, 4)
        self._torch = torch

    @property
    def name(self) -> str:
        return str(self.folder)

    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    @property
    def max_length(self) -> int | None:
        return getattr(self.text_encoder, "max_length", None)

    def __repr__(self) -> str:
        return (
            f"LitEncoder({str(self.folder)!r}, text={self.text_encoder.name!r}, "
            f"image={self.meta['backbone']}, dim={self.dim})"
        )

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int | None = None,
        normalize: bool | None = None,
        show_progress: bool | None = None,
    ) -> FloatArray:
        """The locked text encoder's unit vectors (``normalize=False`` keeps its raw ones)."""
        return np.asarray(
            self.text_encoder.encode(
                texts, batch_size=batch_size or self.batch_size,
                normalize=True if normalize is None else normalize, show_progress=show_progress,
            ),
            dtype=np.float32,
        )  # fmt: skip

    def encode_images(
        self,
        images: ImageSource | Sequence[ImageSource],
        *,
        batch_size: int | None = None,
        normalize: bool | None = None,
        show_progress: bool | None = None,
    ) -> FloatArray:
        """Image vectors in input order: ``(n, dim)``, or ``(dim,)`` for one image."""
        single = not isinstance(images, list | tuple)
        items: list[ImageSource] = list(images) if isinstance(images, list | tuple) else [images]
        size = batch_size or self.batch_size
        check_batch_size(size, "LitEncoder")
        torch = self._torch

        def tower(pixels: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return np.asarray(self.tower(torch.from_numpy(pixels)).float().numpy())

        out = embed_images(
            items, tower, self.processor, self.dim, batch_size=size, threads=self.image_threads,
            max_pixels=self.max_pixels, show_progress=show_progress,
        )  # fmt: skip
        if normalize is None or normalize:
            normalize_inplace(out)
        return out[0] if single else out
