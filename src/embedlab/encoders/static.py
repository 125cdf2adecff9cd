"""`StaticEncoder`: sentence vectors as (weighted) averages of static token vectors.

Two ways to cut text into keys of a :class:`~embedlab.Vectors`: words from embedlab's text pipeline
(a regex tokenizer, jieba for Chinese) for word2vec / GloVe / fastText vectors, or the sub-word
pieces of a Hugging Face ``tokenizers`` tokenizer for vectors distilled from a transformer
(:mod:`embedlab.encoders.distill`). Weighting is ``"mean"`` or ``"sif"`` (Arora et al. 2017: each
word weighted a / (a + p(word)), then the projection on the first principal components of a sample
of sentence vectors removed; ``fit(texts)`` learns those components, and word frequencies when the
vectors carry none). Averages are one sparse-matrix product per batch. Unknown keys are skipped; a
text with none gives a zero vector. Saved as a folder: the vectors in the native format, the
tokenizer, and ``static_encoder.json``. This module does not train vectors.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import FormatError, NotFittedError, ParameterError, check_choice
from ..files import atomic_dir, read_json
from ..rows import normalize_inplace
from ..text.tokenize import Tokenizer
from ..vectors import Vectors
from .base import FloatArray, as_texts, check_batch_size

logger = logging.getLogger(__name__)

__all__ = ["StaticEncoder"]

Weighting = Literal["mean", "sif"]
CONFIG_FILE = "static_encoder.json"
FORMAT_VERSION = 1


class StaticEncoder:
    """Encode texts by averaging the vectors of their words (or sub-word pieces).

    >>> enc = StaticEncoder(vectors)                       # words, plain mean, unit length
    >>> enc = StaticEncoder(vectors, weighting="sif").fit(sample_texts)
    """

    def __init__(
        self,
        vectors: Vectors,
        *,
        tokenizer: Any = None,
        weighting: Weighting = "mean",
        sif_a: float = 1e-3,
        remove_components: int = 1,
        normalize: bool = True,
        name: str | None = None,
    ) -> None:
        if not isinstance(vectors, Vectors):
            raise ParameterError(
                f"StaticEncoder takes a Vectors; got {type(vectors).__name__} instead."
            )
        self.vectors = vectors
        self.weighting = check_choice("weighting", "StaticEncoder", weighting, ("mean", "sif"))
        if not 0 < sif_a < 1:
            raise ParameterError(
                f"The 'sif_a' parameter of StaticEncoder must be a float in (0, 1). Got {sif_a!r}."
            )
        if isinstance(remove_components, bool) or not 0 <= remove_components <= vectors.dim:
            raise ParameterError(
                f"The 'remove_components' parameter of StaticEncoder must be an int in "
                f"[0, {vectors.dim}]. Got {remove_components!r} instead."
            )
        self.sif_a = float(sif_a)
        self.remove_components = int(remove_components)
        self.normalize = normalize
        self._name = name or "static"
        self.tokenizer: Any = Tokenizer()
        if tokenizer is not None:
            self.tokenizer = tokenizer
        self._subword = _is_hf_tokenizer(self.tokenizer)
        self._token_rows: npt.NDArray[np.int64] | None = None
        if self._subword:
            vocab = self.tokenizer.get_vocab(with_added_tokens=True)
            rows = np.full(max(vocab.values(), default=-1) + 1, -1, dtype=np.int64)
            for piece, tid in vocab.items():
                rows[tid] = vectors.key_to_index.get(piece, -1)
            self._token_rows = rows
        self.word_weights_: npt.NDArray[np.float32] | None = None
        self.components_: npt.NDArray[np.float32] | None = None
        if self.weighting == "sif" and vectors.counts is not None:
            self.word_weights_ = _sif_weights(vectors.counts, self.sif_a)

    # -- the Encoder contract -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self.vectors.dim

    @property
    def max_length(self) -> int | None:
        return None

    def __repr__(self) -> str:
        kind = "sub-word pieces" if self._subword else "words"
        return (
            f"StaticEncoder({self._name!r}, {len(self.vectors)} {kind} x {self.dim}, "
            f"weighting={self.weighting!r}, normalize={self.normalize})"
        )

    def fit(self, texts: Sequence[str]) -> StaticEncoder:
        """SIF only: learn word frequencies (if the vectors have none) and the common components."""
        items, _ = as_texts(texts, "StaticEncoder")
        if self.weighting != "sif":
            return self
        rows = self._batch_rows(items)
        if self.vectors.counts is None:
            counts = Counter(int(r) for rs in rows for r in rs)
            freq = np.zeros(len(self.vectors), dtype=np.int64)
            for r, c in counts.items():
                freq[r] = c
            self.word_weights_ = _sif_weights(freq, self.sif_a)
        if self.remove_components:
            pooled = self._average(rows)
            used = pooled[np.abs(pooled).sum(axis=1) > 0]
            if len(used) < self.remove_components:
                raise ParameterError(
                    f"fit needs at least {self.remove_components} texts with known words; "
                    f"{len(used)} of {len(items)} have any"
                )
            _, _, vt = np.linalg.svd(used.astype(np.float64), full_matrices=False)
            self.components_ = vt[: self.remove_components].astype(np.float32)
        return self

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int = 1024,
        normalize: bool | None = None,
        show_progress: bool | None = None,
    ) -> FloatArray:
        """Vectors for ``texts`` in input order: ``(n, dim)``, or ``(dim,)`` for one string."""
        items, single = as_texts(texts, "StaticEncoder")
        check_batch_size(batch_size, "StaticEncoder")
        if self.weighting == "sif" and (
            self.word_weights_ is None or (self.remove_components and self.components_ is None)
        ):
            raise NotFittedError(
                "This StaticEncoder uses SIF weighting and is not fitted yet: call "
                "fit(texts) on a sample of your corpus first."
            )
        out = np.empty((len(items), self.dim), dtype=np.float32)
        with progress(total=len(items), desc="encoding", unit="text", enabled=show_progress) as bar:
            for start in range(0, len(items), batch_size):
                chunk = items[start : start + batch_size]
                out[start : start + len(chunk)] = self._encode_chunk(chunk)
                bar.update(len(chunk))
        if self.normalize if normalize is None else normalize:
            normalize_inplace(out)
        return out[0] if single else out

    # -- internals ------------------------------------------------------------------------------
    def _batch_rows(self, texts: list[str]) -> list[npt.NDArray[np.int64]]:
        """For each text, the vector rows of its known keys (unknown ones dropped)."""
        if not self._subword:
            index = self.vectors.key_to_index
            found = ([index.get(t, -1) for t in self.tokenizer(text)] for text in texts)
            return [np.asarray([r for r in f if r >= 0], dtype=np.int64) for f in found]
        assert self._token_rows is not None
        table = self._token_rows
        out = []
        for enc in self.tokenizer.encode_batch(texts, add_special_tokens=False):
            ids = np.asarray(enc.ids, dtype=np.int64)
            rows = table[ids[ids < len(table)]]
            out.append(rows[rows >= 0])
        return out

    def _average(self, rows: list[npt.NDArray[np.int64]]) -> FloatArray:
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        flat = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        weights = np.repeat(1.0 / np.maximum(lengths, 1), lengths).astype(np.float32)
        if self.weighting == "sif" and self.word_weights_ is not None:
            weights *= self.word_weights_[flat]
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        import scipy.sparse as sp

        mat = sp.csr_matrix((weights, flat, indptr), shape=(len(rows), len(self.vectors)))
        return np.asarray(mat @ self.vectors.vectors, dtype=np.float32)

    def _encode_chunk(self, texts: list[str]) -> FloatArray:
        pooled = self._average(self._batch_rows(texts))
        if self.components_ is not None:
            pooled -= (pooled @ self.components_.T) @ self.components_
        return pooled

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the vectors (native format), the tokenizer and ``static_encoder.json``, atomically."""
        target = Path(folder)
        config: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "name": self._name,
            "weighting": self.weighting,
            "sif_a": self.sif_a,
            "remove_components": self.remove_components,
            "normalize": self.normalize,
            "tokenizer": "tokenizers" if self._subword else "embedlab",
        }
        if not self._subword:
            tok = self.tokenizer
            if not isinstance(tok, Tokenizer):
                raise ParameterError(
                    "only embedlab Tokenizer or Hugging Face tokenizers can be saved; this encoder "
                    f"uses {type(tok).__name__}"
                )
            config["tokenizer_options"] = tok.options()
        with atomic_dir(target) as tmp:
            self.vectors.save(tmp / "vectors", format="native")
            if self._subword:
                self.tokenizer.save(str(tmp / "tokenizer.json"))
            arrays = {}
            if self.word_weights_ is not None:
                arrays["word_weights"] = self.word_weights_
            if self.components_ is not None:
                arrays["components"] = self.components_
            if arrays:
                from safetensors.numpy import save_file

                save_file(arrays, str(tmp / "sif.safetensors"))
            (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, mmap: bool = True) -> StaticEncoder:
        """Open a folder written by :meth:`save` (or by ``embedlab distill``)."""
        root = Path(folder)
        config_file = root / CONFIG_FILE
        if not config_file.exists():
            raise FormatError(root, f"not a StaticEncoder folder: {CONFIG_FILE} is missing")
        config = read_json(config_file)
        if config.get("format_version") != FORMAT_VERSION:
            raise FormatError(
                config_file,
                f"format_version {config.get('format_version')!r} is not {FORMAT_VERSION}",
            )
        vectors = Vectors.load(root / "vectors", mmap=mmap)
        tokenizer: Any
        if config.get("tokenizer") == "tokenizers":
            from tokenizers import Tokenizer as HFTokenizer

            tokenizer = HFTokenizer.from_file(str(root / "tokenizer.json"))
        else:
            tokenizer = Tokenizer(**config.get("tokenizer_options", {}))
        enc = cls(
            vectors,
            tokenizer=tokenizer,
            weighting=config.get("weighting", "mean"),
            sif_a=float(config.get("sif_a", 1e-3)),
            remove_components=int(config.get("remove_components", 1)),
            normalize=bool(config.get("normalize", True)),
            name=config.get("name"),
        )
        sif = root / "sif.safetensors"
        if sif.exists():
            from safetensors.numpy import load_file

            arrays = load_file(str(sif))
            enc.word_weights_ = arrays.get("word_weights")
            enc.components_ = arrays.get("components")
        return enc


def _is_hf_tokenizer(tok: Any) -> bool:
    return hasattr(tok, "encode_batch") and hasattr(tok, "get_vocab")


def _sif_weights(counts: npt.ArrayLike, a: float) -> npt.NDArray[np.float32]:
    """``a / (a + p(w))`` with ``p`` the relative frequency; ``[1, 3], a=0.25`` -> ``[0.5, 0.25]``."""
    c = np.asarray(counts, dtype=np.float64)
    p = c / max(c.sum(), 1.0)
    return np.asarray(a / (a + p), dtype=np.float32)
