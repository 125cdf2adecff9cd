"""The report's link-prediction task: a knowledge-graph model ranks a split of a triples folder.

A task of type ``link-prediction`` names a dataset folder (``files.folder``: ``train.tsv``,
``dev.tsv``, ``test.tsv``) and the split to rank (``options.split``, ``test`` by default); the
model is a graph model (``embedlab kg train``; ``eval run -m kg=MODEL_FOLDER``). Ranks are
filtered by every split and realistic (PyKEEN's), both sides; triples naming entities the
training split lacks are left out unless the model is text-aware and was saved with their
description vectors (then they are ranked from their descriptions). The main figure is MRR.
Sentence encoders skip the task, and graph models skip every other task. This module does not
train (:mod:`embedlab.kg`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ParameterError

__all__ = ["LinkPredictionScores", "is_graph_model", "link_prediction_task"]


@dataclass
class LinkPredictionScores:
    mrr: float
    hits_at_1: float
    hits_at_3: float
    hits_at_10: float
    mean_rank: float
    triples: int
    new_entities: int  # ranked from their descriptions (text-aware models)

    @property
    def main(self) -> float:
        return self.mrr


def is_graph_model(model: Any) -> bool:
    kg = sys.modules.get("embedlab.kg.model")  # not imported: no graph model exists yet
    return kg is not None and isinstance(model, kg.KGModel)


def link_prediction_task(model: Any, folder: Path, split: str) -> LinkPredictionScores:
    """``model`` ranks ``split`` of ``folder``, filtered by the other splits."""
    from ..kg import link_prediction, read_splits
    from ..kg.store import saved_descriptions

    if split not in ("dev", "test"):
        raise ParameterError(f"a link-prediction task ranks dev or test, not {split!r}")
    saved = saved_descriptions(model)
    train, dev, test = read_splits(folder, unseen="drop" if saved is None else "add")
    asked = test if split == "test" else dev
    if asked is None:
        raise ParameterError(f"{folder} has no {split} split")
    if train.entities != model.entities_[: train.num_entities]:
        raise ParameterError(f"the model was not trained on {folder}'s train split")
    new = asked.entities[len(model.entities_) :]
    if new:
        assert saved is not None  # read with unseen="add" only when there are descriptions
        model.add_entities(new, saved)
    other = dev if split == "test" else test
    result = link_prediction(model, asked, known=[train, *([other] if other else [])])
    m = result.metrics["both"]
    return LinkPredictionScores(
        mrr=m["mrr"], hits_at_1=m["hits@1"], hits_at_3=m["hits@3"], hits_at_10=m["hits@10"],
        mean_rank=m["mean_rank"], triples=int(m["count"]) // 2, new_entities=len(new),
    )  # fmt: skip
