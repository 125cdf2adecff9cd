"""Pooling token states into one sentence vector, in numpy, shared by the torch and ONNX backends.

Modes follow sentence-transformers' ``Pooling`` module and its ``1_Pooling/config.json`` keys:
``mean`` (masked average), ``cls`` (first token), ``max`` (masked maximum), ``mean_sqrt_len`` (sum
divided by sqrt(length)), ``weightedmean`` (position-weighted average, SGPT) and ``lasttoken`` (last
real token; the usual choice for GPT-style causal models). Several modes concatenate in that order,
as sentence-transformers does. This module does not run models.

``Pooling(("mean",))(hidden, mask)`` with ``hidden`` ``(batch, tokens, dim)`` and ``mask``
``(batch, tokens)`` of 0/1 gives ``(batch, dim)``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError

logger = logging.getLogger(__name__)

__all__ = ["POOLING_MODES", "Pooling"]

#: The modes in sentence-transformers' concatenation order.
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken")
_ST_KEYS = {
    "cls": "pooling_mode_cls_token",
    "max": "pooling_mode_max_tokens",
    "mean": "pooling_mode_mean_tokens",
    "mean_sqrt_len": "pooling_mode_mean_sqrt_len_tokens",
    "weightedmean": "pooling_mode_weightedmean_tokens",
    "lasttoken": "pooling_mode_lasttoken",
}


@dataclass(frozen=True)
class Pooling:
    """Which token states make the sentence vector.

    ``include_prompt=False`` leaves the prompt's tokens (and the leading special token) out of the
    pooled tokens, as instruction-tuned models such as INSTRUCTOR expect.
    """

    modes: tuple[str, ...] = ("mean",)
    include_prompt: bool = True

    def __post_init__(self) -> None:
        modes = (self.modes,) if isinstance(self.modes, str) else tuple(self.modes)
        if not modes:
            raise ParameterError("Pooling needs at least one mode; choose from " + _listed())
        for m in modes:
            if m not in POOLING_MODES:
                raise ParameterError(
                    f"The 'pooling' parameter must be one of {_listed()}. Got {m!r} instead."
                )
        ordered = tuple(m for m in POOLING_MODES if m in modes)
        object.__setattr__(self, "modes", ordered)

    @classmethod
    def parse(cls, value: Pooling | str | Sequence[str]) -> Pooling:
        """``"mean"``, ``"cls+max"``, ``["cls", "max"]`` or a Pooling."""
        if isinstance(value, Pooling):
            return value
        if isinstance(value, str):
            return cls(tuple(v.strip() for v in value.split("+")))
        return cls(tuple(value))

    @classmethod
    def from_st_config(cls, config: Mapping[str, Any]) -> Pooling:
        """From a sentence-transformers ``1_Pooling/config.json`` mapping."""
        modes = tuple(m for m, key in _ST_KEYS.items() if config.get(key))
        if not modes and isinstance(config.get("pooling_mode"), str):
            modes = (str(config["pooling_mode"]).replace("mean_tokens", "mean"),)
        if not modes:
            raise ParameterError(f"the pooling config sets no pooling mode: {dict(config)}")
        return cls(modes, include_prompt=bool(config.get("include_prompt", True)))

    def to_st_config(self, dim: int) -> dict[str, Any]:
        """The sentence-transformers config for this pooling over ``dim``-wide token states."""
        out: dict[str, Any] = {"word_embedding_dimension": dim}
        out.update({key: m in self.modes for m, key in _ST_KEYS.items()})
        out["include_prompt"] = self.include_prompt
        return out

    def output_dim(self, dim: int) -> int:
        return dim * len(self.modes)

    def __call__(
        self,
        hidden: npt.NDArray[np.float32],
        mask: npt.NDArray[np.integer[Any]],
        prompt_length: int = 0,
    ) -> npt.NDArray[np.float32]:
        """Pool ``(batch, tokens, dim)`` states under a ``(batch, tokens)`` 0/1 attention mask."""
        m = mask.astype(np.float32)
        if not self.include_prompt and prompt_length > 0:
            m = m.copy()
            m[:, :prompt_length] = 0.0
        parts = [_POOLERS[mode](hidden, m, mask) for mode in self.modes]
        out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        return np.ascontiguousarray(out, dtype=np.float32)


def _listed() -> str:
    return ", ".join(repr(m) for m in POOLING_MODES)


def _cls(h: Any, m: Any, raw: Any) -> Any:
    return h[:, 0]


def _masked_sum(h: Any, m: Any) -> tuple[Any, Any]:
    total = np.einsum("btd,bt->bd", h, m, dtype=np.float32)
    count = np.maximum(m.sum(axis=1, keepdims=True), 1e-9)
    return total, count


def _mean(h: Any, m: Any, raw: Any) -> Any:
    total, count = _masked_sum(h, m)
    return total / count


def _mean_sqrt_len(h: Any, m: Any, raw: Any) -> Any:
    total, count = _masked_sum(h, m)
    return total / np.sqrt(count)


def _max(h: Any, m: Any, raw: Any) -> Any:
    masked = np.where(m[:, :, None] > 0, h, np.float32(-1e9))
    return masked.max(axis=1)


def _weightedmean(h: Any, m: Any, raw: Any) -> Any:
    positions = np.arange(1, h.shape[1] + 1, dtype=np.float32)[None, :]
    return _mean_weighted(h, m * positions)


def _mean_weighted(h: Any, w: Any) -> Any:
    total = np.einsum("btd,bt->bd", h, w, dtype=np.float32)
    return total / np.maximum(w.sum(axis=1, keepdims=True), 1e-9)


def _lasttoken(h: Any, m: Any, raw: Any) -> Any:
    # the last position whose (unmodified) mask is 1: right padding and left padding both work
    r = raw.astype(bool)
    last = h.shape[1] - 1 - np.argmax(r[:, ::-1], axis=1)
    return h[np.arange(h.shape[0]), last]


_POOLERS = {
    "cls": _cls,
    "max": _max,
    "mean": _mean,
    "mean_sqrt_len": _mean_sqrt_len,
    "weightedmean": _weightedmean,
    "lasttoken": _lasttoken,
}
