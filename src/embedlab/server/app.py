"""The HTTP API: OpenAI-compatible embeddings, collection search, FAQ answering, health.

``create_app(config)`` returns a FastAPI app: ``POST /v1/embeddings`` (``input`` a string or a
list of strings, ``model``, ``encoding_format`` float|base64, ``dimensions`` to truncate
Matryoshka-style and renormalize, ``usage`` with token counts from the model's own tokenizer),
``GET /v1/models``, ``POST /v1/search``, ``POST /v1/faq/ask``, ``GET /health``; OpenAPI docs at
``/docs``. Concurrent embedding requests are micro-batched per model. Limits answer with the right
status and OpenAI's error shape ``{"error": {"message", "type", "param", "code"}}``: a body over
``max_body_bytes`` 413, a body that does not arrive in time 408, too many inputs / too long an
input / a malformed request 422 (the schemas bound every field), a full queue 503, a request not
answered within ``request_timeout_s`` 504, a missing or wrong bearer token (when
``EMBEDLAB_API_KEY`` is set) 401; with a key, ``/docs`` and ``/openapi.json`` need it and
``/health`` tells anonymous callers only that the server is up. An unexpected failure is logged
under an id and answered 500 with that id only (an exception's text can leak paths and data).
This module does not bind sockets (``embedlab serve`` runs uvicorn, on 127.0.0.1 unless told
otherwise, with the connection limits of :mod:`embedlab.server.guards`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..optional import require
from ..rows import truncated
from .batcher import QueueFull
from .config import ServerConfig
from .guards import BodyGuard, bearer_matches, error_body, short
from .state import ServerState

# this module is imported only to build an app; the package itself stays light
require("fastapi", "server", "the server")
from fastapi import Depends, FastAPI, HTTPException, Request  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.openapi.docs import get_swagger_ui_html  # noqa: E402
from fastapi.responses import HTMLResponse, JSONResponse, Response  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402

from .schemas import AskRequest, EmbeddingRequest, SearchRequest  # noqa: E402

logger = logging.getLogger(__name__)

__all__ = ["create_app"]


def create_app(
    config: ServerConfig | None = None,
    *,
    encoders: Mapping[str, Any] | None = None,
    collections: Mapping[str, Any] | None = None,
    faqs: Mapping[str, Any] | None = None,
) -> Any:
    """The FastAPI app; pass already-built encoders/collections/FAQs or let the config load them."""
    cfg = config or ServerConfig()
    api_key = cfg.key()  # an empty key is an error here, at startup
    holder: list[ServerState] = []  # the state, once the app has started

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        state = await ServerState.start(cfg, encoders or {}, collections or {}, faqs or {})
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

    def fail(
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
    ) -> Any:
        return HTTPException(status_code=status, detail=error_body(message, kind, param, code))

    def authorized(request: Request) -> bool:
        return api_key is None or bearer_matches(request.headers.get("authorization", ""), api_key)

    async def authorize(request: Request) -> None:
        if not authorized(request):
            raise fail(
                401,
                "Incorrect or missing API key (send Authorization: Bearer <key>)",
                code="invalid_api_key",
            )

    guarded = [Depends(authorize)]

    def timed_out() -> Any:
        return fail(
            504,
            f"the request took over {cfg.limits.request_timeout_s:g} s",
            kind="server_error",
            code="timeout",
        )

    async def bounded(fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn`` in a worker thread, within the request timeout; its errors as 4xx/5xx."""
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(fn, *args, **kwargs), cfg.limits.request_timeout_s
            )
        except asyncio.TimeoutError as e:
            raise timed_out() from e
        except ParameterError as e:
            raise fail(422, short(str(e), 300)) from e

    if not open_docs:

        @app.get("/openapi.json", include_in_schema=False, dependencies=guarded)
        async def openapi() -> dict[str, Any]:
            return dict(app.openapi())

        @app.get("/docs", include_in_schema=False, dependencies=guarded)
        async def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="embedlab")

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        if not authorized(request):  # anonymous callers learn only that it is up
            return {"status": "ok"}
        st = served()
        return {
            "status": "ok",
            "models": sorted(st.models),
            "collections": sorted(st.collections),
            "faqs": sorted(st.faqs),
            "encoder_calls": {n: m.batcher.calls for n, m in st.models.items()},
            "encoder_busy_seconds": {n: round(m.batcher.busy, 3) for n, m in st.models.items()},
        }

    @app.get("/v1/models", dependencies=guarded)
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "created": 0,
                    "owned_by": "embedlab",
                    "dimensions": model.dim,
                }
                for name, model in served().models.items()
            ],
        }

    embedding_body = {
        "required": True,
        "content": {"application/json": {"schema": EmbeddingRequest.model_json_schema()}},
    }

    @app.post(
        "/v1/embeddings",
        dependencies=guarded,
        openapi_extra={"requestBody": embedding_body},
        response_class=JSONResponse,
    )
    async def embeddings(request: Request) -> Response:
        # The hot path: the body is validated by pydantic-core straight from bytes and the answer
        # leaves as bytes, skipping FastAPI's per-field validation and its response encoder (which
        # walks float vectors value by value); every ms of CPU here is taken from the encoder.
        try:
            req = EmbeddingRequest.model_validate_json(await request.body())
        except ValidationError as e:
            raise RequestValidationError(
                [{**err, "loc": ("body", *err["loc"])} for err in e.errors()]
            ) from e
        st = served()
        name = req.model if req.model in st.models else None
        if name is None:
            raise fail(
                404,
                f"model {short(req.model)!r} is not served; try one of {sorted(st.models)}",
                param="model",
                code="model_not_found",
            )
        texts = [req.input] if isinstance(req.input, str) else list(req.input)
        if not texts:
            raise fail(422, "input must not be empty", param="input")
        if len(texts) > cfg.limits.max_inputs:
            raise fail(
                422,
                f"{len(texts)} inputs; at most {cfg.limits.max_inputs} per request",
                param="input",
            )
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise fail(
                    422,
                    f"input[{i}] is not a string (token arrays are not supported)",
                    param="input",
                )
            if not t:
                raise fail(422, f"input[{i}] is empty", param="input")
            if len(t) > cfg.limits.max_chars:
                raise fail(
                    422,
                    f"input[{i}] has {len(t)} characters; at most {cfg.limits.max_chars}",
                    param="input",
                )
        model = st.models[name]
        if req.dimensions is not None and not 0 < req.dimensions <= model.dim:
            raise fail(
                422, f"dimensions must be in [1, {model.dim}] for {name}", param="dimensions"
            )
        try:
            vectors, tokens = await asyncio.wait_for(
                model.batcher.embed_counted(texts), cfg.limits.request_timeout_s
            )
        except QueueFull as e:
            raise fail(
                503, f"the server is busy: {e}", kind="server_error", code="overloaded"
            ) from e
        except asyncio.TimeoutError as e:
            raise timed_out() from e
        except Exception as e:  # the encoder failed (or its process died): logged, not echoed
            raise HTTPException(500, internal_error(e, f"encoding {len(texts)} texts")) from e
        if req.dimensions is not None:
            vectors = truncated(vectors, req.dimensions)
        data = []
        for i, v in enumerate(np.asarray(vectors, dtype="<f4")):
            emb: Any = (
                base64.b64encode(v.tobytes()).decode()
                if req.encoding_format == "base64"
                else v.tolist()
            )
            data.append({"object": "embedding", "index": i, "embedding": emb})
        answer = {
            "object": "list",
            "data": data,
            "model": name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return Response(json.dumps(answer).encode(), media_type="application/json")

    @app.post("/v1/search", dependencies=guarded)
    async def search(req: SearchRequest) -> dict[str, Any]:
        col = served().collections.get(req.collection)
        if col is None:
            raise fail(
                404, f"collection {short(req.collection)!r} is not served", param="collection"
            )
        docs = await bounded(col.search, req.query, req.k, mode=req.mode, where=req.where)
        return {
            "object": "list",
            "collection": req.collection,
            "data": [
                {"id": d.id, "text": d.text, "score": d.score, "metadata": d.metadata} for d in docs
            ],
        }

    @app.post("/v1/faq/ask", dependencies=guarded)
    async def ask(req: AskRequest) -> dict[str, Any]:
        faq = served().faqs.get(req.faq)
        if faq is None:
            raise fail(404, f"FAQ {short(req.faq)!r} is not served", param="faq")
        r = await bounded(faq.ask, req.question, req.k)
        return {
            "question": r.question,
            "answered": r.answered,
            "confidence": r.confidence,
            "threshold": faq.threshold,
            "answers": [
                {
                    "id": a.id,
                    "text": a.text,
                    "score": a.score,
                    "matched_question": a.matched_question,
                }
                for a in r.answers
            ],
        }

    return app


def internal_error(exc: BaseException, doing: str) -> dict[str, Any]:
    """Log ``exc`` under a fresh id; the client gets the id, never the exception's text."""
    ref = secrets.token_hex(6)
    logger.error("error %s while %s", ref, doing, exc_info=exc)
    return error_body(
        f"internal error {ref} (the server log has the details)", "server_error", code="internal"
    )


def _version() -> str:
    from .._version import __version__

    return __version__
