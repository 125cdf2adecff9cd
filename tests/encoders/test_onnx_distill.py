from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from embedlab.encoders import StaticEncoder, TransformerEncoder, distill, export_onnx, load_encoder
from embedlab.encoders.onnx import fidelity
from embedlab.errors import FormatError, ParameterError

from .conftest import SENTENCES

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported(tiny_st: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(tiny_st, tmp_path_factory.mktemp("onnx") / "tiny_st_onnx", int8=True)


def test_export_writes_a_folder_the_onnx_backend_loads(exported: Path, tiny_st: Path) -> None:
    assert (exported / "onnx" / "model.onnx").exists()
    assert (exported / "onnx" / "model_qint8.onnx").exists()
    assert (exported / "2_Dense" / "model.safetensors").exists()  # Dense weights travel
    assert not (exported / "model.safetensors").exists()  # the transformer's do not
    torch_enc = TransformerEncoder(tiny_st)
    onnx_enc = TransformerEncoder(exported, backend="onnx")
    assert onnx_enc.dim == 16 and onnx_enc.normalize and onnx_enc.pooling.modes == ("cls",)
    ref = torch_enc.encode(SENTENCES, batch_size=4)
    fp32 = fidelity(ref, onnx_enc.encode(SENTENCES, batch_size=4))
    assert fp32["min"] >= 0.9999
    int8 = TransformerEncoder(exported, backend="onnx", int8=True)
    q = fidelity(ref, int8.encode(SENTENCES, batch_size=4))
    assert q["min"] >= 0.99 and q["mean"] >= q["min"]
    import onnx

    ops = Counter(
        n.op_type for n in onnx.load(str(exported / "onnx" / "model_qint8.onnx")).graph.node
    )
    # per layer: the up-projection and the attention output coded per token (SmoothQuant), the
    # down-projection block-quantized, the fused attention dynamically quantized
    assert ops["MatMulIntegerToFloat"] == 4 and ops["QuantizeLinear"] == 4
    assert ops["MatMulNBits"] == 2 and ops["QAttention"] == 2 and ops["MatMul"] == 0
    # residual adds stay apart from their LayerNorms (ORT's fused kernel is the slow one)
    assert ops["SkipLayerNormalization"] == 0 and ops["LayerNormalization"] == 4
    assert "int8" in repr(int8)
    with pytest.raises(FormatError, match=r"holds an ONNX export: use backend='onnx'"):
        TransformerEncoder(exported)
    auto = load_encoder(exported)
    assert isinstance(auto, TransformerEncoder) and auto.backend_name == "onnx"


def test_onnx_backend_exports_into_the_cache_when_the_folder_has_no_onnx_file(
    tiny_bert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    enc = TransformerEncoder(tiny_bert, backend="onnx")
    cached = list((tmp_path / "cache" / "onnx").glob("*/model.onnx"))
    assert len(cached) == 1
    ref = TransformerEncoder(tiny_bert).encode(SENTENCES)
    assert fidelity(ref, enc.encode(SENTENCES))["min"] >= 0.9999
    with pytest.raises(ParameterError, match=r"only the last layer"):
        enc.encode_tokens("a cat", layers=1)


def test_distill_gives_a_static_encoder_of_the_vocabulary(tiny_bert: Path, tmp_path: Path) -> None:
    enc = TransformerEncoder(tiny_bert)
    static = distill(enc, dims=8)
    vocab = enc.tokenizer.get_vocab()
    assert static.dim == 8 and len(static.vectors) == len(vocab) - 5  # special tokens dropped
    assert "[CLS]" not in static.vectors and "river" in static.vectors
    out = static.encode(SENTENCES)
    assert out.shape == (len(SENTENCES), 8)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    # the vector of one piece is the (PCA'd, SIF-scaled) mean of the model's states around it
    full = distill(enc, dims=None, sif_coefficient=None)
    ids = np.array([[enc.tokenizer.sep_token_id, vocab["river"], enc.tokenizer.cls_token_id]])
    raw = enc.backend.run(ids, np.ones_like(ids)).mean(axis=1)[0]
    row = full.vectors["river"]
    # PCA is a rotation of the centred table; distances between pieces are kept
    ids2 = np.array([[enc.tokenizer.sep_token_id, vocab["bank"], enc.tokenizer.cls_token_id]])
    raw2 = enc.backend.run(ids2, np.ones_like(ids2)).mean(axis=1)[0]
    np.testing.assert_allclose(
        np.linalg.norm(row - full.vectors["bank"]), np.linalg.norm(raw - raw2), rtol=1e-4
    )
    back = StaticEncoder.load(static.save(tmp_path / "static"))
    np.testing.assert_array_equal(back.encode(SENTENCES), out)
    with pytest.raises(ParameterError, match=r"'dims' parameter of distill"):
        distill(enc, dims=33)


def test_token_embeddings_per_word_and_per_piece(tiny_bert: Path) -> None:
    enc = TransformerEncoder(tiny_bert)
    text = "The river bank, muddy!"
    words = enc.encode_tokens(text)
    assert words.tokens == ["The", "river", "bank", ",", "muddy", "!"]
    assert [text[a:b] for a, b in words.offsets] == words.tokens
    assert words.vectors.shape == (6, 32)
    pieces = enc.encode_tokens(text, word_level=False)
    assert "[CLS]" not in pieces.tokens and len(pieces) >= 6
    # a word split into pieces gets their mean
    muddy = [i for i, (a, b) in enumerate(pieces.offsets) if a >= 16 and b <= 21]
    np.testing.assert_allclose(
        words.vector("muddy"), pieces.vectors[muddy].mean(axis=0), rtol=1e-5, atol=1e-6
    )
    four = enc.encode_tokens(text, layers=[-1, -2, -3])
    assert four.vectors.shape == (6, 96)
    np.testing.assert_allclose(four.vectors[:, :32], words.vectors, rtol=1e-5, atol=1e-6)
    mean = enc.encode_tokens(text, layers=[0, 2], combine="mean")
    assert mean.vectors.shape == (6, 32)
    many = enc.encode_tokens([text, "a cat"])
    assert [m.tokens for m in many] == [words.tokens, ["a", "cat"]]
    with pytest.raises(ParameterError, match=r"takes ints in \[-3, 2\]"):
        enc.encode_tokens(text, layers=5)


def test_same_word_in_different_contexts_gets_different_vectors(tiny_bert: Path) -> None:
    enc = TransformerEncoder(tiny_bert)
    a, b, c = enc.encode_tokens([SENTENCES[0], SENTENCES[0], SENTENCES[3]])
    np.testing.assert_allclose(a.vector("bank"), b.vector("bank"), atol=1e-6)
    assert not np.allclose(a.vector("bank"), c.vector("bank"), atol=1e-3)


def test_the_int8_quantizer_import_leaves_the_root_logger_alone() -> None:
    import subprocess
    import sys

    code = (
        "import logging; from embedlab.encoders.onnx import _nbits_quantizer; _nbits_quantizer();"
        "r = logging.getLogger(); print(len(r.handlers), r.level)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "30"]


def test_token_embeddings_warn_only_for_texts_that_were_cut(tiny_bert: Path) -> None:
    from embedlab.encoders import LongTextWarning

    enc = TransformerEncoder(tiny_bert, max_length=8)
    exact = enc.tokenizer.decode(
        enc.tokenizer("the cat sleeps on the warm windowsill")["input_ids"][1:7]
    )
    assert len(enc.tokenizer(exact)["input_ids"]) == 8  # fills max_length without overflowing
    with pytest.warns(LongTextWarning, match=r"1 of 3 texts were longer than max_length=8"):
        out = enc.encode_tokens([SENTENCES[1], exact, "a cat"])
    assert out[0].offsets[-1][1] < len(SENTENCES[1]) and out[1].tokens == exact.split()
