"""Joining Ray: one place that starts or connects to it, quietly, for every job of this package."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import ParameterError

__all__ = ["connect"]


def connect(ray: Any, address: str | None, num_cpus: int | None) -> bool:
    """Join ``address`` (``auto``, ``HOST:PORT``, ``ray://HOST:10001``) or start Ray on this
    machine (``num_cpus`` of it); True when this call connected, so its caller disconnects. A
    process already connected (``ray.init`` done by the user) is left as it is."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR}
    if address is None:
        options["num_cpus"] = num_cpus
    elif num_cpus is not None:
        raise ParameterError("num_cpus is for a Ray started here; a cluster has its own")
    ray.init(address=address, **options)
    return True
