"""How a model prepares images: the ``(n, 3, H, W)`` batch its vision tower takes.

``ImageProcessor.from_folder(model)`` reads ``preprocessor_config.json`` (CLIP: shortest edge to 224
by bicubic, centre crop 224; SigLIP: straight to 224 x 224, no crop) and turns RGB images (from
:func:`embedlab.imagefiles.load_image`) into float32 pixels with the operations of
``CLIPImageProcessor``'s PIL backend in the same order and precision (PIL resize on 8-bit pixels,
crop, ``x * (1/255)`` in float64 then float32, ``(x - mean) / std`` in float32), so the pixels
equal transformers' own. ``embed_images`` is the loop image encoders share: read and prepare a
batch on threads (PIL decodes and resizes off the GIL), run the model's tower on it, next batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import FormatError, ParameterError
from ..imagefiles import ImageSource, load_image, map_threads

__all__ = ["CLIP_MEAN", "CLIP_STD", "ImageProcessor", "embed_images"]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class ImageProcessor:
    """A model's image preparation: ``resize`` is ``("shortest_edge", n)`` or ``("exact", h,
    w)``; ``crop`` ``(h, w)`` or None; ``resample`` a PIL filter code (3: bicubic)."""

    resize: tuple[Any, ...] | None = ("shortest_edge", 224)
    crop: tuple[int, int] | None = (224, 224)
    resample: int = 3
    rescale: float | None = 1 / 255
    mean: tuple[float, float, float] | None = CLIP_MEAN
    std: tuple[float, float, float] | None = CLIP_STD

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ImageProcessor:
        """From the keys of a ``preprocessor_config.json`` (old and new spellings)."""
        kind = str(config.get("image_processor_type", config.get("feature_extractor_type", "")))
        siglip = "Siglip" in kind
        size = config.get("size", {"height": 224, "width": 224} if siglip else 224)
        resize: tuple[Any, ...] | None
        if isinstance(size, int):
            resize = ("exact", size, size) if siglip else ("shortest_edge", size)
        elif "shortest_edge" in size:
            resize = ("shortest_edge", int(size["shortest_edge"]))
        else:
            resize = ("exact", int(size["height"]), int(size["width"]))
        if not config.get("do_resize", True):
            resize = None
        crop_size = config.get("crop_size", 224)
        crop = (crop_size, crop_size) if isinstance(crop_size, int) else (
            int(crop_size["height"]), int(crop_size["width"])
        )  # fmt: skip
        do_crop = config.get("do_center_crop", not siglip)
        normalize = config.get("do_normalize", True)
        default_mean, default_std = ((0.5,) * 3, (0.5,) * 3) if siglip else (CLIP_MEAN, CLIP_STD)
        mean = tuple(config.get("image_mean", default_mean))
        std = tuple(config.get("image_std", default_std))
        return cls(
            resize=resize,
            crop=crop if do_crop else None,
            resample=int(config.get("resample", 3)),
            rescale=float(config.get("rescale_factor", 1 / 255))
            if config.get("do_rescale", True)
            else None,
            mean=mean if normalize else None,
            std=std if normalize else None,
        )

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str]) -> ImageProcessor:
        """From ``folder/preprocessor_config.json`` (CLIP's defaults when the file is absent)."""
        path = Path(folder) / "preprocessor_config.json"
        if not path.exists():
            return cls()
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise FormatError(path, f"expected JSON: {e.msg}", line=e.lineno) from None
        return cls.from_config(config)

    @property
    def output_size(self) -> tuple[int, int] | None:
        """The (height, width) of every prepared image, when fixed."""
        if self.crop is not None:
            return self.crop
        if self.resize is not None and self.resize[0] == "exact":
            return int(self.resize[1]), int(self.resize[2])
        return None

    def _resized(self, image: Any) -> Any:
        if self.resize is None:
            return image
        width, height = image.size
        if self.resize[0] == "exact":
            new_h, new_w = int(self.resize[1]), int(self.resize[2])
        else:  # transformers' get_resize_output_image_size(default_to_square=False)
            short, long = (width, height) if width <= height else (height, width)
            new_short, new_long = int(self.resize[1]), int(int(self.resize[1]) * long / short)
            new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
        if (new_w, new_h) == (width, height):
            return image
        return image.resize((new_w, new_h), resample=self.resample)

    def _cropped(self, pixels: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """transformers' ``center_crop`` on (C, H, W): a smaller image is padded with zeros."""
        if self.crop is None:
            return pixels
        crop_h, crop_w = self.crop
        _, height, width = pixels.shape
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
        if top >= 0 and left >= 0:
            return pixels[:, top : top + crop_h, left : left + crop_w]
        new_h, new_w = max(crop_h, height), max(crop_w, width)
        canvas = np.zeros((pixels.shape[0], new_h, new_w), dtype=pixels.dtype)
        pad_top, pad_left = -(-(new_h - height) // 2), -(-(new_w - width) // 2)
        canvas[:, pad_top : pad_top + height, pad_left : pad_left + width] = pixels
        top, left = top + pad_top, left + pad_left
        return canvas[
            :, max(0, top) : min(new_h, top + crop_h), max(0, left) : min(new_w, left + crop_w)
        ]

    def __call__(self, image: Any) -> npt.NDArray[np.float32]:
        """One RGB PIL image -> ``(3, H, W)`` float32."""
        pixels = np.asarray(self._resized(image))
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        chw = self._cropped(np.moveaxis(pixels, -1, 0))
        out: npt.NDArray[Any] = chw
        if self.rescale is not None:
            out = (chw.astype(np.float64) * self.rescale).astype(np.float32)
        if self.mean is not None and self.std is not None:
            if not np.issubdtype(out.dtype, np.floating):
                out = out.astype(np.float32)
            mean = np.array(self.mean, dtype=out.dtype)
            std = np.array(self.std, dtype=out.dtype)
            out = ((out.T - mean) / std).T
        return np.ascontiguousarray(out, dtype=np.float32)

    def batch(self, images: Sequence[Any]) -> npt.NDArray[np.float32]:
        """RGB PIL images -> ``(n, 3, H, W)`` float32 (one size: the model's)."""
        return self.stack([self(image) for image in images])

    @staticmethod
    def stack(arrays: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        """Prepared images -> one batch; an error when their sizes differ."""
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ParameterError(
                f"prepared images differ in size {sorted(shapes)}: this processor neither crops "
                "nor resizes to a fixed size"
            )
        return np.stack(arrays)


def embed_images(
    items: Sequence[ImageSource],
    tower: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]],
    processor: ImageProcessor,
    dim: int,
    *,
    batch_size: int,
    threads: int,
    max_pixels: int | None,
    names: Sequence[str | None] | None = None,
    show_progress: bool | None = None,
) -> npt.NDArray[np.float32]:
    """``(n, dim)`` rows of ``tower(pixels)`` in input order; an unreadable image is a
    FormatError naming it (``names`` label the inputs that are not paths)."""
    labels = list(names) if names is not None else [None] * len(items)
    tasks = list(zip(items, labels, strict=True))

    def pixels(task: tuple[ImageSource, str | None]) -> npt.NDArray[np.float32]:
        return processor(load_image(task[0], max_pixels=max_pixels, name=task[1]))

    out = np.empty((len(items), dim), dtype=np.float32)
    with progress(total=len(items), desc="encoding", unit="image", enabled=show_progress) as bar:
        for at in range(0, len(items), batch_size):
            batch = map_threads(pixels, tasks[at : at + batch_size], threads)
            out[at : at + len(batch)] = tower(processor.stack(batch))
            bar.update(len(batch))
    return out
