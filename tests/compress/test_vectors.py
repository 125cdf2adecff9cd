"""Compressing a vectors file: planted low-rank structure survives, the folder reads back, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clirun import run
from embedlab import Vectors, load_vectors, save_vectors
from embedlab.compress import (
    compress_vectors,
    load_projection,
    neighbour_agreement,
    save_compressed,
)
from embedlab.errors import ParameterError
from embedlab.rows import normalized


@pytest.fixture
def low_rank() -> Vectors:
    """400 words whose 64-d vectors live in an 8-d subspace (plus faint noise)."""
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(400, 8)) @ rng.normal(size=(8, 64)) + 1e-3 * rng.normal(size=(400, 64))
    return Vectors([f"w{i}" for i in range(400)], rows.astype(np.float32))


def test_pca_to_the_planted_rank_keeps_every_neighbourhood(low_rank: Vectors) -> None:
    small = compress_vectors(low_rank, pca=8)
    assert small.vectors.dim == 8 and small.pca is not None
    assert small.pca.explained_variance_ratio_.sum() > 0.999
    assert neighbour_agreement(low_rank, small.vectors, sample=100) > 0.95
    too_small = compress_vectors(low_rank, pca=2)
    assert neighbour_agreement(low_rank, too_small.vectors, sample=100) < 0.6


def test_quantized_variants_keep_what_their_bits_allow(low_rank: Vectors) -> None:
    int8 = compress_vectors(low_rank, dtype="int8")
    binary = compress_vectors(low_rank, dtype="binary")
    kept8 = neighbour_agreement(low_rank, int8.vectors, sample=100)
    kept1 = neighbour_agreement(low_rank, binary.vectors, sample=100)
    assert kept8 > 0.9 and 0.2 < kept1 < kept8
    assert int8.bytes_per_vector == 64 and binary.bytes_per_vector == 8


def test_saved_folder_reads_back_with_its_projection(tmp_path: Path, low_rank: Vectors) -> None:
    small = compress_vectors(low_rank, pca=8, dtype="int8")
    path = save_compressed(small, tmp_path / "small.embedlab")
    back = load_vectors(path)
    np.testing.assert_allclose(back.vectors, small.vectors.vectors, atol=1e-6)
    pca = load_projection(path)
    assert pca is not None
    np.testing.assert_allclose(
        pca.transform(low_rank.vectors[:5]), small.pca.transform(low_rank.vectors[:5])
    )  # type: ignore[union-attr]
    save_vectors(low_rank, tmp_path / "plain.embedlab")
    assert load_projection(tmp_path / "plain.embedlab") is None


def test_errors(low_rank: Vectors) -> None:
    with pytest.raises(ParameterError, match="pca or truncate, not both"):
        compress_vectors(low_rank, pca=4, truncate=4)
    with pytest.raises(ParameterError, match=r"pca must be in \[1, 64\]"):
        compress_vectors(low_rank, pca=65)
    with pytest.raises(ParameterError, match="'dtype'"):
        compress_vectors(low_rank, dtype="int4")


def test_compress_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, low_rank: Vectors
) -> None:
    save_vectors(low_rank, tmp_path / "v.bin")
    code, out, _ = run(
        capsys, "compress", str(tmp_path / "v.bin"), "-o", str(tmp_path / "s.embedlab"),
        "--pca", "8", "--int8", "--check", "50",
    )  # fmt: skip
    assert code == 0
    assert "wrote 400 x 8 int8" in out and "8 bytes a vector (was 256, 32.0x smaller)" in out
    assert "PCA keeps 100.0% of the variance" in out and "10 nearest neighbours kept" in out
    assert load_vectors(tmp_path / "s.embedlab").dim == 8
    code, _, err = run(
        capsys, "compress", str(tmp_path / "v.bin"), "-o", str(tmp_path / "x"), "--int8", "--binary"
    )
    assert code == 1 and "choose one of --float16, --int8, --binary" in err


def test_unit_rows_stay_unit_after_binary(low_rank: Vectors) -> None:
    b = compress_vectors(low_rank, dtype="binary").vectors.vectors
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, rtol=1e-6)
    assert np.allclose(normalized(b), b)
