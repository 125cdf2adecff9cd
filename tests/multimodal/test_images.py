"""Reading photos safely and preparing them exactly as transformers' image processors do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab.encoders.images import ImageProcessor
from embedlab.errors import FormatError, ParameterError, SkippedInputWarning
from embedlab.imagefiles import image_files, load_image, read_images

from .conftest import Image, photo_files


def test_preprocessing_equals_the_clip_and_siglip_processors(varied_photos: list[Path]) -> None:
    from PIL import ImageOps
    from transformers import CLIPImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    assert len(varied_photos) == 20
    for reference in (CLIPImageProcessorPil(), SiglipImageProcessorPil()):
        mine = ImageProcessor.from_config(reference.to_dict())
        for path in varied_photos:
            with Image.open(path) as opened:  # the photo as displayed
                shown = ImageOps.exif_transpose(opened)
                expected = reference(shown, return_tensors="np")["pixel_values"][0]
            got = mine(load_image(path))
            assert got.dtype == np.float32 and got.shape == expected.shape == (3, 224, 224)
            np.testing.assert_allclose(got, expected, atol=1e-6, err_msg=str(path))


def test_exif_rotation_alpha_and_grayscale_are_applied(varied_photos: list[Path]) -> None:
    by_name = {p.name: p for p in varied_photos}
    with Image.open(by_name["rotated.jpg"]) as raw:
        stored = raw.size
    rotated = load_image(by_name["rotated.jpg"])
    assert rotated.size == stored[::-1] and rotated.mode == "RGB"
    rgba = np.asarray(load_image(by_name["rgba.png"]))
    assert (rgba[10:60, 20:90] == 255).all()  # the transparent hole is white
    assert load_image(by_name["gray.jpg"]).mode == "RGB"
    with Image.open(photo_files()[0]) as opened:
        array = np.asarray(opened.convert("RGB"))
    assert np.array_equal(np.asarray(load_image(array)), array)
    assert load_image(array[:, :, 0]).mode == "RGB"


def test_bad_images_are_clear_errors(tmp_path: Path) -> None:
    good = photo_files()[0]
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(FormatError, match=r"cut\.jpg: expected a complete image"):
        load_image(truncated)
    text = tmp_path / "notes.jpg"
    text.write_text("these are my holiday notes, not a photo\n")
    with pytest.raises(FormatError, match=r"notes\.jpg: expected an image \(JPEG, PNG"):
        load_image(text)
    huge = tmp_path / "huge.png"
    Image.new("1", (20_000, 20_000)).save(huge)  # 1 bit a pixel: a small file, 400 Mpx
    with pytest.raises(
        FormatError, match=r"huge\.png: expected at most 89,478,485 pixels, found 400,0"
    ):
        load_image(huge)
    big = tmp_path / "big.png"
    Image.new("1", (12_000, 9_000)).save(big)  # over our limit, under PIL's own
    with pytest.raises(
        FormatError, match=r"big\.png: expected at most 50,000,000 .* 12,000 x 9,000"
    ):
        load_image(big, max_pixels=50_000_000)
    with pytest.raises(FormatError, match="<bytes image>: expected an image"):
        load_image(b"\x00\x01garbage")
    with pytest.raises(FormatError, match="expected a uint8"):
        load_image(np.zeros((4, 4, 3), dtype=np.float32))


def test_folders_skip_bad_files_with_one_warning(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no image files"):
        image_files(tmp_path)
    good = photo_files()[:2]
    for g in good:
        (tmp_path / g.name).write_bytes(g.read_bytes())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.jpg").write_text("not an image")
    (tmp_path / "readme.txt").write_text("ignored: not an image suffix")
    files = image_files(tmp_path)
    assert [f.name for f in files] == [*sorted([g.name for g in good]), "bad.jpg"]
    with pytest.warns(SkippedInputWarning, match=r"skipped 1 of 3 images: .*bad\.jpg"):
        images, kept = read_images(files, on_error="skip")
    assert kept == [0, 1] and len(images) == 2
    with pytest.raises(FormatError, match=r"bad\.jpg"):
        read_images(files)
    with pytest.raises(FormatError, match="none of the 1 images could be read"):
        read_images([files[-1]], on_error="skip")
    with pytest.raises(ParameterError, match="no such file"):
        image_files([tmp_path / "missing.jpg"])
