"""`ClipEncoder`: texts and images in one vector space (CLIP and SigLIP models), on torch or ONNX.

``ClipEncoder("openai/clip-vit-base-patch32")`` loads a transformers ``CLIPModel`` or
``SiglipModel`` folder or hub id, or a sentence-transformers CLIP folder (its ``0_CLIPModel``
module). ``encode(texts)`` meets the :class:`~embedlab.encoders.base.Encoder` contract, so search,
evaluation and the server take it like any text encoder; ``encode_images(images)`` takes paths,
encoded bytes, uint8 arrays or PIL images (see :mod:`embedlab.encoders.images`) and returns rows
of the same space, unit length by default (CLIP compares by cosine). Text batches are sorted by
length (CLIP's causal text tower ignores padding); SigLIP texts are padded to the model's fixed
length, as it was trained (it pools the last position). ``backend="onnx"`` runs each tower as an
ONNX Runtime session, exported once and cached. This module does not train (see
:mod:`embedlab.neural.clip`).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._progress import progress
from ..errors import FormatError, ParameterError, check_choice
from ..files import atomic_dir, read_json
from ..imagefiles import DEFAULT_MAX_PIXELS, ImageSource
from ..optional import import_torch, require
from ..rows import normalize_inplace
from .base import FloatArray, as_texts, check_batch_size, length_sorted_batches, pad_ids
from .folders import resolve_model
from .images import ImageProcessor, embed_images

logger = logging.getLogger(__name__)

__all__ = ["ClipEncoder", "clip_folder", "is_clip_folder"]

_KINDS = ("clip", "siglip")
_ONNX_FILES = {"text": "text_model.onnx", "image": "vision_model.onnx"}


def clip_folder(folder: Path) -> Path:
    """The transformers folder inside ``folder`` (a sentence-transformers CLIP folder keeps it in
    its first module's path), or ``folder`` itself."""
    modules = folder / "modules.json"
    if modules.exists():
        for module in read_json(modules):
            if str(module.get("type", "")).endswith("CLIPModel"):
                return folder / str(module.get("path", ""))
    return folder


def is_clip_folder(folder: str | os.PathLike[str]) -> bool:
    """Whether a local folder holds a CLIP or SigLIP model (by its config's ``model_type``)."""
    path = clip_folder(Path(folder))
    config = path / "config.json"
    if not config.exists():
        return False
    try:
        return read_json(config).get("model_type") in _KINDS
    except FormatError:
        return False


class _TorchTowers:
    """The model in eval mode; each tower's projected features as numpy."""

    def __init__(
        self, folder: Path, *, threads: int | None, device: str, precision: str = "fp32"
    ) -> None:
        torch = import_torch()
        from transformers import AutoModel

        if threads is not None:
            torch.set_num_threads(threads)
        if not any(folder.glob("*.safetensors")):
            raise FormatError(
                folder,
                "no model.safetensors here (embedlab does not unpickle pytorch_model.bin files)",
            )
        try:
            self.model = AutoModel.from_pretrained(str(folder), use_safetensors=True)
        except (OSError, ValueError) as e:
            raise FormatError(folder, f"transformers could not load the model: {e}") from e
        self.model = self.model.to(device).eval()
        self.device, self._torch = device, torch
        self.bf16 = precision == "bf16"

    def _cast(self) -> Any:
        """bf16 autocast when asked for (a no-op context otherwise)."""
        kind = self.device.split(":")[0]
        return self._torch.autocast(kind, dtype=self._torch.bfloat16, enabled=self.bf16)

    @staticmethod
    def _features(out: Any) -> Any:
        # transformers 4 returns the projected tensor; 5 returns an output whose pooler_output is it
        return out if hasattr(out, "shape") else out.pooler_output

    def text(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode(), self._cast():
            out = self.model.get_text_features(
                input_ids=torch.from_numpy(ids).to(self.device),
                attention_mask=torch.from_numpy(mask).to(self.device),
            )
        return np.asarray(self._features(out).float().cpu().numpy(), dtype=np.float32)

    def image(self, pixels: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode(), self._cast():
            out = self.model.get_image_features(
                pixel_values=torch.from_numpy(pixels).to(self.device)
            )
        return np.asarray(self._features(out).float().cpu().numpy(), dtype=np.float32)


class _OnnxTowers:
    """The two towers as ONNX Runtime sessions (files from :func:`export_clip_onnx`)."""

    def __init__(self, folder: Path, *, threads: int | None) -> None:
        ort = require("onnxruntime", "onnx", "the ONNX backend")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.sessions = {}
        for tower, name in _ONNX_FILES.items():
            try:
                self.sessions[tower] = ort.InferenceSession(
                    str(folder / name), options, providers=["CPUExecutionProvider"]
                )
            except Exception as e:
                raise FormatError(folder / name, f"onnxruntime could not load it: {e}") from e
        self.text_inputs = {i.name for i in self.sessions["text"].get_inputs()}

    def text(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids}
        if "attention_mask" in self.text_inputs:
            feed["attention_mask"] = mask
        (out,) = self.sessions["text"].run(None, feed)
        return np.asarray(out, dtype=np.float32)

    def image(self, pixels: np.ndarray) -> np.ndarray:
        (out,) = self.sessions["image"].run(None, {"pixel_values": pixels})
        return np.asarray(out, dtype=np.float32)


def export_clip_onnx(folder: Path, out: Path, *, opset: int = 17) -> Path:
    """Both towers of a CLIP/SigLIP folder as ONNX files in ``out`` (written atomically)."""
    torch = import_torch()
    import warnings

    model = _TorchTowers(folder, threads=None, device="cpu").model
    config = model.config
    vision = config.vision_config

    class Text(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            out = self.inner.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
            return _TorchTowers._features(out)

    class Vision(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, pixel_values: Any) -> Any:
            return _TorchTowers._features(self.inner.get_image_features(pixel_values=pixel_values))

    ids = torch.ones((2, 7), dtype=torch.long)
    pixels = torch.zeros((2, 3, vision.image_size, vision.image_size))
    with atomic_dir(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings are about shapes we vary
        torch.onnx.export(
            Text().eval(), (ids, torch.ones_like(ids)), str(tmp / _ONNX_FILES["text"]),
            input_names=["input_ids", "attention_mask"], output_names=["text_embeds"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                          "attention_mask": {0: "batch", 1: "tokens"},
                          "text_embeds": {0: "batch"}},
            opset_version=opset, do_constant_folding=True, dynamo=False,
        )  # fmt: skip
        torch.onnx.export(
            Vision().eval(), (pixels,), str(tmp / _ONNX_FILES["image"]),
            input_names=["pixel_values"], output_names=["image_embeds"],
            dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}},
            opset_version=opset, do_constant_folding=True, dynamo=False,
        )  # fmt: skip
    return out


def _onnx_folder(folder: Path) -> Path:
    """The folder's own ``onnx/`` towers, else a cached export."""
    if all((folder / "onnx" / name).exists() for name in _ONNX_FILES.values()):
        return folder / "onnx"
    from .onnx import _fingerprint, cache_dir

    cached = cache_dir() / "onnx-clip" / _fingerprint(folder)
    if not all((cached / name).exists() for name in _ONNX_FILES.values()):
        logger.warning("exporting %s to ONNX (cached in %s)", folder, cached)
        if cached.exists():
            shutil.rmtree(cached)
        export_clip_onnx(folder, cached)
    return cached


class ClipEncoder:
    """Encode texts and images into one space with a CLIP or SigLIP model.

    >>> enc = ClipEncoder("openai/clip-vit-base-patch32")          # doctest: +SKIP
    >>> enc.encode_images(["dog.jpg"]) @ enc.encode(["a dog", "a car"]).T  # doctest: +SKIP
    array([[0.27, 0.18]], dtype=float32)

    ``max_pixels`` bounds the images read (larger ones are refused before decoding);
    ``image_threads`` decode and resize a batch's images side by side (default: ``threads``, else
    up to 4 cores). ``precision="bf16"`` runs the torch towers under bf16 autocast: about 3x the
    images a second of fp32 for a ViT-B/32 on a CPU with AMX, vectors within cosine 0.99999 of
    fp32's (benchmarks/images.py); slow on CPUs without native bf16. fp32 (the default) gives
    transformers' own vectors.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        backend: Literal["torch", "onnx"] = "torch",
        normalize: bool = True,
        threads: int | None = None,
        device: str = "cpu",
        revision: str | None = None,
        batch_size: int = 32,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        image_threads: int | None = None,
        precision: Literal["fp32", "bf16"] = "fp32",
    ) -> None:
        check_choice("backend", "ClipEncoder", backend, ("torch", "onnx"))
        check_choice("precision", "ClipEncoder", precision, ("fp32", "bf16"))
        if precision == "bf16" and backend != "torch":
            raise ParameterError("precision='bf16' runs on the torch backend")
        check_batch_size(batch_size, "ClipEncoder")
        root = resolve_model(model, revision=revision)
        self.folder = clip_folder(root)
        config_file = self.folder / "config.json"
        if not config_file.exists():
            raise FormatError(self.folder, "expected a CLIP or SigLIP model folder (config.json)")
        config = read_json(config_file)
        self.kind = str(config.get("model_type"))
        if self.kind not in _KINDS:
            raise FormatError(
                config_file, f"expected model_type clip or siglip, found {self.kind!r}"
            )
        self._name = os.fspath(model)
        from transformers import AutoTokenizer

        import_torch()
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
        self.processor = ImageProcessor.from_folder(self.folder)
        text_config = config.get("text_config") or {}
        self._max_length = int(text_config.get("max_position_embeddings", 77))
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.tokenizer.eos_token_id or 0
        self.backend_name = backend
        self.precision = precision
        self.towers: _TorchTowers | _OnnxTowers = (
            _TorchTowers(self.folder, threads=threads, device=device, precision=precision)
            if backend == "torch"
            else _OnnxTowers(_onnx_folder(self.folder), threads=threads)
        )
        if self.kind == "clip":
            self._dim = int(config.get("projection_dim", 512))
        else:
            self._dim = int(
                text_config.get("projection_size") or text_config.get("hidden_size", 768)
            )
        self.normalize = normalize
        self.batch_size = batch_size
        self.max_pixels = max_pixels
        self.image_threads = image_threads or threads or min(os.cpu_count() or 1, 4)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_length(self) -> int:
        return self._max_length

    def __repr__(self) -> str:
        bf16 = ", bf16" if self.precision == "bf16" else ""
        return (
            f"ClipEncoder({self._name!r}, kind={self.kind}, dim={self._dim}, "
            f"backend={self.backend_name}{bf16})"
        )

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, with the model's special tokens, cut at ``max_length``."""
        out = self.tokenizer(list(texts), truncation=True, max_length=self._max_length)
        return [list(ids) for ids in out["input_ids"]]

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int | None = None,
        normalize: bool | None = None,
        show_progress: bool | None = None,
    ) -> FloatArray:
        """Text vectors in input order: ``(n, dim)``, or ``(dim,)`` for one string."""
        items, single = as_texts(texts, "ClipEncoder")
        size = self.batch_size if batch_size is None else batch_size
        check_batch_size(size, "ClipEncoder")
        out = np.empty((len(items), self._dim), dtype=np.float32)
        ids = self.tokenize(items) if items else []
        fixed = self.kind == "siglip"  # SigLIP pools the last position: pad as in training
        lengths = [self._max_length if fixed else len(x) for x in ids]
        with progress(total=len(ids), desc="encoding", unit="text", enabled=show_progress) as bar:
            for batch in length_sorted_batches(lengths, size):
                rows = [ids[i] for i in batch]
                if fixed:
                    rows = [r + [self.pad_id] * (self._max_length - len(r)) for r in rows]
                padded, mask = pad_ids(rows, self.pad_id)
                out[batch] = self.towers.text(padded, mask)
                bar.update(len(batch))
        return self._finish(out, normalize, single)

    def encode_images(
        self,
        images: ImageSource | Sequence[ImageSource],
        *,
        batch_size: int | None = None,
        normalize: bool | None = None,
        show_progress: bool | None = None,
        names: Sequence[str] | None = None,
    ) -> FloatArray:
        """Image vectors in input order: ``(n, dim)``, or ``(dim,)`` for one image. Any image
        that cannot be read is an error naming it (``names`` label inputs that are not paths)."""
        single = not isinstance(images, list | tuple)
        items: list[ImageSource] = list(images) if isinstance(images, list | tuple) else [images]
        size = self.batch_size if batch_size is None else batch_size
        check_batch_size(size, "ClipEncoder")
        out = embed_images(
            items, self.towers.image, self.processor, self._dim, batch_size=size,
            threads=self.image_threads, max_pixels=self.max_pixels, names=names,
            show_progress=show_progress,
        )  # fmt: skip
        return self._finish(out, normalize, single)

    def _finish(self, out: FloatArray, normalize: bool | None, single: bool) -> FloatArray:
        if self.normalize if normalize is None else normalize:
            normalize_inplace(out)
        return out[0] if single else out

    def similarity(self, images: FloatArray, texts: FloatArray) -> FloatArray:
        """Cosine similarity of image rows to text rows, ``(n_images, n_texts)``."""
        if images.shape[-1] != self._dim or texts.shape[-1] != self._dim:
            raise ParameterError(f"expected rows of dimension {self._dim}")
        a = normalize_inplace(np.array(images, dtype=np.float32, ndmin=2))
        b = normalize_inplace(np.array(texts, dtype=np.float32, ndmin=2))
        return np.asarray(a @ b.T, dtype=np.float32)
