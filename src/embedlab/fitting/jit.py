"""Saying when a training kernel is about to be compiled, so a first run does not look stuck.

The numba kernels are compiled on a process's first call and kept in numba's on-disk cache
(``cache=True``: ``__pycache__`` beside the module, or ``NUMBA_CACHE_DIR``, or a user cache
folder when the package folder is read-only), so only the first run after an install or an
upgrade pays the 10-60 s, and a kernel is compiled once per vector size (its size token, see
:func:`embedlab.static._kernels.size_token`). :func:`compiling` tells the trainers whether this
call will pay it: no machine code for this size in this process, and none in numba's cache index
on disk (read by numba's own loader, which also drops an index left by a changed source file).
This module does not train.
"""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["announce", "compiling", "numba_threads", "one_blas_thread"]


def compiling(kernel: Any, size: tuple[bool, ...] | None = None) -> bool:
    """True when calling ``kernel`` (a numba dispatcher) will compile it first: with the size
    token ``size``, or (None) a kernel that takes none."""
    from numba import typeof

    want = None if size is None else typeof(size)  # type: ignore[no-untyped-call]

    def fits(sig: Any) -> bool:
        return want is None or want in sig

    if any(fits(sig) for sig in getattr(kernel, "signatures", ())):
        return False  # compiled (or loaded) in this process already
    cache_file = getattr(getattr(kernel, "_cache", None), "_cache_file", None)
    try:
        index = cache_file._load_index()  # type: ignore[union-attr]
    except Exception:  # a numba without this loader: judge by the index file alone
        path = getattr(cache_file, "_index_path", None)
        return not (isinstance(path, str) and os.path.exists(path))
    return not any(fits(key[0]) for key in index)


def announce(kernel: Any, owner: str, bar: Any, size: tuple[bool, ...] | None = None) -> bool:
    """Log, and show on the progress bar, that ``owner``'s kernel compiles now; whether it does."""
    if not compiling(kernel, size):
        return False
    logger.info(
        "%s: compiling the training kernel (first run after an install, 10-60 s); later runs "
        "load it from numba's cache",
        owner,
    )
    bar.set_description(f"{owner}: compiling (first run only)")
    return True


class numba_threads:
    """Run numba's parallel kernels on ``workers`` threads (None: all), then restore."""

    def __init__(self, workers: int | None) -> None:
        self.workers = workers

    def __enter__(self) -> None:
        import numba

        self.before = numba.get_num_threads()
        if self.workers is not None:
            numba.set_num_threads(min(self.workers, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        import numba

        numba.set_num_threads(self.before)


class one_blas_thread:
    """BLAS on one thread while numba's kernels and numpy's GEMMs take turns in a loop:
    OpenBLAS's threads spin for a while after each call and take the cores the next kernel
    needs (measured on a kg text-aware epoch: 29.8 s with both, 20.7 s with this)."""

    def __enter__(self) -> None:
        from threadpoolctl import threadpool_limits

        self.limits = threadpool_limits(1, user_api="blas")

    def __exit__(self, *exc: object) -> None:
        self.limits.restore_original_limits()
