"""The HTTP API: OpenAI-compatible embeddings, collection search, FAQ answering, health.

``create_app(config)`` returns a FastAPI app: ``POST /v1/embeddings`` (``input`` a string or a list
of strings, ``model``, ``encoding_format`` float|base64 or quantized int8|uint8|binary|ubinary
(:mod:`embedlab.server.quantized`), ``dimensions`` to truncate Matryoshka-style and renormalize,
``usage`` with token counts from the model's own tokenizer), ``GET /v1/models``,
``POST /v1/search``, ``POST /v1/faq/ask``, ``GET /health``; OpenAPI docs at ``/docs``. Concurrent
embedding requests are micro-batched per model. Limits answer with the right status and OpenAI's
error shape ``{"error": {"message", "type", "param", "code"}}``: a body over ``max_body_bytes`` 413,
a body that does not arrive in time 408, too many inputs / too long an input / a malformed request
422 (the schemas bound every field), a full queue 503, a request not answered within
``request_timeout_s`` 504, a missing or wrong bearer token (when ``EMBEDLAB_API_KEY`` is set) 401;
with a key, ``/docs`` and ``/openapi.json`` need it and ``/health`` tells anonymous callers only
that the server is up. An unexpected failure is logged under an id and answered 500 with that id
only (an exception's text can leak paths and data). This module does not bind sockets
(``embedlab serve`` runs uvicorn, on 127.0.0.1 unless told otherwise, with the connection limits of
:mod:`embedlab.server.guards`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from ..optional import require
from .config import ServerConfig
from .guards import BodyGuard, error_body, short
from .routes import Routes, internal_error
from .state import ServerState
from .ui import UiRoutes

# this module is imported only to build an app; the package itself stays light
require("fastapi", "server", "the server")
from fastapi import Depends, FastAPI, Request  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.openapi.docs import get_swagger_ui_html  # noqa: E402
from fastapi.responses import HTMLResponse, JSONResponse  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402

logger = logging.getLogger(__name__)

__all__ = ["create_app"]


def create_app(
    config: ServerConfig | None = None,
    *,
    encoders: Mapping[str, Any] | None = None,
    collections: Mapping[str, Any] | None = None,
    faqs: Mapping[str, Any] | None = None,
    recommenders: Mapping[str, Any] | None = None,
    monitors: Mapping[str, Any] | None = None,
) -> Any:
    """The FastAPI app; pass already-built encoders/collections/FAQs/recommenders/monitors or let
    the config load them."""
    cfg = config or ServerConfig()
    api_key = cfg.key()  # an empty key is an error here, at startup
    holder: list[ServerState] = []  # the state, once the app has started

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        state = await ServerState.start(
            cfg, encoders or {}, collections or {}, faqs or {}, recommenders, monitors
        )
        holder.append(state)
        app.state.embedlab = state
        yield
        await state.stop()  # graceful: finishes queued work first

    def served() -> ServerState:
        return holder[0]

    open_docs = api_key is None  # with a key, /docs and /openapi.json need it too
    app = FastAPI(
        title="embedlab",
        version=_version(),
        lifespan=lifespan,
        docs_url="/docs" if open_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if open_docs else None,
    )
    app.add_middleware(
        BodyGuard, limit=cfg.limits.max_body_bytes, timeout=cfg.limits.body_timeout_s
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: Any) -> Any:
        first = exc.errors()[0] if exc.errors() else {}
        where = short(".".join(str(x) for x in first.get("loc", ()) if x != "body"), 100)
        return JSONResponse(
            status_code=422,
            content=error_body(
                f"{where}: {short(first.get('msg', 'invalid request'), 200)}", param=where or None
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: Any) -> Any:
        detail = exc.detail if isinstance(exc.detail, dict) else error_body(str(exc.detail))
        return JSONResponse(status_code=exc.status_code, content=detail, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Any:
        return JSONResponse(status_code=500, content=internal_error(exc, request.url.path))

    routes = Routes(cfg, served, api_key)
    if not open_docs:
        guarded = [Depends(routes.authorize)]

        @app.get("/openapi.json", include_in_schema=False, dependencies=guarded)
        async def openapi() -> dict[str, Any]:
            return dict(app.openapi())

        @app.get("/docs", include_in_schema=False, dependencies=guarded)
        async def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="embedlab")

    routes.register(app)
    UiRoutes(routes).register(app)
    return app


def _version() -> str:
    from .._version import __version__

    return __version__
