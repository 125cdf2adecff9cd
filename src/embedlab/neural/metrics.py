"""The classification report: accuracy, macro-F1, per-class figures, the confusion matrix.

``ClassificationReport.compute(labels, truth, predicted)`` measures; ``save(folder)`` writes
``report.json`` and ``confusion.png`` (matplotlib, when installed). This module does not predict.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_file

logger = logging.getLogger(__name__)

__all__ = ["ClassificationReport"]


@dataclass
class ClassificationReport:
    """Accuracy, macro-F1, per-class figures and the confusion matrix (rows: true labels)."""

    labels: list[str]
    accuracy: float
    macro_f1: float
    precision: list[float]
    recall: list[float]
    f1: list[float]
    support: list[int]
    confusion: list[list[int]]

    @classmethod
    def compute(cls, labels: list[str], truth: Sequence[int], predicted: Sequence[int]) -> Any:
        k = len(labels)
        cm = np.zeros((k, k), dtype=np.int64)
        np.add.at(cm, (np.asarray(truth), np.asarray(predicted)), 1)
        tp = np.diag(cm).astype(np.float64)
        precision = np.divide(tp, cm.sum(0), out=np.zeros(k), where=cm.sum(0) > 0)
        recall = np.divide(tp, cm.sum(1), out=np.zeros(k), where=cm.sum(1) > 0)
        denom = precision + recall
        f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
        return cls(
            labels=labels,
            accuracy=float(tp.sum() / max(1, cm.sum())),
            macro_f1=float(f1.mean()),
            precision=precision.tolist(),
            recall=recall.tolist(),
            f1=f1.tolist(),
            support=cm.sum(1).tolist(),
            confusion=cm.tolist(),
        )

    def save(self, folder: Path) -> None:
        with atomic_file(folder / "report.json") as f:
            f.write(json.dumps(self.__dict__, indent=1).encode())
        try:
            from ..optional import pyplot

            plt = pyplot()
        except ImportError as e:
            logger.warning("confusion.png skipped: %s", e)
            return
        cm = np.array(self.confusion)
        size = 2.5 + 0.45 * len(self.labels)
        fig, ax = plt.subplots(figsize=(size, size))
        ax.imshow(cm, cmap="Blues")
        ax.set_xticks(range(len(self.labels)), self.labels, rotation=45, ha="right")
        ax.set_yticks(range(len(self.labels)), self.labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"accuracy {self.accuracy:.3f}, macro-F1 {self.macro_f1:.3f}")
        for (i, j), n in np.ndenumerate(cm):
            colour = "white" if n > cm.max() / 2 else "black"
            ax.text(j, i, str(n), ha="center", va="center", color=colour, fontsize=8)
        fig.tight_layout()
        with atomic_file(folder / "confusion.png") as f:
            fig.savefig(f, format="png", dpi=110)
        plt.close(fig)
