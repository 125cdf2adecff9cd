"""Bilingual lexicons: reading MUSE-style dictionaries, and the seed pairs two vocabularies share.

``read_lexicon("en-fr.txt")`` -> ``[("the", "le"), ("the", "la"), ...]``: one pair a line,
``source<TAB>target`` (or separated by a space, as MUSE writes them), blank lines skipped; a line
with one word or three is a :class:`FormatError` naming the file and line. ``in_vocab(pairs,
src, tgt)`` keeps the pairs whose two words both have vectors and says how many went.
``identical_pairs(src, tgt)`` is the dictionary-free start: words spelled the same in both
vocabularies (numerals, names, shared loanwords), among the ``max_rank`` most frequent of each.
This module does not map vectors.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import FormatError, ParameterError
from ..files import open_read
from ..vectors import Vectors

__all__ = ["identical_pairs", "in_vocab", "read_lexicon", "split_by_source"]

Pairs = list[tuple[str, str]]


def read_lexicon(path: str | os.PathLike[str]) -> Pairs:
    """The ``(source, target)`` pairs of a dictionary file (``.gz``/``.bz2`` too)."""
    p = Path(path)
    pairs: Pairs = []
    with open_read(p) as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as e:
                raise FormatError(p, f"expected UTF-8 text: {e}", line=number) from None
            if not line:
                continue
            words = line.split("\t") if "\t" in line else line.split()
            if len(words) != 2 or not all(w.strip() for w in words):
                raise FormatError(
                    p, f"expected 'source<TAB>target', found {len(words)} fields", line=number
                )
            pairs.append((words[0].strip(), words[1].strip()))
    if not pairs:
        raise FormatError(p, "expected at least one 'source<TAB>target' pair; the file is empty")
    return pairs


def in_vocab(pairs: Iterable[tuple[str, str]], src: Vectors, tgt: Vectors) -> Pairs:
    """The pairs whose source word is in ``src`` and target word in ``tgt``; an error when none."""
    given = list(pairs)
    kept = [(s, t) for s, t in given if s in src and t in tgt]
    if not kept:
        sample = ", ".join(f"{s}->{t}" for s, t in given[:3])
        raise ParameterError(
            f"none of the {len(given)} dictionary pairs has both words in the vocabularies "
            f"(e.g. {sample}): check the language direction and the case of the words"
        )
    return kept


def identical_pairs(src: Vectors, tgt: Vectors, *, max_rank: int = 50_000) -> Pairs:
    """Words spelled the same among the ``max_rank`` first (most frequent) rows of both."""
    if max_rank < 1:
        raise ParameterError(f"max_rank must be >= 1; got {max_rank}")
    targets = set(tgt.index_to_key[:max_rank])
    return [(w, w) for w in src.index_to_key[:max_rank] if w in targets]


def split_by_source(pairs: Pairs, held_out: float, *, seed: int = 0) -> tuple[Pairs, Pairs]:
    """Train and test pairs with no source word in both (a held-out share of the source words)."""
    import random

    if not 0 < held_out < 1:
        raise ParameterError(f"held_out must be in (0, 1); got {held_out}")
    sources = sorted({s for s, _ in pairs})
    random.Random(seed).shuffle(sources)
    test_words = set(sources[: max(1, int(len(sources) * held_out))])
    return (
        [p for p in pairs if p[0] not in test_words],
        [p for p in pairs if p[0] in test_words],
    )
