"""`TransformerEncoder`: sentence vectors from any transformers model, on torch or ONNX Runtime.

A sentence-transformers folder runs its own pipeline (max_seq_length, lower-casing, pooling, Dense
layers, Normalize, named prompts); a plain transformers folder takes a chosen pooling (``mean`` by
default, ``lasttoken`` for GPT-style causal models) and optional prompts (e5's ``"query: "``).
Texts are tokenized once, batched by length (longest first, so padding stays small) and written
back in input order. Texts longer than ``max_length`` tokens are truncated with one warning that
counts them (``long_text="truncate"``), split into overlapping windows whose vectors are averaged
(``"chunk"``), or refused (``"error"``). This module does not export ONNX files
(:mod:`embedlab.encoders.onnx`) nor train (:mod:`embedlab.neural`).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import LongTextWarning, ParameterError, check_choice
from ..rows import normalize_inplace
from ._backends import OnnxBackend, TorchBackend, load_tokenizer
from .base import (
    FloatArray,
    as_texts,
    check_batch_size,
    length_sorted_batches,
    pad_ids,
)
from .folders import DEFAULT_MODEL_NAME, Pipeline, is_default, read_pipeline, resolve_model
from .pooling import Pooling

logger = logging.getLogger(__name__)

__all__ = ["LongTextWarning", "TransformerEncoder"]

LongText = Literal["truncate", "chunk", "error"]
Backend = Literal["torch", "onnx"]
_CAUSAL_TYPES = {
    "gpt2",
    "gpt_neo",
    "gpt_neox",
    "gptj",
    "llama",
    "mistral",
    "qwen2",
    "qwen3",
    "phi",
    "phi3",
    "gemma",
    "gemma2",
    "opt",
    "bloom",
    "falcon",
}


class TransformerEncoder:
    """Encode texts with a transformer model (a hub id, a local folder, or the offline default).

    >>> enc = TransformerEncoder()                      # all-MiniLM-L6-v2, shipped offline
    >>> enc.encode(["A man is playing a guitar."]).shape
    (1, 384)

    ``backend="onnx"`` runs an exported ONNX model (exported and cached on first use when the
    folder has none; ``int8=True`` picks the dynamically quantized one). ``threads`` sets the
    intra-op thread count (torch's is process-wide).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        pooling: Pooling | str | Sequence[str] | None = None,
        normalize: bool | None = None,
        max_length: int | None = None,
        prompts: Mapping[str, str] | None = None,
        default_prompt_name: str | None = None,
        long_text: LongText = "truncate",
        chunk_overlap: int | None = None,
        backend: Backend = "torch",
        int8: bool = False,
        threads: int | None = None,
        device: str = "cpu",
        revision: str | None = None,
        batch_size: int = 32,
    ) -> None:
        check_choice("long_text", "TransformerEncoder", long_text, ("truncate", "chunk", "error"))
        check_choice("backend", "TransformerEncoder", backend, ("torch", "onnx"))
        check_batch_size(batch_size, "TransformerEncoder")
        if int8 and backend != "onnx":
            raise ParameterError("int8=True needs backend='onnx' (dynamic int8 quantization)")
        folder = resolve_model(model, revision=revision)
        self.pipeline: Pipeline = read_pipeline(folder)
        self._name = _display_name(model, folder)
        self.tokenizer = load_tokenizer(self.pipeline.transformer)
        self.backend_name: Backend = backend
        if backend == "torch":
            self.backend: TorchBackend | OnnxBackend = TorchBackend(
                self.pipeline.transformer, device=device, threads=threads
            )
            config = self.backend.config
        else:
            from .onnx import onnx_file_for

            self.backend = OnnxBackend(onnx_file_for(self.pipeline, int8=int8), threads=threads)
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(str(self.pipeline.transformer))
        self.int8 = int8
        self.is_causal = _is_causal(config)
        if pooling is not None:
            self.pooling = Pooling.parse(pooling)
        elif self.pipeline.pooling is not None:
            self.pooling = self.pipeline.pooling
        else:
            self.pooling = Pooling(("lasttoken",) if self.is_causal else ("mean",))
        self.normalize = self.pipeline.normalize if normalize is None else bool(normalize)
        self._max_length = _max_length(max_length, self.pipeline, config, self.tokenizer)
        self.prompts = dict(self.pipeline.prompts)
        self.prompts.update(prompts or {})
        self.default_prompt_name = default_prompt_name or self.pipeline.default_prompt_name
        if self.default_prompt_name is not None and self.default_prompt_name not in self.prompts:
            raise ParameterError(
                f"default_prompt_name {self.default_prompt_name!r} is not one of the prompts "
                f"{sorted(self.prompts)}"
            )
        self.long_text: LongText = long_text
        if chunk_overlap is None:
            chunk_overlap = min(32, self._max_length // 4)
        if not 0 <= chunk_overlap < self._max_length // 2:
            raise ParameterError(
                f"The 'chunk_overlap' parameter of TransformerEncoder must be an int in "
                f"[0, {self._max_length // 2}). Got {chunk_overlap!r} instead."
            )
        self.chunk_overlap = chunk_overlap
        self.batch_size = batch_size
        self._dim = self.pooling.output_dim(self.backend.hidden_size)
        for dense in self.pipeline.dense:
            self._dim = int(dense.weight.shape[0])

    # -- the Encoder contract -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_length(self) -> int:
        return self._max_length

    def __repr__(self) -> str:
        int8 = ", int8" if self.int8 else ""
        return (
            f"TransformerEncoder({self._name!r}, dim={self._dim}, max_length={self._max_length}, "
            f"pooling={'+'.join(self.pooling.modes)}, normalize={self.normalize}, "
            f"backend={self.backend_name}{int8})"
        )

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int | None = None,
        normalize: bool | None = None,
        prompt: str | None = None,
        prompt_name: str | None = None,
        show_progress: bool | None = None,
    ) -> FloatArray:
        """Vectors for ``texts`` in input order: ``(n, dim)``, or ``(dim,)`` for one string.

        ``prompt`` is a literal prefix; ``prompt_name`` picks one of ``prompts`` (e.g. "query").
        """
        items, single = as_texts(texts, "TransformerEncoder")
        prefix = self._prompt(prompt, prompt_name)
        out, _ = self._run(items, batch_size, normalize, prefix, show_progress)
        return out[0] if single else out

    def encode_counted(
        self, texts: Sequence[str], *, batch_size: int | None = None
    ) -> tuple[FloatArray, list[int]]:
        """``encode(texts)`` and each text's tokens (special tokens included, before truncation),
        counted from the same tokenization: what a server reports as ``usage``. A default
        prompt's tokens are not counted."""
        items, _ = as_texts(texts, "TransformerEncoder")
        prefix = self._prompt(None, None)
        out, lengths = self._run(items, batch_size, None, prefix, False)
        if prefix and items:  # the counts above include the prompt's tokens
            lengths = [len(x) for x in self._tokenize(items, truncation=False)]
        return out, lengths

    def _run(
        self,
        items: list[str],
        batch_size: int | None,
        normalize: bool | None,
        prefix: str,
        show_progress: bool | None,
    ) -> tuple[FloatArray, list[int]]:
        """``(n, dim)`` vectors of ``prefix + text`` for each text, and each one's token count."""
        size = self.batch_size if batch_size is None else batch_size
        check_batch_size(size, "TransformerEncoder")
        if not items:
            return np.zeros((0, self._dim), dtype=np.float32), []
        ids, owners, lengths = self._pieces([prefix + t for t in items])
        prompt_length = self._prompt_length(prefix)
        pooled = np.empty((len(ids), self._dim), dtype=np.float32)
        with progress(total=len(ids), desc="encoding", unit="text", enabled=show_progress) as bar:
            for batch in length_sorted_batches(
                [len(x) for x in ids],
                size,
                overhead=self.backend.call_overhead,
                padding_cost=self.backend.padding_cost,
            ):
                pooled[batch] = self._encode_batch([ids[i] for i in batch], prompt_length)
                bar.update(len(batch))
        out = _gather(pooled, owners, [len(x) for x in ids], len(items))
        if self.normalize if normalize is None else normalize:
            normalize_inplace(out)
        return out, lengths

    # -- steps ----------------------------------------------------------------------------------
    def _prompt(self, prompt: str | None, prompt_name: str | None) -> str:
        if prompt is not None and prompt_name is not None:
            raise ParameterError("pass either prompt or prompt_name, not both")
        if prompt is not None:
            return prompt
        name = prompt_name if prompt_name is not None else self.default_prompt_name
        if name is None:
            return ""
        if name not in self.prompts:
            known = ", ".join(repr(p) for p in sorted(self.prompts)) or "none"
            raise ParameterError(f"prompt_name {name!r} is not defined; this model has: {known}")
        return self.prompts[name]

    def _prompt_length(self, prefix: str) -> int:
        if not prefix or self.pooling.include_prompt:
            return 0
        return len(self._tokenize([prefix])[0]) - 1  # its trailing special token is not prompt

    def _tokenize(self, texts: list[str], **kw: Any) -> list[list[int]]:
        if self.pipeline.do_lower_case:
            texts = [t.lower() for t in texts]
        enc = self.tokenizer(
            texts, add_special_tokens=True, return_attention_mask=False, verbose=False, **kw
        )
        return [list(x) for x in enc["input_ids"]]

    def _pieces(self, texts: list[str]) -> tuple[list[list[int]], npt.NDArray[np.intp], list[int]]:
        """Token ids of every piece to run, for each piece the text it belongs to, and each
        text's tokens before truncation."""
        ids = self._tokenize(texts, truncation=False)
        lengths = [len(x) for x in ids]
        limit = self._max_length
        long = [i for i, x in enumerate(ids) if len(x) > limit]
        owners = np.arange(len(ids), dtype=np.intp)
        if not long:
            return ids, owners, lengths
        if self.long_text == "error":
            raise ParameterError(
                f"{len(long)} of {len(ids)} texts are longer than max_length={limit} tokens "
                f"(the first is text {long[0]}, {len(ids[long[0]])} tokens); pass "
                "long_text='truncate' or 'chunk'"
            )
        if self.long_text == "truncate":
            cut = self._tokenize([texts[i] for i in long], truncation=True, max_length=limit)
            for i, x in zip(long, cut):
                ids[i] = x
            warnings.warn(
                f"{len(long)} of {len(ids)} texts were longer than max_length={limit} tokens and "
                "were truncated (long_text='chunk' averages sliding windows instead)",
                LongTextWarning,
                stacklevel=4,
            )
            return ids, owners, lengths
        pieces: list[list[int]] = []
        owner_list: list[int] = []
        long_set = set(long)
        for i, x in enumerate(ids):
            if i not in long_set:
                pieces.append(x)
                owner_list.append(i)
                continue
            text = texts[i].lower() if self.pipeline.do_lower_case else texts[i]
            enc = self.tokenizer(
                text,
                truncation=True,
                max_length=limit,
                stride=self.chunk_overlap,
                return_overflowing_tokens=True,
                return_attention_mask=False,
                verbose=False,
            )
            windows = enc["input_ids"]
            pieces.extend(list(w) for w in windows)
            owner_list.extend([i] * len(windows))
        logger.info(
            "split %d long texts into %d windows", len(long), len(pieces) - len(ids) + len(long)
        )
        return pieces, np.asarray(owner_list, dtype=np.intp), lengths

    def _encode_batch(self, ids: list[list[int]], prompt_length: int) -> FloatArray:
        input_ids, mask = pad_ids(ids, int(self.tokenizer.pad_token_id))
        hidden = self.backend.run(input_ids, mask)
        out = self.pooling(hidden, mask, prompt_length)
        for dense in self.pipeline.dense:
            out = dense(out)
        return out

    def encode_tokens(
        self,
        texts: str | Sequence[str],
        *,
        layers: Literal["last"] | int | Sequence[int] = "last",
        combine: Literal["concat", "mean"] = "concat",
        word_level: bool = True,
        batch_size: int | None = None,
    ) -> Any:
        """Contextual vectors per token (or per word, pieces averaged) with character offsets.

        See :func:`embedlab.encoders.tokens.encode_tokens`.
        """
        from .tokens import encode_tokens

        return encode_tokens(
            self,
            texts,
            layers=layers,
            combine=combine,
            word_level=word_level,
            batch_size=batch_size,
        )


