"""Cross-lingual alignment of word vectors: Procrustes from a dictionary, CSLS, refinement.

``Aligner().fit(en, fr, read_lexicon("en-fr.txt"))`` maps English vectors into the French space;
``translate(["cat"])`` lists French words by CSLS; :func:`translation_accuracy` measures P@1/5/10
on held-out pairs. ``fit(en, fr)`` without a dictionary starts from words spelled the same in
both. ``embedlab align`` and ``embedlab eval translate`` are the CLI. This package maps vectors; it
does not train them.
"""

from __future__ import annotations

from .lexicon import identical_pairs, in_vocab, read_lexicon, split_by_source
from .procrustes import (
    Aligner,
    csls_neighbours,
    procrustes,
    search_translations,
    translation_accuracy,
)

__all__ = [
    "Aligner",
    "csls_neighbours",
    "identical_pairs",
    "in_vocab",
    "procrustes",
    "read_lexicon",
    "search_translations",
    "split_by_source",
    "translation_accuracy",
]
