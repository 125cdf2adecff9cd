"""The one guard for optional dependencies (the ground floor): ``require(module, extra)``.

``require("hnswlib", "search", "HNSW indexes")`` returns the imported module, or raises
:class:`~embedlab.errors.MissingDependencyError` saying what needs it and which ``pip install``
brings it: ``hnswlib is needed for HNSW indexes: pip install 'embedlab[search]'``. Heavy dependencies are
imported only where they are used, through this function, so ``import embedlab`` stays light.
This module imports nothing optional itself.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from .errors import missing_dependency

__all__ = ["import_torch", "pyplot", "require"]


def require(
    module: str,
    extra: str | None,
    feature: str | None = None,
    *,
    package: str | None = None,
    instead: str | None = None,
) -> ModuleType:
    """``module`` imported, or a MissingDependencyError naming ``extra`` (an embedlab extra) or,
    for a package no extra brings, ``package`` (its PyPI name, default the module's); ``instead``
    says what works without it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise missing_dependency(module, extra, feature, package=package, instead=instead) from e


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files, no screen), or an error naming the extra.

    Here, not in ``viz``, because the layers below ``viz`` write PNGs too (an evaluation report's
    charts, a classifier's confusion matrix).
    """
    require("matplotlib", "viz", "PNG plots").use("Agg")
    return require("matplotlib.pyplot", "viz", "PNG plots")


def import_torch() -> Any:
    """torch, with transformers present and quiet (no progress bars or info logs); or an error
    naming the ``torch`` extra. Every layer that runs a transformer starts here."""
    torch = require("torch", "torch", "transformer models")
    transformers = require("transformers", "torch", "transformer models")
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return torch
