"""The web page: ``/`` and its files, and the JSON routes under ``/v1/ui`` it reads.

The page is plain HTML, CSS and JavaScript shipped in ``server/web`` (no build step, no CDN: it
works on loopback without internet). It holds no data of its own: everything it shows comes from
the API's routes, the same a script would call (``/v1/embeddings``, ``/v1/search``,
``/v1/faq/ask``) and the ones here, which exist for it and are documented in ``/docs`` with the
rest: ``GET /v1/ui/catalog`` (what is served) and ``POST /v1/ui/similarity`` (the cosine matrix
of a few texts under one model). The page and its files are public; every data route asks for the
bearer token when one is set, and the page asks for it once and keeps it for the tab only. It
writes every text from data with ``textContent``, and the page is sent with a Content Security
Policy that runs only its own script, so a key such as ``<img src=x onerror=...>`` stays text.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np

from ..optional import require
from ..rows import normalized
from .guards import short
from .routes import Routes, fail

require("fastapi", "server", "the web page")
from fastapi import Depends  # noqa: E402
from fastapi.responses import Response  # noqa: E402

from .schemas import SimilarityRequest  # noqa: E402

__all__ = ["UiRoutes"]

WEB = Path(__file__).with_name("web")
FILES = {"app.js": "text/javascript", "style.css": "text/css"}
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class UiRoutes:
    """The page's routes, next to the API's (``routes`` gives the state, access and limits)."""

    def __init__(self, routes: Routes) -> None:
        self.routes = routes

    def register(self, app: Any) -> None:
        guarded = [Depends(self.routes.authorize)]
        app.get("/", include_in_schema=False)(self.page)
        app.get("/ui/{name}", include_in_schema=False)(self.file)
        app.get("/v1/ui/catalog", dependencies=guarded)(self.catalog)
        app.post("/v1/ui/similarity", dependencies=guarded)(self.similarity)

    async def page(self) -> Response:
        return _sent("index.html", "text/html; charset=utf-8")

    async def file(self, name: str) -> Response:
        if name not in FILES:
            raise fail(404, "no such file", code="not_found")
        return _sent(name, FILES[name] + "; charset=utf-8")

    async def catalog(self) -> dict[str, Any]:
        """What the server serves: models (with their dimension), collections and FAQs."""
        st = self.routes.served()
        return {
            "models": [{"id": n, "dimensions": m.dim} for n, m in sorted(st.models.items())],
            "collections": sorted(st.collections),
            "faqs": [{"id": n, "threshold": f.threshold} for n, f in sorted(st.faqs.items())],
        }

    async def similarity(self, req: SimilarityRequest) -> dict[str, Any]:
        """The cosine similarity of every pair of ``texts`` under ``model`` (rows and columns in
        the order given), rounded to 4 digits."""
        model = self.routes.served().models.get(req.model)
        if model is None:
            raise fail(404, f"model {short(req.model)!r} is not served", param="model")
        try:
            vectors, tokens = await asyncio.wait_for(
                model.batcher.embed_counted(req.texts), self.routes.cfg.limits.request_timeout_s
            )
        except asyncio.TimeoutError as e:
            raise self.routes.timed_out() from e
        unit = normalized(np.asarray(vectors, dtype=np.float32))
        matrix = np.clip(unit @ unit.T, -1.0, 1.0)
        return {
            "model": req.model,
            "texts": req.texts,
            "matrix": np.round(matrix.astype(np.float64), 4).tolist(),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def _sent(name: str, kind: str) -> Response:
    headers = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
               "Cache-Control": "no-cache"}  # fmt: skip
    return Response((WEB / name).read_bytes(), media_type=kind, headers=headers)
