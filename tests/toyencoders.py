"""Deterministic toy encoders for tests that need an Encoder but not a model."""

from __future__ import annotations

from typing import Any

import numpy as np


class WordHash:
    """Each word hashes to a fixed random direction; a text is the unit mean of its words."""

    def __init__(self, name: str = "wordhash", dim: int = 32) -> None:
        self.name, self.dim, self.max_length = name, dim, None

    def encode(
        self, texts: Any, *, batch_size: int = 32, normalize: Any = None, show_progress: Any = None
    ) -> np.ndarray:
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        out = np.zeros((len(items), self.dim), np.float32)
        for i, t in enumerate(items):
            words = t.lower().replace("?", " ").split() or list(t)
            for w in words:
                seed = sum(ord(c) * 31**j for j, c in enumerate(w[:8])) % (2**32)
                out[i] += np.random.default_rng(seed).normal(size=self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
        return out[0] if single else out


class ToySplade:
    """A sparse encoder: each word's hash bucket weighs 1 (a stand-in for SPLADE's terms)."""

    name, dim = "toy-splade", 97

    def encode_document(self, texts: list[str], **_: object) -> object:
        from scipy import sparse

        rows = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().replace("?", "").split():
                rows[i, sum(map(ord, w)) % self.dim] = 1.0
        return sparse.csr_matrix(rows)

    encode_query = encode_document
    encode = encode_document


class ToyImages(WordHash):
    """A multimodal stand-in: texts as WordHash, an image as a fixed random projection of its
    4 x 4 thumbnail (the same picture, the same vector; a different one, another)."""

    def __init__(self, name: str = "toy-images", dim: int = 24) -> None:
        super().__init__(name, dim)
        self._w = np.random.default_rng(7).normal(size=(48, dim))

    def encode_images(self, images: Any, *, normalize: Any = True, **_: object) -> np.ndarray:
        rows = [np.asarray(im.convert("RGB").resize((4, 4)), np.float64).reshape(-1) / 255
                for im in images]  # fmt: skip
        out = (np.array(rows) - 0.5) @ self._w
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)
