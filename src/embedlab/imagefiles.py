"""Images in (the ground floor): reading photos safely, listing folders of them.

``load_image(path)`` opens a file (or bytes, an array, a PIL image) as it is displayed: EXIF
orientation applied (as ``transformers.image_utils.load_image`` does), transparency composited onto
white (as the image processors' ``convert_to_rgb`` does; a plain ``convert("RGB")`` would show
whatever colour hides under transparent pixels), converted to RGB. The size is read from the header
before any pixel is decoded, so a 20,000 x 20,000 file is refused (``max_pixels``) without
allocating it; a truncated file, or text named ``.jpg``, is a :class:`~embedlab.errors.FormatError`
naming the file. ``image_files(["photos/"])`` lists a folder's images (sorted, recursively) or
checks given files; ``read_images(..., on_error="skip")`` and ``encode_readable(encoder, files)``
leave out the files they cannot read, each named in one
:class:`~embedlab.errors.SkippedInputWarning`. Any layer that takes images reads them here; how a
model prepares them is :mod:`embedlab.encoders.images`. This module does not run models.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .errors import FormatError, ParameterError, SkippedInputWarning, check_choice
from .optional import require

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "ImageSource",
    "encode_readable",
    "image_files",
    "load_image",
    "map_threads",
    "read_images",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
# PIL's own "decompression bomb" warning threshold (about 9,459 x 9,459 pixels)
DEFAULT_MAX_PIXELS = 89_478_485

ImageSource = str | os.PathLike[str] | bytes | npt.NDArray[Any] | Any  # Any: a PIL image


def _pil() -> Any:
    return require("PIL.Image", "images", "images", package="pillow")


def _name(source: ImageSource, name: str | None) -> str:
    if name is not None:
        return name
    if isinstance(source, str | os.PathLike):
        return str(source)
    return f"<{type(source).__name__} image>"


def load_image(
    source: ImageSource, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, name: str | None = None
) -> Any:
    """An RGB PIL image from a path, encoded bytes, an ``(H, W)``/``(H, W, 3|4)`` uint8 array or a
    PIL image; EXIF rotation applied, transparency over white. ``name`` labels errors."""
    image_mod = _pil()
    from PIL import ImageOps, UnidentifiedImageError

    label = _name(source, name)
    if isinstance(source, np.ndarray):
        image = _from_array(source, label, image_mod)
    elif isinstance(source, image_mod.Image):
        image = source
    elif isinstance(source, bytes | str | os.PathLike):
        if isinstance(source, bytes):
            opened: Any = io.BytesIO(source)
        else:
            if not Path(source).is_file():
                raise FormatError(source, "expected an image file; no such file")
            opened = source
        try:
            with warnings.catch_warnings():  # max_pixels below decides, not PIL's warning
                warnings.simplefilter("ignore", image_mod.DecompressionBombWarning)
                image = image_mod.open(opened)
        except UnidentifiedImageError:
            raise FormatError(
                label, "expected an image (JPEG, PNG, WebP, ...); the bytes are not one"
            ) from None
        except image_mod.DecompressionBombError as e:  # PIL's own limit, twice its warning's
            found = re.search(r"\((\d+) pixels\)", str(e))
            pixels = f"{int(found.group(1)):,} pixels" if found else "more"
            raise FormatError(
                label,
                f"expected at most {max_pixels or DEFAULT_MAX_PIXELS:,} pixels, found {pixels}",
            ) from None
    else:
        raise ParameterError(
            f"an image is a path, bytes, a uint8 array or a PIL image; got {type(source).__name__}"
        )
    width, height = image.size
    if max_pixels is not None and width * height > max_pixels:
        image.close()
        raise FormatError(
            label,
            f"expected at most {max_pixels:,} pixels (max_pixels), found {width:,} x {height:,}",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", image_mod.DecompressionBombWarning)
            image.load()
            image = ImageOps.exif_transpose(image, in_place=False) or image
    except (OSError, SyntaxError, ValueError) as e:
        image.close()
        raise FormatError(label, f"expected a complete image; decoding failed: {e}") from None
    return _to_rgb(image, image_mod)


def _from_array(array: npt.NDArray[Any], label: str, image_mod: Any) -> Any:
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise FormatError(
            label, f"expected a uint8 (H, W) or (H, W, C) array, found {array.dtype} {array.shape}"
        )
    if array.ndim == 3 and array.shape[2] not in (1, 3, 4):
        raise FormatError(label, f"expected 1, 3 or 4 channels last, found shape {array.shape}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return image_mod.fromarray(np.ascontiguousarray(array))


def _to_rgb(image: Any, image_mod: Any) -> Any:
    """transformers' ``convert_to_rgb``: alpha (or palette transparency) composited onto white."""
    if "A" in image.getbands() or image.info.get("transparency") is not None:
        rgba = image.convert("RGBA")
        white = image_mod.new("RGBA", rgba.size, (255, 255, 255, 255))
        return image_mod.alpha_composite(white, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def image_files(sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The image files of folders (sorted, recursively, by suffix) and of files given by name.
    A folder without any image, or nothing at all, is a ParameterError."""
    given = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    out: list[Path] = []
    for item in given:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not found:
                raise ParameterError(
                    f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder"
                )
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise ParameterError(f"{path}: no such file or folder")
    if not out:
        raise ParameterError("no images given")
    return out


def map_threads(fn: Callable[[Any], Any], items: Sequence[Any], threads: int) -> list[Any]:
    """``[fn(x) for x in items]`` on up to ``threads`` threads, in order; the first exception
    (in input order) propagates. Decoding and resizing release the GIL, so threads overlap."""
    if threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        return list(pool.map(fn, items))


def _read(
    sources: Sequence[ImageSource],
    names: Sequence[str] | None,
    max_pixels: int | None,
    skip: bool,
    threads: int = 1,
) -> tuple[list[Any], list[int], list[str]]:
    def one(i: int) -> Any:
        label = names[i] if names is not None else None
        try:
            return load_image(sources[i], max_pixels=max_pixels, name=label)
        except FormatError as e:
            if not skip:
                raise
            return e

    images, kept, failed = [], [], []
    for i, result in enumerate(map_threads(one, range(len(sources)), threads)):
        if isinstance(result, FormatError):
            failed.append(str(result))
        else:
            images.append(result)
            kept.append(i)
    return images, kept, failed


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _warn_skipped(failed: list[str], total: int) -> None:
    listed = "; ".join(failed[:5]) + (f"; and {len(failed) - 5} more" if len(failed) > 5 else "")
    warnings.warn(
        f"skipped {len(failed)} of {total} images: {listed}", SkippedInputWarning, stacklevel=3
    )


def read_images(
    sources: Sequence[ImageSource],
    *,
    on_error: Literal["raise", "skip"] = "raise",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    names: Sequence[str] | None = None,
    threads: int = 1,
) -> tuple[list[Any], list[int]]:
    """RGB images and the input positions they came from (decoded on ``threads`` threads).
    ``on_error="skip"`` leaves out what cannot be read (one warning naming each) and raises only
    when nothing is left."""
    check_choice("on_error", "read_images", on_error, ("raise", "skip"))
    images, kept, failed = _read(sources, names, max_pixels, on_error == "skip", threads)
    if failed:
        if not images:
            raise FormatError(None, f"none of the {len(sources)} images could be read: {failed[0]}")
        _warn_skipped(failed, len(sources))
    return images, kept


def encode_readable(
    encoder: Any,
    sources: Sequence[ImageSource],
    *,
    batch_size: int = 32,
    normalize: bool | None = None,
    show_progress: bool | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    threads: int | None = None,
) -> tuple[npt.NDArray[np.float32], list[int]]:
    """An image encoder's rows for the readable ``sources`` and their positions, reading one
    batch at a time (a folder of any size fits in memory) on ``threads`` threads (default: one
    a core); what cannot be read is skipped with one warning naming each file, and nothing
    readable at all is an error."""
    from ._progress import progress

    rows, kept, failed = [], [], []
    with progress(total=len(sources), desc="encoding", unit="image", enabled=show_progress) as bar:
        for at in range(0, len(sources), batch_size):
            chunk = sources[at : at + batch_size]
            images, positions, bad = _read(chunk, None, max_pixels, True, threads or _cores())
            failed += bad
            if images:
                rows.append(
                    encoder.encode_images(images, normalize=normalize, batch_size=batch_size)
                )
                kept += [at + i for i in positions]
            bar.update(len(chunk))
    if not kept:
        first = failed[0] if failed else "no images given"
        raise FormatError(None, f"none of the {len(sources)} images could be read: {first}")
    if failed:
        _warn_skipped(failed, len(sources))
    return np.concatenate(rows).astype(np.float32, copy=False), kept
