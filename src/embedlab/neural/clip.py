"""Training a text-image model on captioned photos: LiT with the towers swapped (locked text).

``train_clip("captions.tsv", "images/", args=TrainingArguments("out"))`` keeps a sentence encoder
(MiniLM by default) frozen as the text tower and trains an image tower (a small random ResNet or
ViT, or a loaded CLIP vision tower with ``init=``) plus a linear projection head so that each photo
lands near its captions: the symmetric InfoNCE loss of CLIP (Radford et al. 2021) over a batch of
photos and one caption each, with a learnable temperature (``exp(t)``, from 1/0.07, capped at 100),
as in "LiT: Zero-Shot Transfer with Locked-image text Tuning" (Zhai et al. 2022) but locking the
text side, which is what we have a good pretrained model for. The frozen captions are encoded
once. Photos are decoded once, resized so the shorter side is ``1.15 x image_size``; each epoch
takes a random ``image_size`` crop and a random horizontal flip of each (seeded by epoch, so a
resumed run sees the same ones), and inference centre-crops the same resized image. A share of the
training photos (``dev_fraction``) is held out to pick the best model by mean recall; the test
split is never looked at. The loop, checkpoints, resume, ``max_time`` and TensorBoard are
:mod:`embedlab.neural.training`'s; the result opens with :class:`embedlab.encoders.lit.LitEncoder`.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..encoders.images import CLIP_MEAN, CLIP_STD, ImageProcessor
from ..encoders.lit import LIT_FORMAT, LIT_VERSION, build_image_tower
from ..errors import ParameterError
from ..imagefiles import load_image, map_threads
from ..optional import import_torch
from .training import TrainingArguments, TrainResult, seed_everything, train

logger = logging.getLogger(__name__)

__all__ = ["train_clip"]

RESIZE = 1.15  # the shorter side is resized to this many crops


class _ClipTask:
    metric: str | None = "mean_recall"
    greater_is_better = True

    def __init__(
        self,
        tower: Any,
        pixels: list[npt.NDArray[np.uint8]],
        texts: npt.NDArray[np.float32],
        captions_of: list[list[int]],
        dev: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], list[int]] | None,
        *,
        batch_size: int,
        image_size: int,
        meta: dict[str, Any],
        processor: ImageProcessor,
    ) -> None:
        torch = import_torch()

        class LitModel(torch.nn.Module):  # type: ignore[misc,name-defined]
            def __init__(self) -> None:
                super().__init__()
                self.tower = tower
                self.logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))

        self.model = LitModel()
        if dev is None:
            self.metric = None
        self.torch = torch
        self.pixels, self.captions_of = pixels, captions_of
        self.texts = torch.from_numpy(texts)
        self.dev, self.batch_size, self.size = dev, batch_size, image_size
        self.meta, self.processor = meta, processor
        self.mean = np.array(CLIP_MEAN, np.float32)[:, None, None]
        self.std = np.array(CLIP_STD, np.float32)[:, None, None]

    def batches_per_epoch(self) -> int:
        return math.ceil(len(self.pixels) / self.batch_size)

    def _augment(self, image: npt.NDArray[np.uint8], rng: np.random.Generator) -> Any:
        h, w, _ = image.shape
        top = int(rng.integers(0, h - self.size + 1))
        left = int(rng.integers(0, w - self.size + 1))
        crop = image[top : top + self.size, left : left + self.size]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        chw = np.moveaxis(crop, -1, 0).astype(np.float32) / 255.0
        return (chw - self.mean) / self.std

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[Any]:
        order = rng.permutation(len(self.pixels))
        for at in range(0, len(order), self.batch_size):
            rows = order[at : at + self.batch_size]
            captions = [
                self.captions_of[i][int(rng.integers(len(self.captions_of[i])))] for i in rows
            ]
            images = np.stack([self._augment(self.pixels[i], rng) for i in rows])
            yield self.torch.from_numpy(images), self.torch.tensor(captions)

    def loss(self, batch: Any) -> Any:
        torch = self.torch
        images, captions = batch
        img = torch.nn.functional.normalize(self.model.tower(images).float(), dim=-1)
        txt = self.texts[captions]
        scale = self.model.logit_scale.clamp(max=math.log(100.0)).exp()
        logits = scale * img @ txt.T
        target = torch.arange(len(captions))
        return (
            torch.nn.functional.cross_entropy(logits, target)
            + torch.nn.functional.cross_entropy(logits.T, target)
        ) / 2

    def evaluate(self) -> dict[str, float]:
        if self.dev is None:
            return {}
        from ..evaluate.multimodal import image_text_retrieval

        torch = self.torch
        images, texts, owner = self.dev
        rows = []
        with torch.inference_mode():
            for at in range(0, len(images), 64):
                rows.append(self.model.tower(torch.from_numpy(images[at : at + 64])).float())
        img = torch.nn.functional.normalize(torch.cat(rows), dim=-1).numpy()
        r = image_text_retrieval(img, texts, owner)
        return {
            "mean_recall": r.main,
            "text_to_image_r10": r.text_to_image_r10,
            "image_to_text_r10": r.image_to_text_r10,
            "temperature": float(self.model.logit_scale.detach().exp()),
        }

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        tower = self.model.tower
        tower.backbone.save_pretrained(str(folder / "backbone"), safe_serialization=True)
        head = {k: v.detach().contiguous().float() for k, v in tower.head.state_dict().items()}
        save_file(head, str(folder / "head.safetensors"))
        meta = {**self.meta, "logit_scale": float(self.model.logit_scale.detach().exp())}
        (folder / "lit.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        config = {
            "image_processor_type": "CLIPImageProcessor",
            "size": {"shortest_edge": round(RESIZE * self.size)},
            "crop_size": {"height": self.size, "width": self.size},
            "do_center_crop": True, "resample": 3, "image_mean": list(CLIP_MEAN),
            "image_std": list(CLIP_STD),
        }  # fmt: skip
        (folder / "preprocessor_config.json").write_text(json.dumps(config, indent=2) + "\n")


def _resized(path: Path, short: int) -> npt.NDArray[np.uint8]:
    image = load_image(path)
    w, h = image.size
    scale = short / min(w, h)
    size = (max(short, round(w * scale)), max(short, round(h * scale)))
    return np.asarray(image.resize(size, resample=3), dtype=np.uint8)


def train_clip(
    captions: str | os.PathLike[str],
    images: str | os.PathLike[str],
    *,
    args: TrainingArguments,
    text_model: str | os.PathLike[str] | None = None,
    backbone: str = "resnet",
    init: str | os.PathLike[str] | None = None,
    width: int = 32,
    depth: int = 2,
    image_size: int = 96,
    split_table: str | os.PathLike[str] | None = None,
    split: str | None = "train",
    dev_fraction: float = 0.1,
    image_column: str | int = "image",
    text_column: str | int = "caption",
) -> TrainResult:
    """Train an image tower against a frozen text encoder on ``image<TAB>caption`` rows; see the
    module docstring. ``init``: a CLIP/SigLIP folder whose vision tower starts the image side."""
    from ..encoders import load_encoder
    from ..evaluate.multimodal import read_captioned

    if not 0 <= dev_fraction < 0.5:
        raise ParameterError(f"dev_fraction must be in [0, 0.5); got {dev_fraction}")
    if args.batch_size < 2:
        raise ParameterError("in-batch negatives need batch_size >= 2")
    paths, texts, owner = read_captioned(
        Path(captions), Path(images), image_column=image_column, text_column=text_column,
        split_table=None if split_table is None else Path(split_table),
        split=split if split_table is not None else None,
    )  # fmt: skip
    seed_everything(args.seed)
    text_encoder = load_encoder(None if text_model is None else str(text_model))
    logger.info("encoding %d captions with the frozen %s", len(texts), text_encoder.name)
    text_rows = np.asarray(text_encoder.encode(texts, normalize=True), dtype=np.float32)
    loaded = None
    if init is not None:
        from transformers import CLIPVisionModel

        loaded = CLIPVisionModel.from_pretrained(str(init), use_safetensors=True)
        backbone, image_size = "clip", int(getattr(loaded.config, "image_size", image_size))
    tower = build_image_tower(
        backbone, int(text_encoder.dim), backbone=loaded, width=width, depth=depth,
        image_size=image_size,
    )  # fmt: skip
    rng = np.random.default_rng(args.seed)
    shuffled = rng.permutation(len(paths))
    n_dev = round(dev_fraction * len(paths))
    if n_dev and len(paths) - n_dev < 2:
        raise ParameterError(f"{len(paths)} photos are too few to hold {n_dev} out")
    dev_rows, train_rows = sorted(shuffled[:n_dev].tolist()), sorted(shuffled[n_dev:].tolist())
    short = round(RESIZE * image_size)
    threads = args.threads or min(os.cpu_count() or 1, 4)
    pixels = map_threads(lambda i: _resized(paths[i], short), train_rows, threads)
    captions_of: dict[int, list[int]] = {}
    for c, o in enumerate(owner):
        captions_of.setdefault(o, []).append(c)
    processor = ImageProcessor(resize=("shortest_edge", short), crop=(image_size, image_size))
    dev = None
    if dev_rows:
        prepared = map_threads(lambda i: processor(load_image(paths[i])), dev_rows, threads)
        index = {img: n for n, img in enumerate(dev_rows)}
        dev_caps = [c for c, o in enumerate(owner) if o in index]
        dev = (
            np.stack(prepared), text_rows[dev_caps], [index[owner[c]] for c in dev_caps]
        )  # fmt: skip
    source = "default" if text_model is None else os.fspath(text_model)
    if source != "default" and Path(source).exists():
        source = str(Path(source).resolve())
    meta = {
        "format": LIT_FORMAT, "version": LIT_VERSION, "text_model": source,
        "backbone": backbone, "dim": int(text_encoder.dim), "image_size": image_size,
        "trained_on": {"photos": len(train_rows), "captions": len(texts), "dev_photos": n_dev},
    }  # fmt: skip
    task = _ClipTask(
        tower, pixels, text_rows, [captions_of[i] for i in train_rows], dev,
        batch_size=args.batch_size, image_size=image_size, meta=meta, processor=processor,
    )  # fmt: skip
    logger.info("training on %d photos (%d held out)", len(train_rows), n_dev)
    return train(task, args)
