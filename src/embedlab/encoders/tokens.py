"""Token-level contextual embeddings: one vector per token, or per word with its pieces averaged.

The same word gets a different vector in a different context ("bank" of a river, "bank" holding
money): that is what these are for. Layers are picked from the model's hidden states (0 is the
embedding layer, -1 the last; several are concatenated, as BERT's feature-based recipe does with
the last four, or averaged). Special tokens ([CLS], [SEP], <|endoftext|>) are left out. Texts longer
than the encoder's ``max_length`` are truncated with a warning. This module does not pool
sentences (:mod:`embedlab.encoders.transformer` does).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import KeyNotFoundError, LongTextWarning, ParameterError, check_choice
from .base import FloatArray, as_texts, check_batch_size, length_sorted_batches, pad_ids

if TYPE_CHECKING:
    from .transformer import TransformerEncoder

logger = logging.getLogger(__name__)

__all__ = ["TokenEmbeddings", "encode_tokens"]


@dataclass(frozen=True)
class TokenEmbeddings:
    """The contextual vectors of one text: ``tokens[i]`` spans ``text[offsets[i][0]:offsets[i][1]]``."""

    text: str
    tokens: list[str]
    offsets: list[tuple[int, int]]
    vectors: FloatArray

    def __len__(self) -> int:
        return len(self.tokens)

    def vector(self, token: str, occurrence: int = 0) -> FloatArray:
        """The vector of the ``occurrence``-th (0-based) appearance of ``token``."""
        hits = [i for i, t in enumerate(self.tokens) if t == token]
        if len(hits) <= occurrence:
            raise KeyNotFoundError(
                f"{token!r} occurs {len(hits)} times in this text; tokens are {self.tokens}"
            )
        return np.asarray(self.vectors[hits[occurrence]], dtype=np.float32)


def encode_tokens(
    encoder: TransformerEncoder,
    texts: str | Sequence[str],
    *,
    layers: Literal["last"] | int | Sequence[int] = "last",
    combine: Literal["concat", "mean"] = "concat",
    word_level: bool = True,
    batch_size: int | None = None,
) -> TokenEmbeddings | list[TokenEmbeddings]:
    """Per-token (``word_level=False``) or per-word vectors of each text, in input order.

    A single string gives one :class:`TokenEmbeddings`, a sequence a list of them.
    """
    items, single = as_texts(texts, "TransformerEncoder")
    check_choice("combine", "encode_tokens", combine, ("concat", "mean"))
    size = encoder.batch_size if batch_size is None else batch_size
    check_batch_size(size, "TransformerEncoder")
    if layers != "last" and not hasattr(encoder.backend, "num_layers"):
        raise ParameterError(
            "the ONNX backend returns only the last layer; use backend='torch' for other layers"
        )
    picks = _layer_picks(layers, getattr(encoder.backend, "num_layers", 0))
    if not items:
        return []
    tok = encoder.tokenizer
    source = [t.lower() for t in items] if encoder.pipeline.do_lower_case else items
    enc = tok(
        source,
        add_special_tokens=True,
        truncation=True,
        max_length=encoder.max_length,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        return_overflowing_tokens=False,
        verbose=False,
    )
    # only a text that filled max_length can have been cut: tokenize those again, whole
    full_length = [i for i, ids in enumerate(enc["input_ids"]) if len(ids) >= encoder.max_length]
    cut = 0
    if full_length:
        whole = tok([source[i] for i in full_length], truncation=False, verbose=False)["input_ids"]
        cut = sum(len(w) > encoder.max_length for w in whole)
    if cut:
        warnings.warn(
            f"{cut} of {len(items)} texts were longer than max_length={encoder.max_length} "
            "tokens; their token vectors stop there",
            LongTextWarning,
            stacklevel=3,
        )
    results: list[TokenEmbeddings | None] = [None] * len(items)
    pad = int(tok.pad_token_id)
    for batch in length_sorted_batches(
        [len(x) for x in enc["input_ids"]],
        size,
        overhead=encoder.backend.call_overhead,
        padding_cost=encoder.backend.padding_cost if picks is None else 1.0,
    ):
        ids, mask = pad_ids([enc["input_ids"][i] for i in batch], pad)
        if picks is None:
            hidden = encoder.backend.run(ids, mask)
        else:
            states = encoder.backend.run(ids, mask, all_layers=True)
            chosen = [states[p] for p in picks]
            hidden = (
                np.concatenate(chosen, axis=-1) if combine == "concat" else np.mean(chosen, axis=0)
            )
        for row, i in enumerate(batch):
            results[i] = _one_text(
                items[i],
                hidden[row],
                enc["offset_mapping"][i],
                enc["special_tokens_mask"][i],
                enc.word_ids(i) if word_level else None,
                tok.convert_ids_to_tokens(enc["input_ids"][i]),
            )
    done = [r for r in results if r is not None]
    return done[0] if single else done


def _layer_picks(layers: Literal["last"] | int | Sequence[int], n_layers: int) -> list[int] | None:
    """``"last"`` -> None (the last hidden state); ints index the hidden states, 0 = embeddings."""
    if isinstance(layers, str):
        check_choice("layers", "encode_tokens", layers, ("last",))
        return None
    picks = [layers] if isinstance(layers, int) else list(layers)
    if not picks:
        raise ParameterError("layers must name at least one layer")
    for p in picks:
        if isinstance(p, bool) or not isinstance(p, int) or not -(n_layers + 1) <= p <= n_layers:
            raise ParameterError(
                f"The 'layers' parameter of encode_tokens takes ints in [{-(n_layers + 1)}, "
                f"{n_layers}] (0 is the embedding layer, {n_layers} or -1 the last). Got {p!r}."
            )
    return picks


def _one_text(
    text: str,
    hidden: FloatArray,
    offsets: Sequence[tuple[int, int]],
    special: Sequence[int],
    word_ids: Sequence[int | None] | None,
    pieces: Sequence[str],
) -> TokenEmbeddings:
    keep = [j for j in range(len(offsets)) if not special[j]]
    if word_ids is None:
        spans = [(int(offsets[j][0]), int(offsets[j][1])) for j in keep]
        return TokenEmbeddings(
            text=text,
            tokens=[pieces[j] for j in keep],
            offsets=spans,
            vectors=np.ascontiguousarray(hidden[keep], dtype=np.float32),
        )
    groups: dict[int, list[int]] = {}
    for j in keep:
        w = word_ids[j]
        if w is not None:
            groups.setdefault(w, []).append(j)
    words, spans, rows = [], [], []
    for members in groups.values():
        start = int(min(offsets[j][0] for j in members))
        end = int(max(offsets[j][1] for j in members))
        words.append(text[start:end])
        spans.append((start, end))
        rows.append(hidden[members].mean(axis=0))
    dim = hidden.shape[-1]
    vectors = np.asarray(rows, dtype=np.float32).reshape(len(rows), dim)
    return TokenEmbeddings(text=text, tokens=words, offsets=spans, vectors=vectors)
