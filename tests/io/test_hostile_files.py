"""Hostile files: every reader answers a FormatError naming the file (and where) before any large
allocation, whatever a header claims and whatever the compressed stream holds."""

from __future__ import annotations

import bz2
import gzip
import json
import logging
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from embedlab import Vectors, load_vectors, save_vectors
from embedlab.errors import FormatError
from embedlab.text import Corpus

SAMPLE = Vectors(["the", "cat", "sat", "on"], np.arange(12, dtype=np.float32).reshape(4, 3))


@pytest.mark.parametrize("suffix", [".txt.gz", ".txt.bz2", ".bin.gz"])
def test_corrupt_compressed_data_is_a_format_error(tmp_path: Path, suffix: str) -> None:
    good = tmp_path / f"v{suffix}"
    save_vectors(SAMPLE, good)
    data = good.read_bytes()
    for name, bad in {
        "cut": data[: len(data) // 2],
        "flipped": data[:12] + bytes(b ^ 0xFF for b in data[12:40]) + data[40:],
        "garbage": b"\x1f\x8b" + b"garbage" * 20 if suffix.endswith(".gz") else b"BZh9garbage" * 9,
    }.items():
        path = tmp_path / f"{name}{suffix}"
        path.write_bytes(bad)
        with pytest.raises(FormatError, match=str(path.name)):
            load_vectors(path)


def test_a_corrupt_gz_corpus_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt.gz"
    path.write_bytes(gzip.compress(b"the cat sat on the mat\n" * 100)[:-20])
    with pytest.raises(FormatError, match="corrupt gz data"):
        list(Corpus(path))


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_a_header_declaring_huge_dims_is_refused_before_allocating(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / ("v.txt" if kind == "text" else "v.bin")
    row = b"a " + b"0.5 " * 3 + b"\n" if kind == "text" else b"a " + b"\0" * 12 + b"\n"
    path.write_bytes(b"2 4294967296\n" + row * 2)
    with pytest.raises(FormatError, match=r"the header declares .*4294967296") as caught:
        load_vectors(path)
    assert "MemoryError" not in str(caught.value)  # refused, not tried


def test_a_compressed_header_beyond_what_the_file_can_hold_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.bin.gz"
    path.write_bytes(gzip.compress(b"1000000 10000\n" + b"k " + b"\0" * 40_000))
    with pytest.raises(FormatError, match="the header declares 1000000 rows of 10000 floats"):
        load_vectors(path)


def test_a_decompression_bomb_stops_at_the_expansion_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.txt.bz2"
    path.write_bytes(bz2.compress(b"a" * 50_000_000))  # 50 MB of one line, ~50 bytes packed
    with pytest.raises(FormatError, match="decompresses to over"):
        load_vectors(path, format="glove")


def test_long_rows_in_a_compressed_binary_file_load(tmp_path: Path) -> None:
    wide = Vectors(["x", "y"], np.random.default_rng(0).normal(size=(2, 3_000_000)).astype("f4"))
    save_vectors(wide, tmp_path / "wide.bin.gz")
    back = load_vectors(tmp_path / "wide.bin.gz")
    np.testing.assert_array_equal(back.vectors, wide.vectors)


@pytest.mark.parametrize("part", ["vectors.safetensors", "keys.txt", "keys.index.npy"])
def test_a_native_folder_missing_a_part_is_a_format_error(tmp_path: Path, part: str) -> None:
    save_vectors(SAMPLE, tmp_path / "v.embedlab")
    (tmp_path / "v.embedlab" / part).unlink()
    with pytest.raises(FormatError, match=r"v\.embedlab"):
        load_vectors(tmp_path / "v.embedlab")


def test_a_corrupt_key_index_is_refused_at_open_not_at_lookup(tmp_path: Path) -> None:
    save_vectors(SAMPLE, tmp_path / "v.embedlab")
    index_path = tmp_path / "v.embedlab" / "keys.index.npy"
    index = np.load(index_path)
    swapped = index.copy()
    swapped[1, [0, 1]] = swapped[1, [1, 0]]  # a valid permutation, in the wrong order
    np.save(index_path, swapped)
    with pytest.raises(FormatError, match="sort order is wrong"):
        load_vectors(tmp_path / "v.embedlab")
    shifted = index.copy()
    shifted[0, 2] += 1  # an offset inside a key
    np.save(index_path, shifted)
    with pytest.raises(FormatError, match="line offsets"):
        load_vectors(tmp_path / "v.embedlab")


def test_a_safetensors_shape_whose_product_wraps_is_refused(tmp_path: Path) -> None:
    save_vectors(SAMPLE, tmp_path / "v.embedlab")
    st = tmp_path / "v.embedlab" / "vectors.safetensors"
    header = {"vectors": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 0]}}
    blob = json.dumps(header).encode()
    st.write_bytes(struct.pack("<Q", len(blob)) + blob)
    hdr = json.loads((tmp_path / "v.embedlab" / "header.json").read_text())
    hdr["shape"] = [2**32, 2**32]
    (tmp_path / "v.embedlab" / "header.json").write_text(json.dumps(hdr))
    with pytest.raises(FormatError, match="does not fit the file"):
        load_vectors(tmp_path / "v.embedlab")


def test_nan_and_infinity_warn_or_are_refused_with_strict(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "v.txt"
    path.write_text("3 2\nok 1 2\nbig 1e999 0\nnan nan 1\n")
    with caplog.at_level(logging.WARNING, logger="embedlab.io.registry"):
        v = load_vectors(path)
    assert len(v) == 3 and "2 values are NaN or infinite (first in the row of 'big')" in caplog.text
    with pytest.raises(FormatError, match=r"NaN or infinite.*without strict"):
        load_vectors(path, strict=True)
    save_vectors(v, tmp_path / "v.embedlab")
    with pytest.raises(FormatError, match="NaN or infinite"):
        load_vectors(tmp_path / "v.embedlab", strict=True)
    shutil.rmtree(tmp_path / "v.embedlab")


def test_an_npy_header_length_beyond_the_file_is_refused(tmp_path: Path) -> None:
    save_vectors(SAMPLE, tmp_path / "v.embedlab", storage="npy")
    path = tmp_path / "v.embedlab" / "vectors.npy"
    data = bytearray(path.read_bytes())
    data[6:7] = b"\x03"  # version 3: a 4-byte header length, read before numpy checks it
    data[8:12] = struct.pack("<I", 2**31)
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"the header declares 2147483648 bytes"):
        load_vectors(tmp_path / "v.embedlab")
