"""Training checkpoints without pickle: model and optimizer tensors in safetensors, the rest in JSON.

A checkpoint is a folder ``checkpoints/step-000120/`` holding ``model.safetensors`` (the training
model's state, shared tensors such as tied embeddings stored once), ``optimizer.safetensors`` (every
per-parameter state tensor, named ``<param index>.<key>``), ``optimizer.json`` (the parameter
groups: learning rates, betas, weight decay) and ``trainer_state.json`` (step, epoch, position in the
epoch, best metric, elapsed time, and the training arguments). Each folder is built under a
temporary name and renamed into place, so a crash leaves the previous checkpoint whole; only the
newest ``keep`` folders stay. This module knows nothing of the training loop itself.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ..files import atomic_dir, read_json

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^step-(\d+)$")


def checkpoint_dirs(root: Path) -> list[Path]:
    """Complete checkpoint folders under ``root``, oldest first."""
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in root.iterdir()
        if p.is_dir() and (m := _NAME.match(p.name)) and (p / "trainer_state.json").exists()
    ]
    return [p for _, p in sorted(found)]


def save_checkpoint(
    root: Path,
    model: Any,
    optimizer: Any,
    state: dict[str, Any],
    *,
    settings: dict[str, Any],
    keep: int,
) -> Path:
    """Write ``trainer_state.json`` as ``{"state": state, "args": settings}`` beside the tensors."""
    from safetensors.torch import save_file, save_model

    folder = root / f"step-{int(state['step']):06d}"
    with atomic_dir(folder) as tmp:
        save_model(model, str(tmp / "model.safetensors"))
        opt = optimizer.state_dict()
        tensors = {
            f"{index}.{key}": value.detach().contiguous().cpu()
            for index, slots in opt["state"].items()
            for key, value in slots.items()
        }
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        groups = [_plain(g) for g in opt["param_groups"]]
        (tmp / "optimizer.json").write_text(json.dumps({"param_groups": groups}, indent=1))
        record = {"state": state, "args": settings}
        (tmp / "trainer_state.json").write_text(json.dumps(record, indent=1, default=str))
    for old in checkpoint_dirs(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    logger.info("checkpoint saved: %s", folder)
    return folder


def load_checkpoint(folder: Path, model: Any, optimizer: Any) -> dict[str, Any]:
    """Restore ``model`` and ``optimizer`` in place; return the trainer state."""
    import torch
    from safetensors.torch import load_file, load_model

    try:
        missing, unexpected = load_model(model, str(folder / "model.safetensors"), strict=False)
    except (OSError, RuntimeError) as e:
        raise FormatError(folder / "model.safetensors", f"cannot restore the model: {e}") from e
    if missing or unexpected:
        raise FormatError(
            folder / "model.safetensors",
            f"the checkpoint does not match this model (missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]})",
        )
    groups = read_json(folder / "optimizer.json")["param_groups"]
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in load_file(str(folder / "optimizer.safetensors")).items():
        index, key = name.split(".", 1)
        slots.setdefault(int(index), {})[key] = value
    try:
        optimizer.load_state_dict({"state": slots, "param_groups": groups})
    except (ValueError, KeyError) as e:
        raise FormatError(folder / "optimizer.json", f"cannot restore the optimizer: {e}") from e
    state: dict[str, Any] = read_json(folder / "trainer_state.json")
    return state


def _plain(group: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in group.items():
        if isinstance(value, tuple):
            value = list(value)
        if hasattr(value, "item"):  # a 0-d tensor (e.g. a tensor learning rate)
            value = value.item()
        out[key] = value
    return out
