"""Exporting a transformer to ONNX, fusing it for ONNX Runtime and quantizing it to int8.

``export_onnx(model, out)`` writes a folder that ``TransformerEncoder(out, backend="onnx")`` loads:
the sentence-transformers configuration and tokenizer files of the source (small files only), and
``onnx/model.onnx`` (fp32, attention / LayerNorm / GELU fused by ONNX Runtime's transformer
optimizer where it knows the architecture) plus, with ``int8=True``, ``onnx/model_qint8.onnx``
(projections computed in int8, coded per token or per block, see :func:`quantize_int8`). The
fidelity of either file to the torch model is what :func:`fidelity` measures and
``benchmarks/encoders.py`` reports; it is never assumed. Exports for ``backend="onnx"`` on a folder
without ONNX files are cached under ``$EMBEDLAB_CACHE`` (default ``~/.cache/embedlab``). This
module does not run the sessions (:mod:`embedlab.encoders._backends` does).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_dir
from ..optional import import_torch, require
from ..rows import normalized
from . import _int8
from ._backends import load_tokenizer
from .folders import Pipeline, read_pipeline, resolve_model

logger = logging.getLogger(__name__)

__all__ = ["cache_dir", "export_onnx", "fidelity"]

FP32_FILE = "model.onnx"
INT8_FILE = "model_qint8.onnx"
_EXPORT = "2: no SkipLayerNormalization, per-token int8"  # in the cache key: new export, new key
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx", ".h5", ".msgpack", ".ot", ".pt")
_OPTIMIZER_TYPES = {
    "bert": "bert",
    "roberta": "bert",
    "xlm-roberta": "bert",
    "distilbert": "bert",
    "mpnet": "bert",
    "electra": "bert",
    "albert": "bert",
    "gpt2": "gpt2",
}


def cache_dir() -> Path:
    """Where embedlab caches derived files: ``$EMBEDLAB_CACHE`` or ``~/.cache/embedlab``."""
    env = os.environ.get("EMBEDLAB_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "embedlab"


def export_onnx(
    model: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    *,
    int8: bool = True,
    optimize: bool = True,
    opset: int = 17,
    calibration: Sequence[str] | None = None,
) -> Path:
    """Export ``model`` (id, folder, or None for the default) to an ONNX folder at ``out``;
    ``calibration``: texts for the int8 model's per-token projections (see :func:`quantize_int8`;
    default: sentences shipped with embedlab)."""
    source = resolve_model(model)
    pipeline = read_pipeline(source)
    target = Path(out)
    with atomic_dir(target) as tmp:
        _copy_small_files(source, pipeline.transformer, tmp)
        rel = pipeline.transformer.relative_to(source)
        onnx_dir = tmp / rel / "onnx"
        onnx_dir.mkdir(parents=True, exist_ok=True)
        _export(pipeline.transformer, onnx_dir / FP32_FILE, opset=opset, optimize=optimize)
        if int8:
            quantize_int8(
                onnx_dir / FP32_FILE,
                onnx_dir / INT8_FILE,
                tokenizer=tmp / rel,
                calibration=calibration,
            )
    logger.info("exported %s to %s", source, target)
    return target


def onnx_file_for(pipeline: Pipeline, *, int8: bool) -> Path:
    """The ONNX file to run for this pipeline: the folder's own, else a cached export."""
    name = INT8_FILE if int8 else FP32_FILE
    for candidate in (pipeline.transformer / "onnx" / name, pipeline.transformer / name):
        if candidate.exists():
            return candidate
    cached = cache_dir() / "onnx" / _fingerprint(pipeline.transformer)
    file = cached / name
    if not file.exists():
        logger.warning("exporting %s to ONNX (cached in %s)", pipeline.transformer, cached)
        with atomic_dir(cached) as tmp:
            if (cached / FP32_FILE).exists():
                shutil.copy2(cached / FP32_FILE, tmp / FP32_FILE)
            else:
                _export(pipeline.transformer, tmp / FP32_FILE, opset=17, optimize=True)
            if int8:
                quantize_int8(tmp / FP32_FILE, tmp / INT8_FILE, tokenizer=pipeline.transformer)
    return file


