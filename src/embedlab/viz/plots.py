"""Static PNG scatter plots of 2D projections (matplotlib, Agg backend, imported only here).

Points are coloured by label (with a legend) and, for small sets, annotated with their text. The
file is written atomically. This module does not project (:mod:`embedlab.viz.projection`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError
from ..files import atomic_file
from ..optional import pyplot
from .html import PALETTE

logger = logging.getLogger(__name__)

__all__ = ["pyplot", "scatter_png"]  # pyplot: re-exported from embedlab.optional


def scatter_png(
    points: npt.ArrayLike,
    texts: Sequence[str],
    path: str | os.PathLike[str],
    *,
    labels: Sequence[str] | None = None,
    title: str = "embedlab projection",
    annotate: int = 150,
) -> Path:
    """Write a scatter PNG; the first ``annotate`` points carry their text when there are few."""
    xy = np.asarray(points, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(texts):
        raise ParameterError(f"points must be ({len(texts)}, 2); got {xy.shape}")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 7))
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=10, alpha=0.7, color=PALETTE[0])
    else:
        names = sorted({str(x) for x in labels})
        for i, name in enumerate(names):
            mask = np.array([str(x) == name for x in labels])
            ax.scatter(
                xy[mask, 0],
                xy[mask, 1],
                s=10,
                alpha=0.7,
                color=PALETTE[i % len(PALETTE)],
                label=name,
            )
        if len(names) <= 20:
            ax.legend(fontsize="small", markerscale=2)
    if len(xy) <= annotate:
        for (x, y), text in zip(xy, texts):
            ax.annotate(
                str(text)[:24], (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points"
            )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    target = Path(path)
    with atomic_file(target) as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return target
