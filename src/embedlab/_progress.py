"""Progress bars, in one switchable place.

``progress(...)`` returns a tqdm bar. ``enabled=None`` follows the global default set by
:func:`set_progress` (the CLI's ``--quiet``), and tqdm's own rule of hiding bars when stderr is not a
terminal. This module does not log or print anything else.
"""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

_ENABLED: bool | None = None  # None: show when stderr is a terminal


def set_progress(enabled: bool | None) -> None:
    """Turn progress bars on (True), off (False) or back to automatic (None) for the process."""
    global _ENABLED
    _ENABLED = enabled


def progress(
    *, total: float | None, desc: str, unit: str = "it", enabled: bool | None = None, **kw: Any
) -> tqdm[Any]:
    """A tqdm bar honouring the global switch; ``enabled=False`` always hides it. Counts are
    shown with SI prefixes (12.3M tok) unless ``unit_scale=False``."""
    flag = _ENABLED if enabled is None else enabled
    disable = None if flag is None else not flag
    kw.setdefault("unit_scale", True)
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, leave=False, **kw)