def _gather(
    pooled: FloatArray, owners: npt.NDArray[np.intp], lengths: list[int], n: int
) -> FloatArray:
    """One row per text: a text split into windows gets their token-weighted mean."""
    if len(owners) == n:
        return pooled
    weights = np.asarray(lengths, dtype=np.float32)
    out = np.zeros((n, pooled.shape[1]), dtype=np.float32)
    np.add.at(out, owners, pooled * weights[:, None])
    total = np.zeros(n, dtype=np.float32)
    np.add.at(total, owners, weights)
    out /= total[:, None]
    return out


def _display_name(model: str | os.PathLike[str] | None, folder: Path) -> str:
    if model is None or is_default(model):
        return DEFAULT_MODEL_NAME
    text = os.fspath(model)
    return text if not Path(text).expanduser().is_dir() else folder.resolve().name


def _is_causal(config: Any) -> bool:
    archs = getattr(config, "architectures", None) or []
    return (
        getattr(config, "model_type", "") in _CAUSAL_TYPES
        or bool(getattr(config, "is_decoder", False))
        or any(a.endswith(("LMHeadModel", "ForCausalLM")) for a in archs)
    )


def _max_length(given: int | None, pipeline: Pipeline, config: Any, tokenizer: Any) -> int:
    limits = [
        getattr(config, "max_position_embeddings", None),
        getattr(config, "n_positions", None),
    ]
    model_limit = min(int(x) for x in limits if x) if any(limits) else None
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int) or given < 2:
            raise ParameterError(
                f"The 'max_length' parameter of TransformerEncoder must be an int in [2, inf). "
                f"Got {given!r} instead."
            )
        if model_limit is not None and given > model_limit:
            raise ParameterError(f"max_length={given} exceeds the model's {model_limit} positions")
        return given
    if pipeline.max_seq_length:
        return int(pipeline.max_seq_length)
    tok_limit = getattr(tokenizer, "model_max_length", None)
    candidates = [x for x in (model_limit, tok_limit) if x and x < 1_000_000]
    return int(min(candidates)) if candidates else 512
