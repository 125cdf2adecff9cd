"""Random and mutated bytes into every reader: a FormatError (or a successful load), nothing else."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzz_readers import mutated  # the same edits as the address-space-limited fuzzing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedlab import Vectors, load_vectors, save_vectors
from embedlab.errors import FormatError
from embedlab.io import FORMATS

DATA = Path(__file__).parent.parent / "data"
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLE = Vectors(
    ["the", "cat", "été", "北京"], np.arange(12, dtype=np.float32).reshape(4, 3) / 7, [4, 3, 2, 1]
)

FILE_FORMATS = [
    ("word2vec", "v.txt"),
    ("fasttext-vec", "v.vec"),
    ("glove", "g.txt"),
    ("word2vec-binary", "v.bin"),
]


def _valid_bytes(fmt: str, name: str) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        save_vectors(SAMPLE, Path(d) / name, fmt)  # type: ignore[arg-type]
        return (Path(d) / name).read_bytes()


VALID = {fmt: _valid_bytes(fmt, name) for fmt, name in FILE_FORMATS}
VALID["fasttext-bin"] = (DATA / "tiny_fasttext.bin").read_bytes()


def _load_only_format_errors(path: Path, fmt: str | None) -> None:
    with contextlib.suppress(FormatError):
        load_vectors(path, format=fmt)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f in VALID])
def test_random_bytes(fmt: str) -> None:
    @FUZZ
    @given(data=st.binary(max_size=300), suffix=st.sampled_from(["", ".gz", ".bz2"]))
    def run(data: bytes, suffix: str) -> None:
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / f"f.bin{suffix}"
            p.write_bytes(data)
            _load_only_format_errors(p, fmt)
            _load_only_format_errors(p, None)

    run()


@pytest.mark.parametrize("fmt", sorted(VALID))
def test_mutated_files(fmt: str) -> None:
    @FUZZ
    @given(data=mutated(VALID[fmt]))
    def run(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "f.bin"
            p.write_bytes(data)
            _load_only_format_errors(p, fmt)

    run()


@pytest.mark.parametrize(
    ("fmt", "files"),
    [
        ("native", ["header.json", "keys.txt", "keys.index.npy", "vectors.safetensors"]),
        ("projector", ["metadata.tsv", "vectors.tsv"]),
        ("keras", ["vocab.txt", "embedding_matrix.npy"]),
    ],
)
def test_mutated_folders(fmt: str, files: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        good = Path(d) / "good"
        save_vectors(SAMPLE, good, fmt)  # type: ignore[arg-type]

        @FUZZ
        @given(which=st.sampled_from(files), data=st.data())
        def run(which: str, data: st.DataObject) -> None:
            work = Path(d) / "work"
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(good, work)
            (work / which).write_bytes(data.draw(mutated((good / which).read_bytes())))
            try:
                v = load_vectors(work, format=fmt)  # type: ignore[arg-type]
                for i in range(len(v)):  # lazily decoded keys must also fail cleanly
                    v.key_to_index.get(v.index_to_key[i])
            except FormatError:
                pass

        run()
