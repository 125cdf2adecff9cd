"""Images through the CLI: embed a folder, index and search it by text and by image."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from clirun import run
from embedlab.encoders.clip import ClipEncoder

from .conftest import photo_files


def _album(tmp_path: Path) -> Path:
    album = tmp_path / "album"
    (album / "trip").mkdir(parents=True)
    for i, f in enumerate(photo_files()[:6]):
        shutil.copy2(f, (album / "trip" if i % 2 else album) / f.name)
    return album


def test_embed_a_folder_of_images(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_clip: Path
) -> None:
    album = _album(tmp_path)
    (album / "broken.jpg").write_text("not a photo")
    out = tmp_path / "photos.npy"
    code, stdout, err = run(capsys, "embed", str(album), "-o", str(out), "-m", str(tiny_clip))
    assert code == 0, err
    assert "images:  6 of 7 files" in stdout
    assert "skipped 1 of 7 images" in err and "broken.jpg: expected an image" in err
    ids = (tmp_path / "photos.ids.txt").read_text().split("\n")[:-1]
    assert len(ids) == 6 and sum(i.startswith("trip/") for i in ids) == 3
    vectors = np.load(out)
    expected = ClipEncoder(tiny_clip).encode_images([album / i for i in ids])
    np.testing.assert_allclose(vectors, expected, atol=1e-5)


def test_embed_images_needs_an_image_model_and_images(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_clip: Path
) -> None:
    album = _album(tmp_path)
    code, _, err = run(capsys, "embed", str(album), "-o", str(tmp_path / "x.npy"))
    assert code == 1 and "embedding images needs a CLIP or SigLIP model" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run(
        capsys,
        "embed",
        str(tmp_path / "empty"),
        "-o",
        str(tmp_path / "x.npy"),
        "-m",
        str(tiny_clip),
    )
    assert code == 1 and "no image files" in err
    assert not (tmp_path / "x.npy").exists()


def test_index_images_then_search_by_text_and_by_image(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_clip: Path
) -> None:
    album = _album(tmp_path)
    (album / "broken.png").write_bytes(b"\x89PNG but cut")
    col = tmp_path / "photo-col"
    code, out, err = run(
        capsys, "index", "build", str(album), "--images", "-o", str(col), "-m", str(tiny_clip),
        "--index", "exact",
    )  # fmt: skip
    assert code == 0, err
    assert "indexed 6 of 7 images" in out and "broken.png" in err
    enc = ClipEncoder(tiny_clip)
    files = sorted(p for p in album.rglob("*.jpg"))
    rows = enc.encode_images(files)
    query = photo_files()[2]
    code, out, err = run(capsys, "index", "search", str(col), "--image", str(query), "-k", "3")
    assert code == 0, err
    best = out.split("\n")[0].split()
    assert best[1].endswith(query.name) and float(best[0]) == pytest.approx(1.0, abs=1e-4)
    code, out, err = run(capsys, "index", "search", str(col), "a dog runs on the beach", "-k", "6")
    assert code == 0, err
    text = enc.encode("a dog runs on the beach")
    expected = [files[i].relative_to(album).as_posix() for i in np.argsort(-(rows @ text))]
    assert [line.split()[1] for line in out.strip().split("\n")] == expected
    code, _, err = run(capsys, "index", "search", str(col), "x", "--image", str(query))
    assert code == 1 and "not both" in err
    code, _, err = run(capsys, "index", "search", str(col), "x", "--mode", "sparse")
    assert code == 1 and "needs a text query and a text collection" in err


def test_image_collection_api_refuses_texts_and_text_encoders(
    tmp_path: Path, tiny_clip: Path
) -> None:
    from embedlab.errors import ParameterError
    from embedlab.search import Collection
    from embedlab.search.images import add_images, search_by_image

    col = Collection.create(tmp_path / "c", ClipEncoder(tiny_clip), content="images", index="exact")
    with pytest.raises(ParameterError, match="takes vectors"):
        col.add(["a"], ["some text"])
    kept = add_images(
        col, photo_files()[:3], ids=["x", "y", "z"], metadata=[{"n": i} for i in range(3)]
    )
    assert kept == [0, 1, 2] and len(col) == 3 and col.info()["content"] == "images"
    assert [d.id for d in search_by_image(col, photo_files()[1], 1, where={"n": 1})] == ["y"]
    texts = Collection.create(tmp_path / "t", ClipEncoder(tiny_clip), index="exact")
    with pytest.raises(ParameterError, match="holds texts"):
        add_images(texts, photo_files()[:1])


def test_classify_images_zero_shot(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_clip: Path
) -> None:
    from embedlab.encoders.zeroshot import ZeroShotClassifier

    album = _album(tmp_path)
    out = tmp_path / "labels.csv"
    code, stdout, err = run(
        capsys, "classify-images", str(album), "--labels", "dog, beach ,bicycle", "-m", str(tiny_clip),
        "--template", "a photo of a {}.", "--template", "a {} outside.", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    files = sorted(album.rglob("*.jpg"))
    clf = ZeroShotClassifier(ClipEncoder(tiny_clip), ["dog", "beach", "bicycle"],
                             templates=["a photo of a {}.", "a {} outside."])  # fmt: skip
    probs = clf.predict_proba(files)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    lines = stdout.strip().split("\n")[:-1]
    assert [ln.split()[1] for ln in lines] == clf.predict(files)
    rows = out.read_text().strip().split("\n")
    assert rows[0] == "image,label,dog,beach,bicycle" and len(rows) == 7
    np.testing.assert_allclose([float(x) for x in rows[1].split(",")[2:]], probs[0], atol=1e-5)
    code, _, err = run(capsys, "classify-images", str(album), "--labels", "a,b", "-m", str(tiny_clip),
                       "--template", "no slot")  # fmt: skip
    assert code == 1 and "needs a '{}'" in err


def test_viz_images_embeds_thumbnails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_clip: Path
) -> None:
    import base64
    import io
    import json
    import re

    from .conftest import Image

    album = _album(tmp_path)
    (album / "trip" / "bad.jpg").write_text("nope")
    out = tmp_path / "photos.html"
    code, stdout, err = run(
        capsys, "viz", "images", str(album), "-o", str(out), "-m", str(tiny_clip), "--by-folder"
    )
    assert code == 0, err
    assert "skipped 1 of 7 images" in err and f"wrote {out} (from 7 image files)" in stdout
    page = out.read_text()
    raw = re.search(r'<script id="data" type="application/json">(.*?)</script>', page, re.S)
    assert raw is not None
    data = json.loads(raw.group(1))
    assert len(data["thumbs"]) == len(data["x"]) == 6 and data["show_thumbs"] is True
    assert sorted(data["labels"]) == ["album", "trip"]
    head, _, body = data["thumbs"][0].partition(",")
    assert head == "data:image/jpeg;base64"
    thumb = Image.open(io.BytesIO(base64.b64decode(body)))
    assert max(thumb.size) == 96 and thumb.format == "JPEG"
    assert data["text"][0] in {f.name for f in album.rglob("*.jpg")}


def test_embed_bf16_is_for_images(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_clip: Path
) -> None:
    album = _album(tmp_path)
    code, stdout, err = run(
        capsys, "embed", str(album), "-o", str(tmp_path / "b.npy"), "-m", str(tiny_clip), "--bf16"
    )
    assert code == 0 and "bf16" in stdout, err
    (tmp_path / "t.txt").write_text("a line\n")
    code, _, err = run(
        capsys, "embed", str(tmp_path / "t.txt"), "-o", str(tmp_path / "t.npy"), "--bf16"
    )
    assert code == 1 and "--bf16 is for image folders" in err
