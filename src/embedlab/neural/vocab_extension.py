"""Extending a tokenizer's vocabulary with the words it can only spell as ``[UNK]``.

A Chinese review read by an English WordPiece vocabulary is mostly unknown characters:
:func:`unknown_words` finds the most frequent such words of the training texts and
:func:`extend_vocab` adds them to the tokenizer, their embedding rows starting as the ``[UNK]``
row (learned in fine-tuning). This module does not train.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..errors import ParameterError

logger = logging.getLogger(__name__)

__all__ = ["extend_vocab", "unknown_words"]


def unknown_words(
    tokenizer: Any, texts: Sequence[str], limit: int, *, min_count: int = 2
) -> list[str]:
    """The ``limit`` most frequent words (pre-tokenizer units, at least ``min_count`` times) of
    ``texts`` that ``tokenizer`` spells as nothing but its unknown token."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    unk = getattr(tokenizer, "unk_token_id", None)
    if backend is None or unk is None or backend.pre_tokenizer is None:
        raise ParameterError("extend_vocab needs a fast tokenizer with an unknown token")
    counts: Counter[str] = Counter()
    for text in texts:
        norm = backend.normalizer.normalize_str(text) if backend.normalizer else text
        counts.update(word for word, _ in backend.pre_tokenizer.pre_tokenize_str(norm))
    found: list[str] = []
    for word, n in counts.most_common():
        if n < min_count or len(found) >= limit:
            break
        if all(t.id == unk for t in backend.model.tokenize(word)):
            found.append(word)
    return found


def extend_vocab(tokenizer: Any, net: Any, texts: Sequence[str], limit: int) -> int:
    """Add ``unknown_words`` to ``tokenizer`` and rows for them (copies of ``[UNK]``'s) to ``net``."""
    import torch

    words = unknown_words(tokenizer, texts, limit)
    added = int(tokenizer.add_tokens(words))
    if added:
        old = net.get_input_embeddings().weight.shape[0]
        net.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        with torch.no_grad():
            table = net.get_input_embeddings().weight
            table[old:] = table[tokenizer.unk_token_id]
    logger.info("extend_vocab: added %d tokens unknown to the tokenizer", added)
    return added
