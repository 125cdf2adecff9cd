"""Image tasks: text<->image retrieval over captioned photos, and zero-shot image labels.

``image_text_retrieval(images, captions, owner)`` takes unit image rows, unit caption rows and,
for each caption, the row of its image (a photo has several captions). Text->image: each caption
ranks all images, and the rank of its own image counts. Image->text: each image ranks all
captions, and the best rank among its own captions counts (the Karpathy-split protocol of
COCO/Flickr30k papers). Reported: recall@1/5/10 both ways, the median rank (1 = first), and the
mean of the six recalls as the main figure. ``zero_shot_scores`` scores label predictions
against gold labels. ``read_captioned`` and ``read_labelled`` read a spec's files: a table of
``image<TAB>caption`` (or label) rows, image paths relative to an image folder, and optionally a
split table (``image<TAB>split``) to keep one split. This module does not encode anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError
from ..records import read_columns

__all__ = [
    "ImageTextResult",
    "ZeroShotResult",
    "image_text_retrieval",
    "read_captioned",
    "zero_shot_scores",
]

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ImageTextResult:
    text_to_image_r1: float
    text_to_image_r5: float
    text_to_image_r10: float
    text_to_image_median_rank: float
    image_to_text_r1: float
    image_to_text_r5: float
    image_to_text_r10: float
    image_to_text_median_rank: float
    images: int
    captions: int

    @property
    def main(self) -> float:
        return float(
            np.mean([self.text_to_image_r1, self.text_to_image_r5, self.text_to_image_r10,
                     self.image_to_text_r1, self.image_to_text_r5, self.image_to_text_r10])
        )  # fmt: skip


@dataclass(frozen=True)
class ZeroShotResult:
    accuracy: float
    labels: int
    images: int

    @property
    def main(self) -> float:
        return self.accuracy


def _ranks(scores: Matrix, gold: Sequence[Sequence[int]]) -> npt.NDArray[np.int64]:
    """1-based rank of the best gold column in each row (ties count against the gold)."""
    out = np.empty(len(gold), dtype=np.int64)
    for i, cols in enumerate(gold):
        best = scores[i, list(cols)].max()
        out[i] = 1 + int((scores[i] > best).sum())
    return out


def image_text_retrieval(
    images: npt.ArrayLike, captions: npt.ArrayLike, owner: Sequence[int]
) -> ImageTextResult:
    """Recall@1/5/10 and median rank, text->image and image->text (see the module docstring)."""
    img = np.asarray(images, dtype=np.float32)
    cap = np.asarray(captions, dtype=np.float32)
    if len(owner) != len(cap) or len(img) == 0:
        raise ParameterError("expected one owner image per caption and at least one image")
    sims = cap @ img.T  # (captions, images)
    t2i = _ranks(sims, [[int(o)] for o in owner])
    own: list[list[int]] = [[] for _ in range(len(img))]
    for c, o in enumerate(owner):
        own[int(o)].append(c)
    if any(not o for o in own):
        raise ParameterError("every image needs at least one caption")
    i2t = _ranks(np.ascontiguousarray(sims.T), own)

    def recall(ranks: npt.NDArray[np.int64], k: int) -> float:
        return float((ranks <= k).mean())

    return ImageTextResult(
        recall(t2i, 1), recall(t2i, 5), recall(t2i, 10), float(np.median(t2i)),
        recall(i2t, 1), recall(i2t, 5), recall(i2t, 10), float(np.median(i2t)),
        len(img), len(cap),
    )  # fmt: skip


def zero_shot_scores(predicted: Sequence[str], gold: Sequence[str], labels: int) -> ZeroShotResult:
    if len(predicted) != len(gold) or not gold:
        raise ParameterError("expected one prediction per gold label")
    hits = sum(p == g for p, g in zip(predicted, gold, strict=True))
    return ZeroShotResult(hits / len(gold), labels, len(gold))


def read_captioned(
    table: Path,
    folder: Path,
    *,
    image_column: str | int = "image",
    text_column: str | int = "caption",
    split_table: Path | None = None,
    split: str | None = None,
) -> tuple[list[Path], list[str], list[int]]:
    """Image paths (one per distinct image, in first-seen order), the texts, and each text's
    image row; only the images of ``split`` when a split table is given."""
    rows = read_columns(table, {"image": image_column, "text": text_column})
    keep: set[str] | None = None
    if split_table is not None and split is not None:
        s = read_columns(split_table, {"image": "image", "split": "split"})
        keep = {i for i, sp in zip(s["image"], s["split"], strict=True) if sp == split}
        if not keep:
            raise FormatError(split_table, f"expected images of split {split!r}, found none")
    index: dict[str, int] = {}
    texts, owner = [], []
    for name, text in zip(rows["image"], rows["text"], strict=True):
        if keep is not None and name not in keep:
            continue
        owner.append(index.setdefault(name, len(index)))
        texts.append(str(text))
    paths = [folder / name for name in index]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise FormatError(table, f"expected the images it names in {folder}; missing {missing[0].name} "
                          f"and {len(missing) - 1} more")  # fmt: skip
    return paths, texts, owner
