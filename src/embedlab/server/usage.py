"""Counting ``usage`` tokens the way the model reads the text, one count per text.

``token_counter(encoder)`` returns ``texts -> [tokens of each text]``: the encoder's own tokenizer
pieces (special tokens included), else its word splitter, else whitespace words. It runs where
the model runs — the encoder's worker process, or the micro-batcher's thread for a model served in
the server's process — never on the event loop. This module does not encode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["count_tokens", "token_counter"]

Counter = Callable[[list[str]], list[int]]


def token_counter(encoder: Any) -> Counter:
    """How to count ``usage`` tokens for ``encoder``: its tokenizer's pieces, else whitespace words.

    A Rust tokenizer is copied without padding and truncation (``transformers`` leaves its
    tokenizer padded to the model's maximum length, which would count the padding) and runs one
    text at a time (its batch call starts a thread per core, which for a request's few texts
    costs more than it saves and takes cores from the encoder).
    """
    tok = getattr(encoder, "tokenizer", None)
    rust = getattr(tok, "backend_tokenizer", tok)
    if rust is not None and hasattr(rust, "to_str"):
        from tokenizers import Tokenizer

        own = Tokenizer.from_str(rust.to_str())
        own.no_padding()
        own.no_truncation()
        return lambda texts: [len(own.encode(t).ids) for t in texts]
    if tok is not None and hasattr(tok, "model_max_length"):
        return lambda texts: [
            len(x) for x in tok(texts, add_special_tokens=True, verbose=False)["input_ids"]
        ]
    if callable(tok):
        return lambda texts: [len(tok(t)) for t in texts]
    return lambda texts: [len(t.split()) for t in texts]


def count_tokens(counter: Counter, texts: list[str]) -> list[int]:
    """``counter(texts)``, or whitespace words if it fails: counting never fails a request."""
    try:
        counts = counter(texts)
        if len(counts) == len(texts):
            return counts
    except Exception:  # pragma: no cover - a tokenizer that chokes on some text
        logger.debug("token counting fell back to words", exc_info=True)
    return [len(t.split()) for t in texts]
