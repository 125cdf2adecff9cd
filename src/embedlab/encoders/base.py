"""The `Encoder` contract every sentence encoder meets, and the batching helpers they share.

An encoder turns texts into one float32 row each: ``encode(["a", "b"])`` is ``(2, dim)`` and
``encode("a")`` is ``(dim,)``. Evaluation, search, the server and Ray take any object with this
shape, so a transformer, an ONNX session and a bag of static vectors are interchangeable;
an :class:`ImageEncoder` also puts images in the same space. (BM25
lives in :mod:`embedlab.search.bm25`; learned sparse encoders will get a contract of their own.)
This module does not load models.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError

logger = logging.getLogger(__name__)

__all__ = ["Encoder", "ImageEncoder", "as_texts", "length_sorted_batches", "pad_ids"]

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


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


@runtime_checkable
class ImageEncoder(Encoder, Protocol):
    """An :class:`Encoder` whose space also holds images (CLIP, SigLIP, a trained LiT model).

    ``encode_images(images)`` takes paths, encoded bytes, uint8 arrays or PIL images and returns
    ``(n, dim)`` rows comparable with ``encode(texts)``'s, ``(dim,)`` for one image.
    """

    def encode_images(
        self,
        images: Any,
        *,
        batch_size: int | None = None,
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


# One forward pass holds at most this many padded tokens (32 texts of 512 tokens: MiniLM's
# activations ~25 MB a layer) and this many attention scores per head (32 x 512 x 512).
MAX_PADDED_TOKENS = 32 * 512
MAX_ATTENTION_CELLS = 32 * 512 * 512


def length_sorted_batches(
    lengths: Sequence[int],
    batch_size: int,
    *,
    overhead: int = 32,
    padding_cost: float = 1.0,
    max_slots: int | None = MAX_PADDED_TOKENS,
    max_attention: int | None = MAX_ATTENTION_CELLS,
) -> Iterator[npt.NDArray[np.intp]]:
    """Indices in batches of similar length, longest first, split to cost the least compute.

    A batch of ``n`` items padded to its longest ``L`` costs ``overhead + n * L`` token-steps: the
    padded tokens plus a fixed per-call cost, which for MiniLM on 2 CPU threads is worth about 37
    tokens in torch and 15 in ONNX Runtime. A backend that skips padding in its dense layers (see
    ``encoders._packed``) pays full price only for real tokens and ``padding_cost`` (a fraction) for
    each padded slot. The sorted items are cut (at most ``batch_size`` per batch) where the total
    is smallest, by dynamic programming over the cut points: a batch takes a shorter item when
    padding it costs less than a separate call would. ``lengths=[30, 9, 1, 8], batch_size=2,
    overhead=4`` -> ``[0]``, ``[1, 3]``, ``[2]``. ``max_slots`` bounds a batch's padded size
    (``n * L``) and ``max_attention`` its attention scores per head (``n * L * L``), which bound the
    memory of one forward pass whatever ``batch_size`` a caller asks for (the server asks for a
    whole call); an item alone may exceed them. Callers write each result back at these indices,
    so the output keeps the input order.
    """
    lens = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lens, kind="stable")
    ls = lens[order].astype(np.float64)
    n = len(ls)
    real = np.concatenate([[0.0], np.cumsum(ls)])  # real[i]: tokens of the first i items
    slot, token = padding_cost, 1.0 - padding_cost
    best = np.zeros(n + 1)  # best[i]: least cost of the first i items
    cut = [0] * (n + 1)  # where the last batch of that best split starts
    for i in range(1, n + 1):
        j = np.arange(max(0, i - batch_size), i)
        c = best[j] + overhead + slot * (i - j) * ls[j] + token * (real[i] - real[j])
        over = np.zeros(len(j), dtype=bool)
        if max_slots is not None:
            over |= (i - j) * ls[j] > max_slots
        if max_attention is not None:
            over |= (i - j) * ls[j] * ls[j] > max_attention
        c[over & (j < i - 1)] = np.inf
        at = len(c) - 1 - int(np.argmin(c[::-1]))  # ties: the shorter last batch
        best[i], cut[i] = c[at], int(j[at])
    ends = []
    i = n
    while i > 0:
        ends.append(i)
        i = cut[i]
    start = 0
    for end in reversed(ends):
        yield order[start:end]
        start = end


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
