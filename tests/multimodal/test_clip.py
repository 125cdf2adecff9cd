"""ClipEncoder on tiny random CLIP and SigLIP folders, checked against transformers itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from embedlab.encoders.clip import ClipEncoder, is_clip_folder
from embedlab.encoders.images import ImageProcessor
from embedlab.errors import FormatError
from embedlab.imagefiles import load_image

from .conftest import CAPTIONS, photo_files, torch


def _reference(folder: Path, texts: list[str], images: list[Path], *, siglip: bool) -> tuple:
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(folder)).eval()
    tok = AutoTokenizer.from_pretrained(str(folder))
    kw = {"padding": "max_length", "max_length": 16} if siglip else {"padding": True}
    enc = tok(texts, return_tensors="pt", truncation=True, **kw)
    pixels = np.stack([ImageProcessor.from_folder(folder)(load_image(p)) for p in images])
    with torch.inference_mode():
        t = model.get_text_features(
            input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
        )
        i = model.get_image_features(pixel_values=torch.from_numpy(pixels))
    t = t if hasattr(t, "shape") else t.pooler_output
    i = i if hasattr(i, "shape") else i.pooler_output
    return t.numpy(), i.numpy()


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_vectors_equal_transformers(kind: str, request: pytest.FixtureRequest) -> None:
    folder = request.getfixturevalue(f"tiny_{kind}")
    images = photo_files()
    texts = [*CAPTIONS, "a much longer caption about a dog running along the sandy beach"]
    enc = ClipEncoder(folder, normalize=False, batch_size=4)
    ref_text, ref_image = _reference(folder, texts, images, siglip=kind == "siglip")
    np.testing.assert_allclose(enc.encode(texts), ref_text, atol=1e-5)
    np.testing.assert_allclose(enc.encode_images(images), ref_image, atol=1e-5)
    unit = ClipEncoder(folder)
    vec = unit.encode_images(images[0])
    assert vec.shape == (unit.dim,) and abs(float(np.linalg.norm(vec)) - 1) < 1e-5
    assert unit.encode("a dog").shape == (unit.dim,) and is_clip_folder(folder)


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_onnx_towers_equal_transformers(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path))
    folder = request.getfixturevalue(f"tiny_{kind}")
    onnx_enc = ClipEncoder(folder, normalize=False, backend="onnx")
    images = photo_files()[:5]
    ref_text, ref_image = _reference(folder, CAPTIONS, images, siglip=kind == "siglip")
    np.testing.assert_allclose(onnx_enc.encode_images(images), ref_image, atol=1e-4)
    np.testing.assert_allclose(onnx_enc.encode(CAPTIONS), ref_text, atol=1e-4)
    assert any((tmp_path / "onnx-clip").rglob("vision_model.onnx"))


def test_sentence_transformers_clip_folder_and_images_of_every_kind(
    tiny_clip: Path, tmp_path: Path
) -> None:
    st = tmp_path / "st-clip"
    shutil.copytree(tiny_clip, st / "0_CLIPModel")
    (st / "modules.json").write_text(json.dumps(
        [{"idx": 0, "name": "0", "path": "0_CLIPModel",
          "type": "sentence_transformers.models.CLIPModel"}]
    ))  # fmt: skip
    enc = ClipEncoder(st)
    path = photo_files()[0]
    from_path = enc.encode_images([path])
    from_bytes = enc.encode_images([path.read_bytes()])
    from_array = enc.encode_images([np.asarray(load_image(path))])
    np.testing.assert_allclose(from_bytes, from_path, atol=1e-6)
    np.testing.assert_allclose(from_array, from_path, atol=1e-6)


def test_errors_name_the_file(tiny_clip: Path, tmp_path: Path) -> None:
    enc = ClipEncoder(tiny_clip)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photo")
    with pytest.raises(FormatError, match=r"bad\.jpg: expected an image"):
        enc.encode_images([photo_files()[0], bad])
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(FormatError, match="expected model_type clip or siglip, found 'bert'"):
        ClipEncoder(tmp_path / "bert")


def test_bf16_stays_close_to_fp32_and_is_torch_only(tiny_clip: Path) -> None:
    from embedlab.errors import ParameterError

    fast = ClipEncoder(tiny_clip, precision="bf16")
    exact = ClipEncoder(tiny_clip)
    images = photo_files()
    cosines = (fast.encode_images(images) * exact.encode_images(images)).sum(axis=1)
    assert cosines.min() > 0.99 and "bf16" in repr(fast)
    assert (fast.encode(CAPTIONS) * exact.encode(CAPTIONS)).sum(axis=1).min() > 0.99
    with pytest.raises(ParameterError, match="torch backend"):
        ClipEncoder(tiny_clip, precision="bf16", backend="onnx")
    with pytest.raises(ParameterError, match="precision"):
        ClipEncoder(tiny_clip, precision="fp8")  # type: ignore[arg-type]
