"""Compressed native folders: int8 and binary codes, a version old readers refuse, extra arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embedlab import Vectors, load_vectors, save_vectors
from embedlab.errors import FormatError, ParameterError
from embedlab.io.native import read_extras
from embedlab.rows import normalized


@pytest.fixture
def unit() -> Vectors:
    rng = np.random.default_rng(0)
    return Vectors([f"w{i}" for i in range(300)], normalized(rng.normal(size=(300, 40))))


def _header(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((path / "header.json").read_text())


def test_int8_folder_is_four_times_smaller_and_reads_back_within_half_a_step(
    tmp_path: Path, unit: Vectors
) -> None:
    save_vectors(unit, tmp_path / "f.embedlab")
    save_vectors(unit, tmp_path / "q.embedlab", dtype="int8")
    h = _header(tmp_path / "q.embedlab")
    assert h["format_version"] == 2 and h["dtype"] == "int8"
    assert _header(tmp_path / "f.embedlab")["format_version"] == 1  # floats stay readable by v1
    size = lambda p: (p / "vectors.safetensors").stat().st_size  # noqa: E731
    assert size(tmp_path / "q.embedlab") < size(tmp_path / "f.embedlab") / 3.5
    back = load_vectors(tmp_path / "q.embedlab")
    assert back.index_to_key[:3] == ["w0", "w1", "w2"] and back.vectors.dtype == np.float32
    m = unit.vectors
    step = (m.max(axis=0) - m.min(axis=0)) / 255
    assert (np.abs(back.vectors - m) <= step / 2 + 1e-6).all()
    assert back.most_similar("w7", topn=1)[0][0] == unit.most_similar("w7", topn=1)[0][0]


def test_binary_folder_keeps_signs_as_unit_rows(tmp_path: Path, unit: Vectors) -> None:
    save_vectors(unit, tmp_path / "b.embedlab", dtype="binary")
    back = load_vectors(tmp_path / "b.embedlab")
    assert back.vectors.shape == (300, 40)
    np.testing.assert_array_equal(np.sign(back.vectors), np.where(unit.vectors > 0, 1.0, -1.0))
    np.testing.assert_allclose(np.linalg.norm(back.vectors, axis=1), 1.0, rtol=1e-6)
    codes = (tmp_path / "b.embedlab" / "vectors.safetensors").stat().st_size
    assert codes < 300 * 40 * 4 / 20  # 5 bytes a row against 160


def test_extra_arrays_ride_along(tmp_path: Path, unit: Vectors) -> None:
    mean = np.arange(40, dtype=np.float32)
    save_vectors(unit, tmp_path / "e.embedlab", dtype="int8", extra={"pca.mean": mean})
    got = read_extras(tmp_path / "e.embedlab")
    assert list(got) == ["pca.mean"] and np.array_equal(got["pca.mean"], mean)
    save_vectors(unit, tmp_path / "plain.embedlab")
    assert read_extras(tmp_path / "plain.embedlab") == {}


def test_a_newer_version_and_broken_codes_are_refused_clearly(
    tmp_path: Path, unit: Vectors
) -> None:
    path = tmp_path / "q.embedlab"
    save_vectors(unit, path, dtype="int8")
    header = _header(path)
    (path / "header.json").write_text(json.dumps({**header, "format_version": 3}))
    newer = r"expected format_version 2, found 3 \(written by a newer embedlab\?\)"
    with pytest.raises(FormatError, match=newer):
        load_vectors(path)
    (path / "header.json").write_text(json.dumps({**header, "shape": [300, 41]}))
    with pytest.raises(FormatError, match=r"expected int8 codes of shape \[300, 41\]"):
        load_vectors(path)
    with pytest.raises(ParameterError, match="need storage='safetensors'"):
        save_vectors(unit, tmp_path / "n.embedlab", dtype="int8", storage="npy")