def _fingerprint(folder: Path) -> str:
    h = hashlib.sha256(str(folder.resolve()).encode())
    h.update(_EXPORT.encode())
    for f in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("config.json")):
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def _copy_small_files(source: Path, transformer: Path, target: Path) -> None:
    """Everything but the transformer's own weights and any ONNX files (Dense weights are kept)."""
    for f in source.rglob("*"):
        rel = f.relative_to(source)
        if not f.is_file() or any(p.startswith(".") or p == "onnx" for p in rel.parts):
            continue
        if f.parent == transformer and f.suffix in _WEIGHT_SUFFIXES:
            continue
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target / rel)


def _export(folder: Path, file: Path, *, opset: int, optimize: bool) -> None:
    torch = import_torch()
    from ._backends import TorchBackend

    # eager attention exports the MatMul/Softmax pattern ONNX Runtime fuses into its Attention op
    backend = TorchBackend(folder, attn_implementation="eager")
    model = backend.model
    takes_types = backend.takes_token_types

    class _LastHidden(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, attention_mask: Any, *rest: Any) -> Any:
            kw = {"input_ids": input_ids, "attention_mask": attention_mask}
            if rest:
                kw["token_type_ids"] = rest[0]
            return self.inner(**kw).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.long)
    args: tuple[Any, ...] = (ids, torch.ones_like(ids))
    names = ["input_ids", "attention_mask"]
    if takes_types:
        args = (*args, torch.zeros_like(ids))
        names.append("token_type_ids")
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer warnings are about shapes we vary
        torch.onnx.export(
            _LastHidden().eval(),
            args,
            str(file),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    if optimize:
        _optimize(file, backend.config)


def _optimize(file: Path, config: Any) -> None:
    """Fuse attention, LayerNorm and GELU with ONNX Runtime's transformer optimizer, in place."""
    kind = _OPTIMIZER_TYPES.get(getattr(config, "model_type", ""))
    if kind is None:
        return
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    heads = int(getattr(config, "num_attention_heads", 0) or getattr(config, "n_head", 0))
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        options = FusionOptions(kind)
        # ORT's SkipLayerNormalization kernel ran 6x slower than Add + LayerNormalization on CPU
        # (the backend keeps ORT from fusing them again when it loads the model)
        options.enable_skip_layer_norm = False
        options.enable_bias_skip_layer_norm = False
        optimized = optimize_model(
            str(file),
            model_type=kind,
            num_heads=heads,
            hidden_size=hidden,
            opt_level=1,
            optimization_options=options,
        )
        optimized.save_model_to_file(str(file))


def quantize_int8(
    source: Path,
    target: Path,
    *,
    block_size: int = 128,
    tokenizer: Path | None = None,
    calibration: Sequence[str] | None = None,
) -> Path:
    """int8 ONNX model: per-token int8 projections, block-quantized ones, quantized attention.

    Three codings, each where it keeps the vectors (all-MiniLM-L6-v2, AMD EPYC, 2 threads, 5,758
    sentences of Gutenberg prose and STS-B test; speed relative to the fused fp32 model):

    - the feed-forward up-projections and the attention output projections get one activation
      scale per token and SmoothQuant-balanced per-channel weights on onnxruntime's VNNI integer
      GEMM (:mod:`embedlab.encoders._int8`), calibrated on ``calibration`` sentences (default:
      :func:`~embedlab.encoders._int8.calibration_sentences`) tokenized by the tokenizer in
      ``tokenizer`` (default: the folder above ``source``'s ``onnx/`` folder, or its own);
    - every other MatMul with constant weights becomes ``MatMulNBits`` (8 bits, symmetric,
      ``accuracy_level=4``: weights in blocks of ``block_size`` along the input dimension, each with
      its own scale, activations quantized per block at run time): the down-projection reads GELU
      outputs too uneven for one scale per token;
    - fused ``Attention`` ops get classic dynamic quantization (``QAttention``, per-channel
      weights).

    Together: 1.87x the fp32 speed at worst per-sentence cosine 0.9919. ``MatMulNBits`` for every
    projection (what this did before, and what it still does without a tokenizer): 1.50x at
    0.9903 (blocks of 64: 1.27x, 0.9921; of 256: 1.39x, 0.9892). One activation scale per tensor
    (onnxruntime's dynamic quantization of every MatMul): 1.84x at 0.966, on short sentences.
    """
    onnx = require("onnx", "onnx", "int8 quantization")
    require("onnx_ir", "onnx", "int8 quantization")
    quantization = require("onnxruntime.quantization", "onnx", "int8 quantization")
    QuantType, quantize_dynamic = quantization.QuantType, quantization.quantize_dynamic
    MatMulNBitsQuantizer = _nbits_quantizer()
    model = onnx.load(str(source))
    chosen = _int8.plan(model)
    folder = _tokenizer_folder(source, tokenizer)
    if chosen and folder is None:
        logger.warning("no tokenizer next to %s: every projection is block-quantized", source)
    elif chosen and folder is not None:
        texts = _int8.calibration_sentences() if calibration is None else list(calibration)
        tok = load_tokenizer(folder)
        amax = _int8.measure_inputs(
            model, list(chosen), tok, texts, max_length=_calibration_length(folder, tok)
        )
        model = _int8.rewrite(model, chosen, amax)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantizer = MatMulNBitsQuantizer(
            model, bits=8, block_size=block_size, is_symmetric=True, accuracy_level=4
        )
        quantizer.process()
        model = quantizer.model.model
        if not any(n.op_type == "Attention" for n in model.graph.node):
            onnx.save(model, str(target))
            return target
        staged = target.with_name(target.name + ".nbits")
        onnx.save(model, str(staged))
        # quantize_dynamic logs a generic "consider pre-processing" advice on the root logger
        logging.disable(logging.WARNING)
        try:
            quantize_dynamic(
                str(staged),
                str(target),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["Attention"],
                # fused graphs hold contrib ops shape inference cannot type; they are float
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        finally:
            logging.disable(logging.NOTSET)
            staged.unlink(missing_ok=True)
    return target


def _calibration_length(folder: Path, tokenizer: Any) -> int:
    """128 tokens, or fewer where the model has fewer positions (RoBERTa's start at 2)."""
    limits = [128, int(getattr(tokenizer, "model_max_length", 128) or 128)]
    config = folder / "config.json"
    if config.exists():
        positions = json.loads(config.read_text(encoding="utf-8")).get("max_position_embeddings")
        if isinstance(positions, int) and positions > 4:
            limits.append(positions - 2)
    return min(limits)


def _tokenizer_folder(source: Path, given: Path | None) -> Path | None:
    """``given``, else the first of ``source``'s folder and the one above it with a tokenizer."""
    if given is not None:
        return Path(given)
    for folder in (source.parent, source.parent.parent):
        if (folder / "tokenizer.json").exists() or (folder / "tokenizer_config.json").exists():
            return folder
    return None


def _nbits_quantizer() -> Any:
    """Import ORT's MatMulNBitsQuantizer without letting its import configure the root logger."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    finally:  # the module calls logging.basicConfig(level=INFO) at import time
        root.handlers[:] = handlers
        root.setLevel(level)
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    return MatMulNBitsQuantizer


def fidelity(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Per-row cosine between two encodings of the same texts: min, mean, and 1st percentile."""
    cos = np.sum(normalized(reference) * normalized(candidate), axis=1)
    return {
        "min": float(cos.min()),
        "mean": float(cos.mean()),
        "p1": float(np.percentile(cos, 1)),
    }
