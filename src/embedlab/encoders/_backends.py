"""Running a transformer forward pass on padded token ids: a torch backend and an ONNX Runtime one.

Both take numpy ``input_ids``/``attention_mask`` (``(batch, tokens)`` int64) and return the last
hidden states as a float32 numpy array; the torch backend can also return every layer (for
token-level embeddings). They know nothing of tokenizers, pooling or prompts
(:mod:`embedlab.encoders.transformer` owns those).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, ParameterError
from ..optional import import_torch, require
from .base import IntArray

logger = logging.getLogger(__name__)


def load_tokenizer(folder: Path) -> Any:
    import_torch()
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as e:
        raise FormatError(folder, f"no usable tokenizer in this folder ({e})") from e
    if not getattr(tok, "is_fast", False):
        raise FormatError(folder, "embedlab needs a fast (tokenizers-backed) tokenizer.json")
    if tok.pad_token_id is None:  # GPT-style models: padding is masked out anyway
        tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
    return tok


class TorchBackend:
    """A ``transformers`` AutoModel in eval mode; weights from safetensors only (never unpickled).

    ``packed`` (default): a BERT encoder on CPU runs its last-hidden-state forward unpadded
    (:mod:`embedlab.encoders._packed`, same outputs); ``all_layers`` always uses transformers'."""

    def __init__(
        self,
        folder: Path,
        *,
        device: str = "cpu",
        threads: int | None = None,
        attn_implementation: str | None = None,
        packed: bool = True,
    ) -> None:
        torch = import_torch()
        from transformers import AutoConfig, AutoModel

        if threads is not None:
            torch.set_num_threads(threads)
        self.config = AutoConfig.from_pretrained(str(folder))
        if not any(folder.glob("*.safetensors")):
            if (folder / "onnx" / "model.onnx").exists():
                raise FormatError(
                    folder, "this folder holds an ONNX export: use backend='onnx' (embed --onnx)"
                )
            found = sorted(p.name for p in folder.iterdir())
            raise FormatError(
                folder,
                "no model.safetensors here (embedlab does not unpickle pytorch_model.bin files; "
                f"convert them with safetensors' convert script); found {found}",
            )
        try:
            if attn_implementation is None and device == "cpu":
                # measured on all-MiniLM-L6-v2, 2 threads: eager 3-5% faster than sdpa on CPU
                attn_implementation = "eager"
            extra: dict[str, Any] = (
                {} if attn_implementation is None else {"attn_implementation": attn_implementation}
            )
            model = AutoModel.from_pretrained(str(folder), use_safetensors=True, **extra)
        except (OSError, ValueError) as e:
            raise FormatError(folder, f"transformers could not load the model: {e}") from e
        self.model = model.to(device).eval()
        self.device = device
        self._torch = torch
        forward_args = self.model.forward.__code__.co_varnames
        self.takes_token_types = "token_type_ids" in forward_args
        self.hidden_size = int(self.config.hidden_size)
        self.num_layers = int(getattr(self.config, "num_hidden_layers", 0))
        # BERT encoders on CPU skip padding in their dense layers (see encoders._packed)
        self.packed: Any = None
        if packed and device == "cpu":
            from ._packed import PackedBert, supports_packing

            self.packed = PackedBert(self.model) if supports_packing(self.model) else None
        # a call's fixed cost and a padded slot's, in tokens (all-MiniLM-L6-v2, 2 threads: padded
        # 4.4 ms + 121 us/token; unpadded 5.2 ms + 110 us/token; with attention in groups of
        # similar length, batches of mixed lengths ran within 1% of sorted ones)
        self.call_overhead = 36 if self.packed is None else 47
        self.padding_cost = 1.0 if self.packed is None else 0.02

    def run(self, ids: IntArray, mask: IntArray, *, all_layers: bool = False) -> Any:
        torch = self._torch
        if self.packed is not None and not all_layers:
            with torch.inference_mode():
                return self.packed(ids, mask).numpy()
        inputs = {
            "input_ids": torch.from_numpy(ids).to(self.device),
            "attention_mask": torch.from_numpy(mask).to(self.device),
        }
        if self.takes_token_types:
            inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
        with torch.inference_mode():
            out = self.model(**inputs, output_hidden_states=all_layers)
        if all_layers:
            return [h.float().cpu().numpy() for h in out.hidden_states]
        return out.last_hidden_state.float().cpu().numpy()


class OnnxBackend:
    """An ONNX Runtime session over an exported model (see :mod:`embedlab.encoders.onnx`)."""

    def __init__(self, file: Path, *, threads: int | None = None) -> None:
        ort = require("onnxruntime", "onnx", "the ONNX backend")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(file),
                options,
                providers=["CPUExecutionProvider"],
                # its SkipLayerNormalization kernel ran 6x slower than Add + LayerNormalization
                # (onnxruntime 1.32, 2 threads): 9% of an fp32 MiniLM encode, 16% of an int8 one
                disabled_optimizers=["SkipLayerNormFusion"],
            )
        except Exception as e:
            raise FormatError(file, f"onnxruntime could not load this model: {e}") from e
        names = {i.name for i in self.session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= names:
            raise FormatError(file, f"expected inputs input_ids and attention_mask, found {names}")
        self.takes_token_types = "token_type_ids" in names
        self.output = self.session.get_outputs()[0].name
        self.hidden_size = int(self.session.get_outputs()[0].shape[-1])
        self.call_overhead = 15  # all-MiniLM-L6-v2, 2 threads: 0.94 ms = 15 tokens
        self.padding_cost = 1.0  # a padded slot costs what a token does

    def run(self, ids: IntArray, mask: IntArray, *, all_layers: bool = False) -> Any:
        if all_layers:
            raise ParameterError(
                "the ONNX backend returns only the last layer; use backend='torch' for other layers"
            )
        feed = {"input_ids": ids, "attention_mask": mask}
        if self.takes_token_types:
            feed["token_type_ids"] = np.zeros_like(ids)
        (out,) = self.session.run([self.output], feed)
        return np.asarray(out, dtype=np.float32)
