"""The HTTP server: OpenAI-compatible ``/v1/embeddings``, search, FAQ answering (FastAPI).

``create_app(ServerConfig.load("server.json"))`` builds the app; ``embedlab serve`` runs it with
uvicorn. fastapi is imported only when an app is created (``pip install 'embedlab[server]'``).
"""

from __future__ import annotations

from .config import Limits, ServerConfig

__all__ = ["Limits", "ServerConfig", "create_app"]


def create_app(*args: object, **kwargs: object) -> object:
    """See :func:`embedlab.server.app.create_app`."""
    from .app import create_app as _create

    return _create(*args, **kwargs)  # type: ignore[arg-type]
