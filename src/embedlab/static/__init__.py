"""Static word-vector trainers: word2vec (skip-gram, CBOW; negative sampling, hierarchical
softmax), item2vec through the same class, and FastText (subword n-grams).

Kernels are numba, in ``_kernels.py`` and ``_ft_kernels.py``."""

from __future__ import annotations

from .fasttext import FastText
from .word2vec import Callback, Word2Vec

__all__ = ["Callback", "FastText", "Word2Vec"]
