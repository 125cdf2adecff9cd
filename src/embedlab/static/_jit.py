"""Saying when a training kernel is about to be compiled, so a first run does not look stuck.

The numba kernels are compiled on a process's first call and kept in numba's on-disk cache
(``cache=True``: ``__pycache__`` beside the module, or ``NUMBA_CACHE_DIR``, or a user cache
folder when the package folder is read-only), so only the first run after an install or an
upgrade pays the 10-60 s. :func:`compiling` tells the trainers whether this call will pay it:
the kernel has no machine code in this process and no cache index on disk. It cannot see a stale
index (a changed source file), where numba compiles again without a word from us. This module
does not train.
"""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["announce", "compiling"]


def compiling(kernel: Any) -> bool:
    """True when calling ``kernel`` (a numba dispatcher) will compile it first."""
    if getattr(kernel, "signatures", None):
        return False  # compiled (or loaded) in this process already
    cache = getattr(kernel, "_cache", None)
    index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
    return not (isinstance(index, str) and os.path.exists(index))


def announce(kernel: Any, owner: str, bar: Any) -> bool:
    """Log, and show on the progress bar, that ``owner``'s kernel compiles now; whether it does."""
    if not compiling(kernel):
        return False
    logger.info(
        "%s: compiling the training kernel (first run after an install, 10-60 s); later runs "
        "load it from numba's cache",
        owner,
    )
    bar.set_description(f"{owner}: compiling (first run only)")
    return True
