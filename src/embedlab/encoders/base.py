"""The `Encoder` contract every sentence encoder meets, and the batching helpers they share.

An encoder turns texts into one float32 row each: ``encode(["a", "b"])`` is ``(2, dim)`` and
``encode("a")`` is ``(dim,)``. Evaluation, search, the server and Ray take any object with this
shape, so a transformer, an ONNX session and a bag of static vectors are interchangeable. Sparse
encoders (BM25, SPLADE) are a separate contract in :mod:`embedlab.encoders.sparse`. This module does
not load models.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError

logger = logging.getLogger(__name__)

__all__ = ["Encoder", "as_texts", "l2_normalize", "length_sorted_batches", "pad_ids"]

FloatArray = npt.NDArray[np.float32]


@runtime_checkable
class Encoder(Protocol):
    """Anything that maps texts to dense float32 vectors.

    ``encode(texts)`` returns ``(len(texts), dim)`` for a sequence and ``(dim,)`` for one string,
    in input order, float32, unit length when ``normalize`` is true. ``max_length`` is the longest
    input (in the encoder's own tokens) read without truncation or chunking, ``None`` for no limit.
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def max_length(self) -> int | None: ...

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int = 32,
        normalize: bool | None = None,
        show_progress: bool | None = None,
    ) -> FloatArray: ...


def as_texts(texts: str | Sequence[str], owner: str) -> tuple[list[str], bool]:
    """``("a")`` -> ``(["a"], True)``; ``(["a", "b"])`` -> ``(["a", "b"], False)``; rejects non-str."""
    if isinstance(texts, str):
        return [texts], True
    if isinstance(texts, bytes) or not isinstance(texts, Sequence | np.ndarray):
        raise ParameterError(
            f"{owner}.encode takes a str or a sequence of str. Got {type(texts).__name__} instead."
        )
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise ParameterError(
                f"{owner}.encode takes a str or a sequence of str; item {i} is "
                f"{type(t).__name__}: {t!r}."
            )
    return out, False


def check_batch_size(batch_size: int, owner: str) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(
            f"The 'batch_size' parameter of {owner}.encode must be an int in [1, inf). "
            f"Got {batch_size!r} instead."
        )


def length_sorted_batches(
    lengths: Sequence[int], batch_size: int, *, max_padding: float = 0.15
) -> Iterator[npt.NDArray[np.intp]]:
    """Indices in batches of similar length, longest first, so padding stays small.

    A batch closes at ``batch_size`` items, or earlier when the next item is so much shorter that
    padding it to the batch's longest would waste more than ``max_padding`` of its tokens (plus two
    tokens of slack). ``lengths=[30, 9, 1, 8], batch_size=2`` -> ``[0]``, ``[1, 3]``, ``[2]``. Callers
    write each result back at these indices, so the output keeps the input order.
    """
    lens = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lens, kind="stable")
    start = 0
    for i in range(1, len(order) + 1):
        if (
            i == len(order)
            or i - start >= batch_size
            or (lens[order[start]] > (1 + max_padding) * lens[order[i]] + 2)
        ):
            yield order[start:i]
            start = i


def pad_ids(
    rows: Sequence[Sequence[int]], pad: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Right-padded ids and their 0/1 mask.

    ``[[5, 6], [7]], pad=0`` -> ``[[5, 6], [7, 0]]`` and ``[[1, 1], [1, 0]]``.
    """
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask


def l2_normalize(x: FloatArray) -> FloatArray:
    """Rows scaled to unit length in place; all-zero rows stay zero."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x
