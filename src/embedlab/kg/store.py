"""A trained graph model on disk: two ordinary vector folders and one JSON file. No pickle.

::

    model/
      kg.json       {"format": "embedlab.kg", "format_version": 1, "model": "rotate",
                     "params": {...}, "loss_history": [...], "epochs_done": 50, ...}
      entities/     native embedlab vectors, one row per entity, keys = entity ids
      relations/    native embedlab vectors (RotatE: each rotation as [cos..., sin...])
      text/         (text-aware models) the entities' description vectors, native
      description.safetensors  (text-aware models) the description expert: W, the transform of
                    description vectors, its relation table, the entities' reduced vectors;
                    kg.json's "text" names the encoder that made the description vectors

``load_vectors("model/entities")`` opens the entity table like any other vectors (``similar``,
``viz``, the projector, ``index build``). Saving is atomic (the folder appears whole or not at all).
This module does not train.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from ..errors import FormatError
from ..files import atomic_dir, read_json
from ..io import load_vectors, save_vectors
from ..vectors import Vectors
from . import _kernels as K
from .model import MODELS, KGModel
from .text import TextExpert
from .triples import Triples

__all__ = ["load_model", "save_model", "saved_descriptions"]

FORMAT_ID = "embedlab.kg"
FORMAT_VERSION = 1


def save_model(
    model: KGModel,
    folder: str | os.PathLike[str],
    *,
    descriptions: Vectors | None = None,
    **info: Any,
) -> Path:
    """Write ``model`` to ``folder`` (replaced whole), with the entities' description vectors
    when given; ``info`` lands in kg.json as is."""
    graph = model._fitted()
    path = Path(folder)
    body = {
        "format": FORMAT_ID,
        "format_version": FORMAT_VERSION,
        "model": model.name,
        "params": model.get_params(),
        "entities": len(model._E),  # those trained (not ones added after)
        "relations": graph.num_relations,
        "epochs_done": model._epochs_done,
        "steps": model._steps,
        "loss_history": model._loss_history,
        **info,
    }
    with atomic_dir(path) as tmp:
        save_vectors(model.entity_vectors_, tmp / "entities", format="native")
        save_vectors(model.relation_vectors_, tmp / "relations", format="native")
        if model._text is not None:  # the trained entities' rows (not ones added after)
            state = {**model._text.state(False), "text_T": model._text.T[: len(model._E)]}
            save_file(state, str(tmp / "description.safetensors"))
        if descriptions is not None:
            save_vectors(descriptions, tmp / "text", format="native")
        (tmp / "kg.json").write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    return path


def load_model(folder: str | os.PathLike[str]) -> KGModel:
    """The model :func:`save_model` wrote, ready to score, rank and predict."""
    path = Path(folder)
    if not (path / "kg.json").exists():
        raise FormatError(path, "expected kg.json (a folder written by `embedlab kg train`)")
    body = read_json(path / "kg.json")
    if body.get("format") != FORMAT_ID or body.get("format_version") != FORMAT_VERSION:
        raise FormatError(
            path / "kg.json",
            f"expected {FORMAT_ID} version {FORMAT_VERSION}, found {body.get('format')!r} "
            f"version {body.get('format_version')!r}",
        )
    kind = MODELS.get(body.get("model", ""))
    if kind is None:
        raise FormatError(path / "kg.json", f"unknown model {body.get('model')!r}")
    params = {k: v for k, v in body["params"].items() if k in kind._SPEC}
    model = kind(**params)
    ents = load_vectors(path / "entities")
    rels = load_vectors(path / "relations")
    E = np.ascontiguousarray(ents.vectors, dtype=np.float32)
    R = np.ascontiguousarray(rels.vectors, dtype=np.float32)
    if model._code == K.ROTATE:
        k = R.shape[1] // 2
        R = np.ascontiguousarray(np.arctan2(R[:, k:], R[:, :k]), dtype=np.float32)
    if (path / "description.safetensors").exists():
        try:
            w = load_file(str(path / "description.safetensors"))
            model._text = TextExpert.from_state(w)
            model._text.set_entities(w["text_T"], reduced=True)
        except Exception as e:  # safetensors raises its own error types on bad bytes
            raise FormatError(path / "description.safetensors", f"unreadable: {e}") from e
    width, rel = model._shapes()
    if E.shape != (body["entities"], width) or R.shape != (body["relations"], rel):
        raise FormatError(
            path,
            f"tables of shape {E.shape} and {R.shape} do not fit the {kind.__name__} in kg.json",
        )
    names = list(ents.index_to_key), list(rels.index_to_key)
    model._graph = Triples(np.zeros((0, 3), np.int64), *names, str(path))
    model._E, model._R = E, R
    model._mE = model._vE = model._mR = model._vR = np.zeros((0, 0), np.float32)
    model._steps = int(body.get("steps", 0))
    model._epochs_done = int(body.get("epochs_done", 0))
    model._loss_history = [float(x) for x in body.get("loss_history", [])]
    model.info_ = {**{k: v for k, v in body.items() if k != "params"}, "folder": str(path)}
    return model


def saved_descriptions(model: KGModel) -> Vectors | None:
    """The description vectors saved with a loaded text-aware ``model`` (its ``text/``), or None."""
    folder = getattr(model, "info_", {}).get("folder")
    if model._text is None or folder is None or not (Path(folder) / "text").exists():
        return None
    return load_vectors(Path(folder) / "text")
