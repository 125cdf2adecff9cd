"""Epoch checkpoints: weights in safetensors, state in JSON, written atomically. No pickle.

::

    CHECKPOINT/
      state.json          {"format": "embedlab.checkpoint", "format_version": 1, "trainer": ...,
                           "params": {...}, "epochs_done": 3, "loss_history": [...],
                           "vocab_size": V, "vocab_sha256": ...}
      weights.safetensors  one tensor per weight matrix

This module does not decide when to checkpoint or how to compare parameters (the trainer does).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from ..errors import FormatError
from ..files import atomic_dir

logger = logging.getLogger(__name__)

FORMAT_ID = "embedlab.checkpoint"
FORMAT_VERSION = 1


def vocab_digest(words: list[str]) -> str:
    """A fingerprint of the vocabulary, to refuse resuming on a different corpus."""
    h = hashlib.sha256()
    for w in words:
        h.update(w.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


@dataclass
class Checkpoint:
    trainer: str
    params: dict[str, Any]
    epochs_done: int
    loss_history: list[float]
    vocab_size: int
    vocab_sha256: str
    weights: dict[str, np.ndarray[Any, Any]]

    def save(self, folder: Path) -> None:
        state = {
            "format": FORMAT_ID,
            "format_version": FORMAT_VERSION,
            "trainer": self.trainer,
            "params": self.params,
            "epochs_done": self.epochs_done,
            "loss_history": self.loss_history,
            "vocab_size": self.vocab_size,
            "vocab_sha256": self.vocab_sha256,
        }
        with atomic_dir(folder) as tmp:
            save_file(
                {k: np.ascontiguousarray(v) for k, v in self.weights.items()},
                str(tmp / "weights.safetensors"),
            )
            (tmp / "state.json").write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Checkpoint:
        try:
            state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FormatError(folder, "expected state.json in the checkpoint folder") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise FormatError(folder / "state.json", f"expected JSON: {e}") from None
        if state.get("format") != FORMAT_ID or state.get("format_version") != FORMAT_VERSION:
            raise FormatError(
                folder / "state.json",
                f"expected {FORMAT_ID} version {FORMAT_VERSION}, found "
                f"{state.get('format')!r} version {state.get('format_version')!r}",
            )
        try:
            weights = load_file(str(folder / "weights.safetensors"))
        except Exception as e:  # safetensors raises its own error types on bad bytes
            raise FormatError(folder / "weights.safetensors", f"unreadable weights: {e}") from e
        return cls(
            trainer=state["trainer"],
            params=state["params"],
            epochs_done=int(state["epochs_done"]),
            loss_history=[float(x) for x in state["loss_history"]],
            vocab_size=int(state["vocab_size"]),
            vocab_sha256=state["vocab_sha256"],
            weights=weights,
        )
