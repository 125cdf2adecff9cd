"""A compressed encoder: any encoder followed by a fitted PCA, saved and opened like a model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .conftest import SENTENCES, corpus_text

pytest.importorskip("torch")

from embedlab.encoders import TransformerEncoder, load_encoder
from embedlab.encoders.compressed import CompressedEncoder
from embedlab.errors import ParameterError


def test_fit_save_load_and_encode(tiny_bert: Path, tmp_path: Path) -> None:
    base = TransformerEncoder(tiny_bert)
    enc = CompressedEncoder.fit(base, corpus_text()[:-1], dims=8, source=str(tiny_bert))
    out = enc.encode(SENTENCES)
    assert out.shape == (len(SENTENCES), 8) and enc.dim == 8
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    full = base.encode(SENTENCES, normalize=True)
    np.testing.assert_allclose(out, enc.pca.transform(full), atol=1e-5)
    assert enc.encode(SENTENCES[0]).shape == (8,)
    enc.save(tmp_path / "small")
    back = load_encoder(tmp_path / "small")
    assert isinstance(back, CompressedEncoder) and back.dim == 8
    np.testing.assert_allclose(back.encode(SENTENCES), out, atol=1e-5)


def test_cli_and_errors(
    tiny_bert: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from clirun import run

    sample = tmp_path / "s.txt"
    sample.write_text("\n".join(corpus_text()[:-1]) + "\n")
    code, out, err = run(
        capsys, "-q", "encoders", "compress", "-m", str(tiny_bert), "-o", str(tmp_path / "c"),
        "--pca", "4", "--sample", str(sample),
    )  # fmt: skip
    assert code == 0, err
    assert "32 -> 4 dims" in out and load_encoder(tmp_path / "c").dim == 4
    base = TransformerEncoder(tiny_bert)
    with pytest.raises(ParameterError, match="saving needs the base model's source"):
        CompressedEncoder.fit(base, corpus_text()[:-1], dims=4).save(tmp_path / "x")
