"""Per-token int8 projections: which MatMuls take them, and what they compute."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from embedlab.encoders import _int8
from embedlab.encoders.onnx import quantize_int8

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
helper, numpy_helper, TensorProto = onnx.helper, onnx.numpy_helper, onnx.TensorProto


def _graph(k: int = 48, n: int = 40, seed: int = 0) -> tuple[object, np.ndarray, np.ndarray]:
    """x -> MatMul(W1) -> Gelu -> MatMul(W2) -> y: an up-projection, then a down-projection."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(size=(k, n)).astype(np.float32)
    w2 = rng.normal(size=(n, k)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="up"),
        helper.make_node("Gelu", ["h"], ["a"], name="gelu", domain="com.microsoft"),
        helper.make_node("MatMul", ["a", "w2"], ["y"], name="down"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "s", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "s", k])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    return model, w1, w2


def _run(model: object, x: np.ndarray, output: str = "y") -> np.ndarray:
    session = ort.InferenceSession(
        model.SerializeToString(),  # type: ignore[attr-defined]
        providers=["CPUExecutionProvider"],
    )
    return np.asarray(session.run([output], {"x": x})[0])


def test_plan_codes_per_token_the_projection_into_a_gelu_only() -> None:
    model, _, _ = _graph()
    assert _int8.plan(model) == {"up": _int8.UP_ALPHA}


def test_per_token_codes_follow_each_token_s_own_scale() -> None:
    model, w1, _ = _graph()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5, 48)).astype(np.float32)
    x[0, 0] *= 1000.0  # one loud token: a shared scale would flatten every other token
    x[:, :, 7] *= 30.0  # and an outlier channel, which SmoothQuant moves into the weights
    amax = {"up": np.abs(x.reshape(-1, 48)).max(axis=0)}
    model.graph.output.append(helper.make_tensor_value_info("h", TensorProto.FLOAT, None))
    coded = _int8.rewrite(model, {"up": 0.7}, amax)
    assert "MatMulIntegerToFloat" in {n.op_type for n in coded.graph.node}
    got, want = _run(coded, x, "h"), x @ w1
    assert got.shape == want.shape == (2, 5, 40)
    # the same arithmetic in numpy: smoothing, one scale per token, per-channel weight codes
    smooth = amax["up"] ** 0.7 / np.abs(w1).max(axis=1) ** 0.3
    xs, ws = x / smooth, w1 * smooth[:, None]
    scale = np.abs(xs).max(axis=-1, keepdims=True) / 127
    w_scale = np.abs(ws).max(axis=0) / 127
    emulated = (np.round(xs / scale) @ np.round(ws / w_scale)) * scale * w_scale
    np.testing.assert_allclose(got, emulated, rtol=1e-4, atol=1e-3)
    rel = np.linalg.norm(got - want, axis=-1) / np.linalg.norm(want, axis=-1)
    assert rel.max() < 0.08  # every token within a few percent, the quiet ones too
    shared = np.abs(x).max() / 127  # one scale for the batch: the quiet tokens vanish
    flat = (np.round(x / shared) * shared) @ w1
    assert (np.linalg.norm(flat - want, axis=-1) / np.linalg.norm(want, axis=-1)).max() > 0.5


def test_without_a_tokenizer_every_projection_is_block_quantized(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model, _, _ = _graph(k=64, n=64)
    onnx.save(model, str(tmp_path / "model.onnx"))
    with caplog.at_level(logging.WARNING):
        quantize_int8(tmp_path / "model.onnx", tmp_path / "q.onnx", block_size=32)
    assert "no tokenizer next to" in caplog.text
    ops = [n.op_type for n in onnx.load(str(tmp_path / "q.onnx")).graph.node]
    assert ops.count("MatMulNBits") == 2 and "MatMulIntegerToFloat" not in ops


def test_calibration_sentences_hold_short_questions_and_prose() -> None:
    texts = _int8.calibration_sentences(200)
    assert "How do I reset my password?" in texts
    assert 200 <= len(texts) <= 230
    lengths = [len(t.split()) for t in texts]
    assert min(lengths) <= 4 and max(lengths) >= 30
