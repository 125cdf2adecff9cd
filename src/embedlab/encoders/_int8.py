"""Per-token int8 projections for ONNX models: SmoothQuant scales, row-wise activation codes.

Why this exists: onnxruntime's fast int8 path on CPUs without AMX is its classic integer GEMM
(VNNI on AVX-512), which takes one zero point for all of ``A`` and no scales at all. Its own
dynamic quantization (``DynamicQuantizeLinear``) gives a whole batch of tokens one scale, and a
transformer's hidden states carry a few outlier channels 20-30x the rest, so a short sentence's
tokens were coded on a handful of levels (worst cosine 0.966 on all-MiniLM-L6-v2). Here each
chosen ``MatMul`` becomes

    x' = x * (1 / s)                           SmoothQuant: outlier channels moved into the weights
    scale[t] = max|x'[t, :]| / 127             one scale per token
    q = QuantizeLinear(x', scale, 128)         uint8 codes, a row at a time (per-axis, opset 13)
    y = MatMulIntegerToFloat(q, W_q, 1, w_scale, 128) * scale[t]   VNNI GEMM, per-channel weights

with ``s[k] = amax_x[k] ** alpha / amax_W[k] ** (1 - alpha)`` measured on calibration sentences
(:func:`calibration_sentences`: prose and short questions shipped with embedlab). Which
projections take it is decided by the graph's structure (:func:`plan`): a projection feeding a
GELU (the feed-forward up-projection, alpha 0.7) and one reading an ``Attention`` output (alpha
0.5). The down-projection reads GELU outputs whose per-token spread a single scale cannot hold
(its weights, coded per channel over 1,536 inputs, lose as much again); it keeps blockwise
``MatMulNBits`` (:func:`embedlab.encoders.onnx.quantize_int8`). Measured on all-MiniLM-L6-v2
(AMD EPYC, 2 threads; 3,000 Gutenberg sentences and STS-B test): 1.87x the fused fp32 speed at
worst cosine 0.9919, where blockwise ``MatMulNBits`` everywhere ran 1.50x at 0.9903.

This module rewrites graphs and runs the calibration session; it does not choose files.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..records import read_columns

__all__ = ["calibration_sentences", "measure_inputs", "plan", "rewrite"]

UP_ALPHA = 0.7  # a projection into a GELU: its input is a LayerNorm output with outlier channels
ATTENTION_ALPHA = 0.5  # a projection of the attention heads' output
_GELUS = {"Gelu", "BiasGelu", "FastGelu", "QuickGelu"}
_ATTENTIONS = {"Attention", "MultiHeadAttention"}
_MIN_OPSET = 13  # per-axis QuantizeLinear


def plan(model: Any) -> dict[str, float]:
    """The MatMul nodes to code per token, by name, each with its SmoothQuant alpha."""
    graph = model.graph
    if _opset(model) < _MIN_OPSET:
        return {}
    weights = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    chosen: dict[str, float] = {}
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in weights:
            continue
        if len(weights[node.input[1]].dims) != 2:
            continue
        after = consumers.get(node.output[0], [])
        before = producer.get(node.input[0])
        if after and all(c.op_type in _GELUS for c in after):
            chosen[node.name] = UP_ALPHA
        elif before is not None and before.op_type in _ATTENTIONS:
            chosen[node.name] = ATTENTION_ALPHA
    return chosen


def calibration_sentences(n: int = 512) -> list[str]:
    """Sentences shipped with embedlab for calibration: the FAQ sample's questions and about
    ``n`` sentences of any length from the last 30% of the Gutenberg sample (the benchmarks read
    its beginning)."""
    data = Path(str(resources.files("embedlab") / "data"))
    faq = read_columns(data / "faq_sample.csv", {"q": "question"})
    with gzip.open(data / "gutenberg_sample.txt.gz", "rt", encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\s+", " ", text[int(len(text) * 0.7) :])
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if 1 <= len(s.split()) <= 80]
    step = max(1, len(sentences) // n)
    return [str(q) for q in faq["q"]] + sentences[::step][:n]


def measure_inputs(
    model: Any,
    names: Sequence[str],
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int = 128,
    threads: int = 0,
) -> dict[str, np.ndarray]:
    """Each named MatMul's largest absolute input per channel over the texts' real tokens
    (texts cut at ``max_length`` tokens)."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    named = set(names)
    wanted = {node.name: node.input[0] for node in probe.graph.node if node.name in named}
    for tensor in sorted(set(wanted.values())):
        probe.graph.output.append(
            onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, None)
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(
        probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    inputs = {i.name for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    amax: dict[str, np.ndarray] = {}
    for start in range(0, len(texts), 32):
        batch = tokenizer(
            list(texts[start : start + 32]),
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="np",
        )
        feed = {k: np.asarray(v, dtype=np.int64) for k, v in batch.items() if k in inputs}
        if "token_type_ids" in inputs and "token_type_ids" not in feed:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        real = np.asarray(batch["attention_mask"], dtype=bool)
        values = dict(zip(outputs, session.run(outputs, feed), strict=True))
        for tensor in set(wanted.values()):
            seen = np.abs(values[tensor][real]).max(axis=0)
            amax[tensor] = np.maximum(amax[tensor], seen) if tensor in amax else seen
    return {name: amax[tensor] for name, tensor in wanted.items()}


def rewrite(model: Any, chosen: dict[str, float], amax: dict[str, np.ndarray]) -> Any:
    """Replace each chosen MatMul by its per-token int8 form (in place; returns ``model``)."""
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    reduce_axes_as_input = _opset(model) >= 18
    shared: dict[str, np.ndarray] = {
        "pt_one": np.array(1.0, np.float32),
        "pt_inv127": np.array(1 / 127, np.float32),
        "pt_tiny": np.array(1e-12, np.float32),
        "pt_zp": np.array(128, np.uint8),
        "pt_axis1": np.array([1], np.int64),
        "pt_zero": np.array([0], np.int64),
        "pt_last": np.array([-1], np.int64),
    }
    added: list[onnx.TensorProto] = [numpy_helper.from_array(v, k) for k, v in shared.items()]
    codes_zero = numpy_helper.from_array(np.array([128], np.uint8))  # each token's zero point
    nodes: list[onnx.NodeProto] = []
    for index, node in enumerate(graph.node):
        if node.name not in chosen:
            nodes.append(node)
            continue
        p = f"pertoken{index}_"
        w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
        k, n = w.shape
        alpha = chosen[node.name]
        smooth = np.maximum(amax[node.name], 1e-5) ** alpha
        smooth /= np.maximum(np.abs(w).max(axis=1), 1e-5) ** (1 - alpha)
        smooth = np.clip(smooth, 1e-3, 1e3).astype(np.float32)
        w = w * smooth[:, None]
        w_scale = np.abs(w).max(axis=0) / 127
        w_scale[w_scale == 0] = 1.0
        w_codes = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)
        added += [
            numpy_helper.from_array((1 / smooth).astype(np.float32), p + "unsmooth"),
            numpy_helper.from_array(w_codes, p + "w"),
            numpy_helper.from_array(w_scale.astype(np.float32), p + "w_scale"),
            numpy_helper.from_array(np.array([-1, k], np.int64), p + "rows"),
            numpy_helper.from_array(np.array([n], np.int64), p + "width"),
        ]
        if reduce_axes_as_input:
            reduce = helper.make_node("ReduceMax", [p + "abs", "pt_axis1"], [p + "max"], keepdims=0)
        else:
            reduce = helper.make_node("ReduceMax", [p + "abs"], [p + "max"], axes=[1], keepdims=0)
        nodes += [
            helper.make_node("Shape", [node.input[0]], [p + "shape"]),
            helper.make_node("Reshape", [node.input[0], p + "rows"], [p + "x"]),
            helper.make_node("Mul", [p + "x", p + "unsmooth"], [p + "xs"]),
            helper.make_node("Abs", [p + "xs"], [p + "abs"]),
            reduce,
            helper.make_node("Mul", [p + "max", "pt_inv127"], [p + "s0"]),
            helper.make_node("Max", [p + "s0", "pt_tiny"], [p + "scale"]),
            helper.make_node("Shape", [p + "scale"], [p + "count"]),
            helper.make_node("ConstantOfShape", [p + "count"], [p + "zp"], value=codes_zero),
            helper.make_node(
                "QuantizeLinear", [p + "xs", p + "scale", p + "zp"], [p + "q"], axis=0
            ),
            helper.make_node(
                "MatMulIntegerToFloat",
                [p + "q", p + "w", "pt_one", p + "w_scale", "pt_zp"],
                [p + "y0"],
                domain="com.microsoft",
            ),
            helper.make_node("Unsqueeze", [p + "scale", "pt_axis1"], [p + "scale2"]),
            helper.make_node("Mul", [p + "y0", p + "scale2"], [p + "y"]),
            helper.make_node("Slice", [p + "shape", "pt_zero", "pt_last"], [p + "lead"]),
            helper.make_node("Concat", [p + "lead", p + "width"], [p + "out_shape"], axis=0),
            helper.make_node("Reshape", [p + "y", p + "out_shape"], list(node.output)),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def _opset(model: Any) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
