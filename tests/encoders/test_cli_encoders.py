"""`embedlab embed`, `embedlab distill` and `embedlab encoders export-onnx` through the entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clirun import run
from embedlab.encoders import StaticEncoder, TransformerEncoder

from .conftest import SENTENCES


def test_embed_jsonl_to_npy_matches_the_library(
    capsys: pytest.CaptureFixture[str], tiny_st: Path, tmp_path: Path
) -> None:
    src = tmp_path / "docs.jsonl"
    src.write_text(
        "".join(json.dumps({"id": f"d{i}", "body": s}) + "\n" for i, s in enumerate(SENTENCES))
    )
    out = tmp_path / "vecs.npy"
    code, stdout, err = run(
        capsys,
        "embed",
        str(src),
        "-o",
        str(out),
        "--model",
        str(tiny_st),
        "--field",
        "body",
        "--prompt-name",
        "query",
    )
    assert code == 0, err
    assert "texts:   12 from" in stdout and "16 dims" in stdout
    got = np.load(out, allow_pickle=False)
    want = TransformerEncoder(tiny_st).encode(SENTENCES, prompt_name="query")
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert (tmp_path / "vecs.ids.txt").read_text().split() == [f"d{i}" for i in range(12)]


def test_distill_then_embed_with_the_static_folder(
    capsys: pytest.CaptureFixture[str], tiny_bert: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "static"
    code, stdout, err = run(
        capsys, "distill", "--model", str(tiny_bert), "-o", str(folder), "--dims", "8"
    )
    assert code == 0, err
    assert "StaticEncoder(" in stdout and (folder / "static_encoder.json").exists()
    src = tmp_path / "t.txt"
    src.write_text("\n".join(SENTENCES) + "\n")
    code, stdout, err = run(
        capsys, "embed", str(src), "-o", str(tmp_path / "s.npy"), "-m", str(folder)
    )
    assert code == 0, err
    got = np.load(tmp_path / "s.npy", allow_pickle=False)
    np.testing.assert_array_equal(got, StaticEncoder.load(folder).encode(SENTENCES))


def test_export_onnx_and_embed_with_int8(
    capsys: pytest.CaptureFixture[str], tiny_bert: Path, tmp_path: Path
) -> None:
    pytest.importorskip("onnxruntime")
    folder = tmp_path / "onnx"
    src = tmp_path / "t.csv"
    src.write_text("text\n" + "\n".join(SENTENCES) + "\n")
    code, stdout, err = run(
        capsys, "encoders", "export-onnx", "-m", str(tiny_bert), "-o", str(folder),
        "--calibration", str(src),
    )  # fmt: skip
    assert code == 0, err
    assert "onnx/model.onnx" in stdout and "onnx/model_qint8.onnx" in stdout
    assert f"int8 calibrated on 12 texts of {src}" in stdout
    code, _, err = run(
        capsys, "embed", str(src), "-o", str(tmp_path / "q.npy"), "-m", str(folder), "--int8"
    )
    assert code == 0, err
    assert np.load(tmp_path / "q.npy").shape == (12, 32)


def test_embed_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], tiny_bert: Path, tmp_path: Path
) -> None:
    src = tmp_path / "t.jsonl"
    src.write_text('{"body": "x"}\n')
    code, _, err = run(
        capsys, "embed", str(src), "-o", str(tmp_path / "o.npy"), "-m", str(tiny_bert)
    )
    assert code == 1
    assert "FormatError:" in err and "line 1: expected a string field 'text'" in err
    assert "Traceback" not in err
