"""The vocabulary view gensim's evaluations use: the first ``restrict_vocab`` keys, optionally
case-folded so ``"PARIS"`` finds the most frequent of ``paris``/``Paris``. Shared by the word
similarity and analogy tasks; no scoring here."""

from __future__ import annotations

from ..vectors import Vectors


def evaluation_vocab(
    vectors: Vectors, restrict_vocab: int | None, case_insensitive: bool
) -> tuple[dict[str, int], int]:
    """``{folded key: row}`` over the first ``restrict_vocab`` rows (earlier rows win), and that
    row limit."""
    limit = len(vectors) if restrict_vocab is None else min(restrict_vocab, len(vectors))
    keys = vectors.index_to_key[:limit]
    if case_insensitive:
        return {k.upper(): i for i, k in reversed(list(enumerate(keys)))}, limit
    return {k: i for i, k in enumerate(keys)}, limit


def fold(word: str, case_insensitive: bool) -> str:
    return word.upper() if case_insensitive else word
