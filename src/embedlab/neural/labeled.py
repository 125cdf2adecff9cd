"""Labeled texts for classification: read from a file, split, and turned into model inputs.

:class:`LabeledTexts` holds texts (and optional second texts, for pairs) with their labels; it
reads CSV / TSV / JSONL through :func:`embedlab.records.read_columns` (errors name file, line and
column) and splits off a stratified, seeded validation part. :func:`encode_rows` tokenizes them
for a model and :func:`collate` pads a batch into tensors. This module does not train.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..encoders.base import pad_ids
from ..errors import ParameterError

logger = logging.getLogger(__name__)

__all__ = ["Column", "LabeledTexts", "collate", "encode_rows"]

Column = str | int  # a column by header name or 0-based position


@dataclass
class LabeledTexts:
    """Texts (and optional second texts of a pair) with their labels, as strings."""

    texts: list[str]
    labels: list[str]
    pairs: list[str] | None = None

    def __post_init__(self) -> None:
        self.labels = [str(x) for x in self.labels]
        if len(self.texts) != len(self.labels):
            raise ParameterError(f"{len(self.texts)} texts but {len(self.labels)} labels")
        if self.pairs is not None and len(self.pairs) != len(self.texts):
            raise ParameterError(f"{len(self.texts)} texts but {len(self.pairs)} pair texts")
        if not self.texts:
            raise ParameterError("no examples")

    @classmethod
    def read(
        cls,
        path: str | os.PathLike[str],
        *,
        text: Column = "text",
        label: Column = "label",
        pair: Column | None = None,
        **kw: Any,
    ) -> LabeledTexts:
        """Read columns ``text``, ``label`` (and ``pair``) by header name or 0-based position."""
        from ..records import read_text_columns

        got = read_text_columns(path, {"text": text, "label": label, "pair": pair}, **kw)
        return cls(got["text"], got["label"], got.get("pair"))

    def subset(self, index: Sequence[int] | npt.NDArray[np.intp]) -> LabeledTexts:
        idx = [int(i) for i in index]
        return LabeledTexts(
            [self.texts[i] for i in idx],
            [self.labels[i] for i in idx],
            None if self.pairs is None else [self.pairs[i] for i in idx],
        )

    def split(self, fraction: float, seed: int) -> tuple[LabeledTexts, LabeledTexts]:
        """A stratified (train, held-out) split with ``fraction`` of each label held out."""
        if not 0 < fraction < 1:
            raise ParameterError(f"validation_split must be in (0, 1), got {fraction}")
        rng = np.random.default_rng(seed)
        labels = np.array(self.labels)
        held: list[int] = []
        for value in sorted(set(self.labels)):
            members = rng.permutation(np.flatnonzero(labels == value))
            held.extend(members[: max(1, round(fraction * len(members)))].tolist())
        mask = np.zeros(len(labels), dtype=bool)
        mask[held] = True
        return self.subset(np.flatnonzero(~mask)), self.subset(np.flatnonzero(mask))


def encode_rows(
    tokenizer: Any, data: LabeledTexts, max_length: int
) -> list[tuple[list[int], list[int]]]:
    """Token ids and token-type ids of every example (pairs joined by the tokenizer's template)."""
    enc = tokenizer(
        data.texts,
        data.pairs,
        truncation=True,
        max_length=max_length,
        return_attention_mask=False,
        return_token_type_ids=True,
        verbose=False,
    )
    types = enc.get("token_type_ids") or [[0] * len(x) for x in enc["input_ids"]]
    return list(zip(enc["input_ids"], types, strict=True))


def collate(rows: list[tuple[list[int], list[int]]], pad: int, device: str) -> dict[str, Any]:
    import torch

    ids, mask = pad_ids([x for x, _ in rows], pad)
    types, _ = pad_ids([t for _, t in rows], 0)
    tensors = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {k: torch.from_numpy(v).to(device) for k, v in tensors.items()}
