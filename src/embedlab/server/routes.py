"""The HTTP routes, by name, over a running :class:`~embedlab.server.state.ServerState`.

:class:`Routes` holds the configuration and the state accessor; :meth:`Routes.register` mounts
``GET /health``, ``GET /v1/models``, ``POST /v1/embeddings``, ``POST /v1/search``,
``POST /v1/faq/ask``, ``POST /v1/recommend``, ``POST /v1/kg/predict`` and the monitor routes on an
app, all but the first behind the bearer-token check. Every refusal is an
``HTTPException`` whose detail is OpenAI's error shape (:func:`fail`); an unexpected failure is
logged under an id (:func:`internal_error`). This module does not build the app (``app``) or
load models (``state``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import FormatError, ParameterError, QueueFull
from ..imagefiles import load_image
from ..optional import require
from ..rows import truncated
from .config import ServerConfig
from .guards import bearer_matches, error_body, short
from .quantized import FORMATS as QUANTIZED
from .quantized import calibration_texts, quantized_rows, ranges_of
from .state import ServedModel, ServerState

require("fastapi", "server", "the server")
from fastapi import Depends, HTTPException, Request  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import JSONResponse, Response  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from .schemas import (  # noqa: E402
    AskRequest,
    EmbeddingRequest,
    KGPredictRequest,
    MonitorItems,
    RecommendRequest,
    SearchRequest,
)

logger = logging.getLogger(__name__)

__all__ = ["Routes", "fail", "internal_error"]


def fail(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    kind: str = "invalid_request_error",
) -> HTTPException:
    """An HTTPException whose body is OpenAI's error shape."""
    return HTTPException(status_code=status, detail=error_body(message, kind, param, code))


def internal_error(exc: BaseException, doing: str) -> dict[str, Any]:
    """Log ``exc`` under a fresh id; the client gets the id, never the exception's text."""
    ref = secrets.token_hex(6)
    logger.error("error %s while %s", ref, doing, exc_info=exc)
    return error_body(
        f"internal error {ref} (the server log has the details)", "server_error", code="internal"
    )


