"""Static word-vector trainers: word2vec (skip-gram, CBOW; negative sampling, hierarchical
softmax), item2vec through the same class, FastText (subword n-grams) and GloVe.

Kernels are numba, in ``_kernels.py`` and ``_ft_kernels.py``."""

from __future__ import annotations

from .fasttext import FastText
from .glove import GloVe
from .word2vec import Callback, Word2Vec

__all__ = ["Callback", "FastText", "GloVe", "Word2Vec"]
