"""Image tasks of the evaluation: golden recalls on planted scores, and specs run end to end with
a toy colour encoder (an image is its mean colour; a text, the colours it names)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embedlab.evaluate import evaluate
from embedlab.evaluate.multimodal import image_text_retrieval
from embedlab.imagefiles import load_image
from embedlab.rows import normalized

from .conftest import Image

COLOURS = {"red": (220, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 220)}


class ColourEncoder:
    """Texts: counts of the colour words; images: the mean colour. Both unit rows in RGB."""

    name, dim, max_length = "colours", 3, None

    def encode(self, texts, *, batch_size=32, normalize=None, show_progress=None):  # type: ignore[no-untyped-def]
        rows = [[t.count(c) + 1e-3 for c in COLOURS] for t in texts]
        return normalized(np.array(rows, dtype=np.float32))

    def encode_images(self, images, *, batch_size=32, normalize=None, show_progress=None):  # type: ignore[no-untyped-def]
        rows = [np.asarray(load_image(i), dtype=np.float32).mean(axis=(0, 1)) for i in images]
        return normalized(np.array(rows))


def test_recalls_and_median_ranks_on_planted_scores() -> None:
    images = np.eye(4, dtype=np.float32)
    # captions 0,1 -> image 0; 2 -> image 1 (but nearest image 2); 3 -> image 2; 4 -> image 3
    captions = np.array(
        [[1, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 0.5, 0.6, 0], [0, 0, 1, 0], [0, 0.6, 0, 0.1]],
        dtype=np.float32,
    )
    r = image_text_retrieval(images, captions, [0, 0, 1, 2, 3])
    # text->image ranks: 1, 1, 2, 1, 2; image->text best ranks: 1, 2 (caption 4 beats 2), 1, 1
    assert r.text_to_image_r1 == pytest.approx(0.6) and r.text_to_image_r5 == 1.0
    assert r.text_to_image_median_rank == 1.0
    assert r.image_to_text_r1 == pytest.approx(0.75) and r.image_to_text_median_rank == 1.0
    assert r.main == pytest.approx((0.6 + 1 + 1 + 0.75 + 1 + 1) / 6)


def _photos(folder: Path) -> None:
    folder.mkdir()
    for colour, rgb in COLOURS.items():
        for k in range(2):
            noisy = np.clip(np.array(rgb) + 15 * k, 0, 255).astype(np.uint8)
            Image.fromarray(np.tile(noisy, (12, 16, 1))).save(folder / f"{colour}{k}.png")


def test_image_specs_run_through_evaluate(tmp_path: Path) -> None:
    _photos(tmp_path / "img")
    rows = ["image\tcaption\tlabel"]
    for colour in COLOURS:
        for k in range(2):
            rows.append(f"{colour}{k}.png\ta {colour} square\t{colour}")
            rows.append(f"{colour}{k}.png\tsomething {colour}, all {colour}\t{colour}")
    (tmp_path / "captions.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "split.tsv").write_text(
        "image\tsplit\n"
        + "".join(f"{c}{k}.png\t{'test' if k else 'train'}\n" for c in COLOURS for k in range(2))
    )
    (tmp_path / "ret.json").write_text(json.dumps({
        "type": "image-text-retrieval",
        "files": {"data": "captions.tsv", "images": "img", "split": "split.tsv"},
        "options": {"split": "test"},
    }))  # fmt: skip
    (tmp_path / "zs.json").write_text(json.dumps({
        "type": "zero-shot-images", "files": {"data": "captions.tsv", "images": "img"},
        "columns": {"label": "label"}, "options": {"templates": ["a photo of {}"]},
    }))  # fmt: skip
    report = evaluate(
        {"colours": ColourEncoder(), "text-only": _TextOnly()},
        [str(tmp_path / "ret.json"), str(tmp_path / "zs.json")],
    )
    ret = report.get("colours", "ret")
    assert ret is not None and ret.metrics["images"] == 3 and ret.metrics["captions"] == 6
    assert ret.metrics["text_to_image_r1"] == 1.0 and ret.main == 1.0
    zs = report.get("colours", "zs")
    assert zs is not None and zs.main == 1.0 and zs.metrics["labels"] == 3
    skipped = report.get("text-only", "ret")
    assert skipped is not None and skipped.main is None and "image encoder" in str(skipped.skipped)


class _TextOnly:
    name, dim, max_length = "text-only", 3, None

    def encode(self, texts, *, batch_size=32, normalize=None, show_progress=None):  # type: ignore[no-untyped-def]
        return ColourEncoder().encode(texts)


def test_zero_shot_classifier_ensembles_prompts(tmp_path: Path) -> None:
    from embedlab.encoders.zeroshot import ZeroShotClassifier, label_vectors
    from embedlab.errors import ParameterError

    _photos(tmp_path / "img")
    files = sorted((tmp_path / "img").glob("*.png"))
    clf = ZeroShotClassifier(ColourEncoder(), list(COLOURS), templates=["a {} photo", "{} things"])
    assert clf.predict(files) == [f.name[:-5] for f in files]
    p = clf.predict_proba(files)
    assert p.shape == (6, 3) and np.allclose(p.sum(axis=1), 1)
    one = ColourEncoder().encode(["a red photo", "red things"])
    expected = normalized(one.mean(axis=0, keepdims=True))[0]
    np.testing.assert_allclose(
        label_vectors(ColourEncoder(), ["red"], ["a {} photo", "{} things"])[0], expected, atol=1e-6
    )
    with pytest.raises(ParameterError, match="does not encode images"):
        ZeroShotClassifier(_TextOnly(), ["a"])
    with pytest.raises(ParameterError, match="distinct"):
        ZeroShotClassifier(ColourEncoder(), ["red", "red"])