class Routes:
    """The API's routes; ``served()`` returns the state once the app has started."""

    def __init__(
        self, cfg: ServerConfig, served: Callable[[], ServerState], api_key: str | None
    ) -> None:
        self.cfg, self.served, self.api_key = cfg, served, api_key

    def register(self, app: Any) -> None:
        guarded = [Depends(self.authorize)]
        app.get("/health")(self.health)
        app.get("/v1/models", dependencies=guarded)(self.models)
        body = {
            "required": True,
            "content": {"application/json": {"schema": EmbeddingRequest.model_json_schema()}},
        }
        app.post(
            "/v1/embeddings",
            dependencies=guarded,
            openapi_extra={"requestBody": body},
            response_class=JSONResponse,
        )(self.embeddings)
        app.post("/v1/search", dependencies=guarded)(self.search)
        app.post("/v1/faq/ask", dependencies=guarded)(self.ask)
        app.post("/v1/recommend", dependencies=guarded)(self.recommend)
        app.post("/v1/kg/predict", dependencies=guarded)(self.kg_predict)
        app.post("/v1/monitor/{name}/items", dependencies=guarded)(self.monitor_items)
        app.get("/v1/monitor/{name}", dependencies=guarded)(self.monitor_state)

    # -- access ---------------------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return self.api_key is None or bearer_matches(header, self.api_key)

    async def authorize(self, request: Request) -> None:
        if not self.authorized(request):
            raise fail(
                401,
                "Incorrect or missing API key (send Authorization: Bearer <key>)",
                code="invalid_api_key",
            )

    def timed_out(self) -> HTTPException:
        return fail(
            504,
            f"the request took over {self.cfg.limits.request_timeout_s:g} s",
            kind="server_error",
            code="timeout",
        )

    async def bounded(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn`` in a worker thread, within the request timeout; its errors as 4xx/5xx."""
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(fn, *args, **kwargs), self.cfg.limits.request_timeout_s
            )
        except asyncio.TimeoutError as e:
            raise self.timed_out() from e
        except ParameterError as e:
            raise fail(422, short(str(e), 300)) from e

    # -- the routes -----------------------------------------------------------------------------
    async def health(self, request: Request) -> dict[str, Any]:
        """Up, and (to a caller with the token) what is served and how busy each model is."""
        if not self.authorized(request):  # anonymous callers learn only that it is up
            return {"status": "ok"}
        st = self.served()
        return {
            "status": "ok",
            "models": sorted(st.models),
            "collections": sorted(st.collections),
            "faqs": sorted(st.faqs),
            "recommenders": sorted(st.recommenders),
            "graphs": sorted(st.graphs),
            "encoder_calls": {n: m.batcher.calls for n, m in st.models.items()},
            "encoder_busy_seconds": {n: round(m.batcher.busy, 3) for n, m in st.models.items()},
        }

    async def models(self) -> dict[str, Any]:
        """OpenAI's model list, with each model's dimension."""
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
                for name, model in self.served().models.items()
            ],
        }

    async def embeddings(self, request: Request) -> Response:
        """OpenAI's ``POST /v1/embeddings``."""
        # The hot path: the body is validated by pydantic-core straight from bytes and the answer
        # leaves as bytes, skipping FastAPI's per-field validation and its response encoder (which
        # walks float vectors value by value); every ms of CPU here is taken from the encoder.
        try:
            body = await request.body()
            req = EmbeddingRequest.model_validate_json(body, context={"limits": self.cfg.limits})
        except ValidationError as e:
            raise RequestValidationError(
                [{**err, "loc": ("body", *err["loc"])} for err in e.errors()]
            ) from e
        st = self.served()
        name = req.model if req.model in st.models else None
        if name is None:
            raise fail(
                404,
                f"model {short(req.model)!r} is not served; try one of {sorted(st.models)}",
                param="model",
                code="model_not_found",
            )
        items = req.items()
        model = st.models[name]
        if req.dimensions is not None and not 0 < req.dimensions <= model.dim:
            raise fail(
                422, f"dimensions must be in [1, {model.dim}] for {name}", param="dimensions"
            )
        vectors, tokens = await self.encoded(name, model, items)
        if hasattr(vectors, "tocsr"):
            return self._sparse_answer(name, vectors, tokens, req)
        if req.dimensions is not None:
            vectors = truncated(vectors, req.dimensions)
        rows = np.asarray(vectors, dtype="<f4")
        fmt, ranges = req.encoding_format, None
        if fmt in ("int8", "uint8"):
            ranges = await self._ranges(model, req.dimensions)
        embeddings: list[Any]
        if fmt in QUANTIZED:
            embeddings = quantized_rows(rows, fmt, ranges)
        elif fmt == "base64":
            embeddings = [base64.b64encode(v.tobytes()).decode() for v in rows]
        else:
            embeddings = [v.tolist() for v in rows]
        answer: dict[str, Any] = {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": e}
                for i, e in enumerate(embeddings)
            ],
            "model": name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        if ranges is not None:
            answer["quantization"] = {"precision": fmt, "ranges": ranges.tolist()}
        return Response(json.dumps(answer).encode(), media_type="application/json")

    async def encoded(
        self, name: str, model: ServedModel, items: list[str | bytes]
    ) -> tuple[Any, int]:
        """``items`` (texts, and image bytes for a CLIP-family model) encoded in order, with the
        texts' token count; a busy queue, a timeout or a failed encoder as the API answers them."""
        images = [i for i, item in enumerate(items) if isinstance(item, bytes)]
        if images and not callable(getattr(model.encoder, "encode_images", None)):
            raise fail(
                422, f"{name} encodes texts only; image inputs need a CLIP-family model",
                param="input",
            )  # fmt: skip
        try:
            if images:
                vectors, tokens = await self._with_images(model, items, images)
            else:
                vectors, tokens = await asyncio.wait_for(
                    model.batcher.embed_counted([str(item) for item in items]),
                    self.cfg.limits.request_timeout_s,
                )
        except QueueFull as e:
            raise fail(
                503, f"the server is busy: {e}", kind="server_error", code="overloaded"
            ) from e
        except asyncio.TimeoutError as e:
            raise self.timed_out() from e
        except HTTPException:
            raise
        except Exception as e:  # the encoder failed (or its process died): logged, not echoed
            raise HTTPException(500, internal_error(e, f"encoding {len(items)} inputs")) from e
        return vectors, tokens

    async def _with_images(
        self, model: ServedModel, items: list[str | bytes], images: list[int]
    ) -> tuple[Any, int]:
        """Rows for a request with image inputs: its texts through the batcher, its images
        decoded (within the limits) and encoded in a worker thread; in input order."""
        texts = [i for i, item in enumerate(items) if isinstance(item, str)]
        rows = np.empty((len(items), model.dim), dtype=np.float32)
        tokens = 0
        if texts:
            vectors, tokens = await asyncio.wait_for(
                model.batcher.embed_counted([str(items[i]) for i in texts]),
                self.cfg.limits.request_timeout_s,
            )
            rows[texts] = vectors
        limit = self.cfg.limits.max_image_pixels

        def encode() -> Any:
            decoded = [load_image(items[i], max_pixels=limit, name=f"input[{i}]") for i in images]
            return model.encoder.encode_images(decoded, normalize=True)

        try:
            rows[images] = await self.bounded(encode)
        except FormatError as e:  # undecodable bytes, a truncated file, too many pixels
            raise fail(422, short(str(e), 300), param="input") from e
        return rows, tokens

    def _sparse_answer(self, name: str, rows: Any, tokens: int, req: EmbeddingRequest) -> Response:
        """A sparse (SPLADE) model's rows as ``{"indices": [...], "values": [...]}``: the terms'
        vocabulary numbers and weights, strongest first."""
        if req.encoding_format != "float" or req.dimensions is not None:
            raise fail(
                422, f"{name} is a sparse model: it answers encoding_format float, no dimensions",
                param="encoding_format" if req.encoding_format != "float" else "dimensions",
            )  # fmt: skip
        data = []
        for i in range(rows.shape[0]):
            row = rows[i]
            order = np.argsort(-row.data, kind="stable")
            emb = {"indices": row.indices[order].tolist(), "values": row.data[order].tolist()}
            data.append({"object": "embedding", "index": i, "embedding": emb})
        answer = {"object": "list", "data": data, "model": name,
                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}  # fmt: skip
        return Response(json.dumps(answer).encode(), media_type="application/json")

    async def _ranges(self, model: ServedModel, dimensions: int | None) -> Any:
        """The model's int8 ranges (at ``dimensions``), measured on its first quantized request."""
        if model.calibration is None:
            try:
                vectors, _ = await asyncio.wait_for(
                    model.batcher.embed_counted(list(calibration_texts())),
                    self.cfg.limits.request_timeout_s,
                )
            except asyncio.TimeoutError as e:
                raise self.timed_out() from e
            model.calibration = np.asarray(vectors, dtype=np.float32)
        rows = model.calibration
        return ranges_of(rows if dimensions is None else truncated(rows, dimensions))

    async def search(self, req: SearchRequest) -> dict[str, Any]:
        """The ``k`` best documents of a served collection."""
        col = self.served().collections.get(req.collection)
        if col is None:
            raise fail(
                404, f"collection {short(req.collection)!r} is not served", param="collection"
            )
        docs = await self.bounded(col.search, req.query, req.k, mode=req.mode, where=req.where)
        return {
            "object": "list",
            "collection": req.collection,
            "data": [
                {"id": d.id, "text": d.text, "score": d.score, "metadata": d.metadata} for d in docs
            ],
        }

    async def ask(self, req: AskRequest) -> dict[str, Any]:
        """An FAQ's answers to a question, with the confidence and threshold."""
        faq = self.served().faqs.get(req.faq)
        if faq is None:
            raise fail(404, f"FAQ {short(req.faq)!r} is not served", param="faq")
        r = await self.bounded(faq.ask, req.question, req.k)
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

    async def recommend(self, req: RecommendRequest) -> dict[str, Any]:
        """A served recommender's best items for a history, with the history items behind
        each when ``explain`` is asked."""
        rec = self.served().recommenders.get(req.recommender)
        if rec is None:
            raise fail(
                404, f"recommender {short(req.recommender)!r} is not served", param="recommender"
            )

        def run() -> list[dict[str, Any]]:
            rows = rec.recommend(
                req.history, req.k, exclude_seen=req.exclude_seen, cold_slots=req.cold_slots
            )
            out = []
            for item, score in rows:
                row: dict[str, Any] = {"id": item, "score": score}
                if req.explain:
                    row["because"] = [h for h, _ in rec.explain(req.history, item, top=3)]
                out.append(row)
            return out

        return {"object": "list", "recommender": req.recommender, "data": await self.bounded(run)}

    async def kg_predict(self, req: KGPredictRequest) -> dict[str, Any]:
        """The ``k`` best tails of (head, relation, ?) or heads of (?, relation, tail) of a served
        graph model; entities by id or by the name in its entity text."""
        from ..kg.names import resolve

        served = self.served().graphs.get(req.graph)
        if served is None:
            raise fail(404, f"graph {short(req.graph)!r} is not served", param="graph")
        if (req.head is None) == (req.tail is None):
            raise fail(422, "give head or tail (the other side is predicted)", param="head")
        model, texts = served.model, served.texts

        def run() -> dict[str, Any]:
            given = req.head if req.head is not None else req.tail
            entity = resolve(str(given), model.entities_, texts)
            side = {"head": entity} if req.head is not None else {"tail": entity}
            found = model.predict(req.relation, k=req.k, **side)
            rows = [{"id": e, "score": s, "text": texts.get(e)} for e, s in found]
            return {"entity": entity, "data": rows}

        out = await self.bounded(run)  # an unknown entity or relation, an ambiguous name: 422
        predicting = "tail" if req.head is not None else "head"
        return {"object": "list", "graph": req.graph, "predicting": predicting, **out}

    def _monitor(self, name: str) -> Any:
        monitor = self.served().monitors.get(name)
        if monitor is None:
            raise fail(404, f"monitor {short(name)!r} is not served", param="name")
        return monitor

    async def monitor_items(self, name: str, req: MonitorItems) -> dict[str, Any]:
        """Score, count and judge posted items (one batch, one transaction); the alerts raised."""
        from dataclasses import asdict

        monitor = self._monitor(name)
        items = [item.model_dump() for item in req.items]
        alerts = await self.bounded(monitor.ingest, items)
        return {"monitor": name, "items": len(items), "alerts": [asdict(a) for a in alerts]}

    async def monitor_state(self, name: str, key: str = "*", last: int = 30) -> dict[str, Any]:
        """The latest ``last`` windows of ``key`` (``*``: all items, or an entity) and every
        alert."""
        from dataclasses import asdict

        monitor = self._monitor(name)
        windows = await self.bounded(monitor.windows, key)
        alerts = await self.bounded(monitor.alerts)
        return {
            "monitor": name, "key": key, "windows": windows[-max(1, min(last, 1000)) :],
            "alerts": [asdict(a) for a in alerts],
        }  # fmt: skip
