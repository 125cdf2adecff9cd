"""The web page: ``/`` and its files, and the JSON routes under ``/v1/ui`` it reads.

The page is plain HTML, CSS and JavaScript shipped in ``server/web`` (no build step, no CDN: it
works on loopback without internet). It holds no data of its own: everything it shows comes from
the API's routes, the same a script would call (``/v1/embeddings``, ``/v1/search``,
``/v1/faq/ask``) and the ones here, which exist for it and are documented in ``/docs`` with the
rest: ``GET /v1/ui/catalog`` (what is served), ``POST /v1/ui/similarity`` (the cosine matrix of
a few texts under one model), ``GET /v1/ui/reports/{name}`` (an ``eval run`` report of the
config's ``reports``: every cell, and the retention of compressed variants) and ``GET
/v1/ui/runs/{name}`` (a training run's logged metrics as series, from the config's ``runs``).
The page and its files are public; every data route asks for the bearer token when one is set,
and the page asks for it once and keeps it for the tab only. It writes every text from data with
``textContent``, and the page is sent with a Content Security Policy that runs only its own
script, so a key such as ``<img src=x onerror=...>`` stays text.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, ParameterError
from ..files import read_json
from ..optional import require
from ..rows import normalized
from .guards import short
from .routes import Routes, fail

require("fastapi", "server", "the web page")
from fastapi import Depends  # noqa: E402
from fastapi.responses import Response  # noqa: E402

from .projector import Projector  # noqa: E402
from .schemas import ProjectionRequest, SimilarityRequest  # noqa: E402

__all__ = ["UiRoutes", "read_report", "read_run"]

logger = logging.getLogger(__name__)

WEB = Path(__file__).with_name("web")
FILES = {"app.js": "text/javascript", "playground.js": "text/javascript",
         "projector.js": "text/javascript", "style.css": "text/css"}  # fmt: skip
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class UiRoutes:
    """The page's routes, next to the API's (``routes`` gives the state, access and limits)."""

    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self.projector = Projector(routes.cfg, lambda: routes.served().collections)

    def register(self, app: Any) -> None:
        guarded = [Depends(self.routes.authorize)]
        app.get("/", include_in_schema=False)(self.page)
        app.get("/ui/{name}", include_in_schema=False)(self.file)
        app.get("/v1/ui/catalog", dependencies=guarded)(self.catalog)
        app.post("/v1/ui/similarity", dependencies=guarded)(self.similarity)
        app.get("/v1/ui/reports/{name}", dependencies=guarded)(self.report)
        app.get("/v1/ui/runs/{name}", dependencies=guarded)(self.run)
        app.post("/v1/ui/projections", dependencies=guarded)(self.projection)
        app.get("/v1/ui/projections/{job}", dependencies=guarded)(self.projection_status)
        app.get("/v1/ui/neighbours", dependencies=guarded)(self.neighbours)
        app.get("/v1/ui/thumbnails", dependencies=guarded)(self.thumbnail)

    async def page(self) -> Response:
        return _sent("index.html", "text/html; charset=utf-8")

    async def file(self, name: str) -> Response:
        if name not in FILES:
            raise fail(404, "no such file", code="not_found")
        return _sent(name, FILES[name] + "; charset=utf-8")

    async def catalog(self) -> dict[str, Any]:
        """What the server serves: models (with their dimension and kind: ``dense``, ``static``,
        ``compressed``, ``sparse`` or ``multimodal``, which also takes images), collections, FAQs, reports,
        training runs, and the projector's sources (vectors files and ``collection:NAME``)."""
        st = self.routes.served()
        return {
            "models": [
                {"id": n, "dimensions": m.dim, "kind": _kind(m.encoder)}
                for n, m in sorted(st.models.items())
            ],
            "collections": sorted(st.collections),
            "faqs": [{"id": n, "threshold": f.threshold} for n, f in sorted(st.faqs.items())],
            "reports": sorted(self.routes.cfg.reports),
            "runs": sorted(self.routes.cfg.runs),
            "vectors": self.projector.sources(),
        }

    async def projection(self, req: ProjectionRequest) -> dict[str, Any]:
        """Start (or find) the projection of a projector source; its state, and when it is done
        its points: ``ids``, ``coords`` (base64 little-endian float32, ``dims`` a point, inside
        the unit box) and ``columns`` (row and count, or a collection's text and metadata, and
        a k-means cluster)."""
        if req.source not in self.projector.sources():
            raise fail(404, f"{short(req.source)!r} is not served to the projector", param="source")
        return self.projector.start(req.source, req.method, req.dims, req.limit).status()

    async def projection_status(self, job: str) -> dict[str, Any]:
        """A projection job's state (``running``, ``done`` with the points, ``failed``)."""
        found = self.projector.job(job)
        if found is None:
            raise fail(404, f"no projection job {short(job)!r}", param="job")
        return found.status()

    async def neighbours(self, source: str, key: str, k: int = 10) -> dict[str, Any]:
        """``key``'s ``k`` nearest keys by cosine in the original vectors (not the projection)."""
        if source not in self.projector.sources():
            raise fail(404, f"{short(source)!r} is not served to the projector", param="source")
        if not 1 <= k <= 1000:
            raise fail(422, "k: must be from 1 to 1000", param="k")
        rows = await self.routes.bounded(self.projector.neighbours, source, key, k)
        return {"source": source, "key": key, "data": [{"key": w, "score": s} for w, s in rows]}

    async def report(self, name: str) -> dict[str, Any]:
        """An ``eval run`` report: its tasks and models, every (model, task) cell with its main
        figure and metric, and per compressed variant the share of its base's score kept."""
        return await self._read(read_report, self.routes.cfg.reports, name, "report")

    async def run(self, name: str) -> dict[str, Any]:
        """A training run's JSONL log as series: metric -> [[step, value], ...]."""
        return await self._read(read_run, self.routes.cfg.runs, name, "run")

    async def _read(
        self, reader: Any, table: dict[str, str], name: str, what: str
    ) -> dict[str, Any]:
        """``reader`` of the ``what`` served as ``name``, off the event loop; one that is missing
        or not what it should be is a 404 (the server log has the path and why: not the client)."""
        if name not in table:
            raise fail(404, f"{what} {short(name)!r} is not served", param="name")
        path = self.routes.cfg.resolve(table[name])
        try:
            answer: dict[str, Any] = await self.routes.bounded(reader, path)
        except (FormatError, OSError) as e:
            logger.warning("cannot read %s %r: %s", what, name, e)
            raise fail(
                404, f"{what} {short(name)!r} cannot be read (the server log says why)"
            ) from None
        return answer

    async def similarity(self, req: SimilarityRequest) -> dict[str, Any]:
        """The cosine similarity of every pair of ``texts`` and ``images`` (a CLIP-family model)
        under ``model``, texts first, in the order given, rounded to 4 digits. A sparse (SPLADE)
        model's rows are compared as they are: cosine of the term weights."""
        model = self.routes.served().models.get(req.model)
        if model is None:
            raise fail(404, f"model {short(req.model)!r} is not served", param="model")
        items = req.items()
        most = self.routes.cfg.limits.max_image_bytes
        for i, item in enumerate(items):
            if isinstance(item, bytes) and len(item) > most:
                raise fail(422, f"image {i - len(req.texts)} has {len(item):,} bytes; at most "
                           f"{most:,}", param="images")  # fmt: skip
        vectors, tokens = await self.routes.encoded(req.model, model, items)
        if hasattr(vectors, "tocsr"):
            rows = vectors.tocsr().astype(np.float64)
            gram = (rows @ rows.T).toarray()
            norms = np.sqrt(np.clip(np.diag(gram), 1e-24, None))
            matrix = gram / norms[:, None] / norms[None, :]
        else:
            unit = normalized(np.asarray(vectors, dtype=np.float32))
            matrix = unit @ unit.T
        matrix = np.clip(np.asarray(matrix, dtype=np.float64), -1.0, 1.0)
        return {
            "model": req.model,
            "texts": req.texts,
            "images": len(req.images),
            "matrix": np.round(matrix, 4).tolist(),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    async def thumbnail(self, source: str, key: str) -> Response:
        """A JPEG thumbnail (at most 128 pixels a side) of the image ``key`` names, for a source
        whose config names its images folder; only files inside that folder are read."""
        if source not in self.projector.sources():
            raise fail(404, f"{short(source)!r} is not served to the projector", param="source")
        try:
            data = await self.routes.bounded(self.projector.thumbnail, source, key)
        except (ParameterError, FormatError, OSError) as e:
            logger.info("no thumbnail of %r in %r: %s", key, source, e)
            raise fail(404, f"no image {short(key)!r} in {short(source)!r}", param="key") from None
        return Response(
            data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
        )


def read_report(folder: Path) -> dict[str, Any]:
    """The page's view of ``folder/report.json`` (written by ``embedlab eval run``)."""
    from ..evaluate.runner import EvalReport, TaskScore

    path = folder / "report.json"
    data = read_json(path)
    try:
        report = EvalReport([TaskScore(**cell) for cell in data["scores"]],
                            float(data.get("seconds", 0.0)), dict(data.get("variants", {})))  # fmt: skip
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(path, f"expected a report written by `embedlab eval run` ({e})") from None
    cells = [
        {"model": c.model, "task": c.task, "type": c.type, "language": c.language,
         "main": c.main, "metric": c.metrics.get("main_metric"), "skipped": c.skipped}
        for c in report.scores
    ]  # fmt: skip
    return {"tasks": report.tasks(), "models": report.models(), "cells": cells,
            "retention": report.retention(), "seconds": report.seconds}  # fmt: skip


def read_run(path: Path, most: int = 200_000) -> dict[str, Any]:
    """Series of every numeric field of a training log's lines that carry a ``step`` (a folder
    means its ``train_log.jsonl``); a line still being written is left out and counted."""
    log = path / "train_log.jsonl" if path.is_dir() else path
    if not log.is_file():
        raise FormatError(log, "expected a training log (train_log.jsonl)")
    series: dict[str, list[list[float]]] = {}
    skipped = 0
    with log.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f):
            if n >= most:
                break
            try:
                row = json.loads(line)
            except ValueError:
                skipped += 1
                continue
            if not isinstance(row, dict) or not isinstance(row.get("step"), int | float):
                continue
            for key, value in row.items():
                number = isinstance(value, int | float) and not isinstance(value, bool)
                if key != "step" and number and math.isfinite(value):
                    series.setdefault(key, []).append([row["step"], value])
    return {"series": series, "skipped_lines": skipped}


def _kind(encoder: Any) -> str:
    """What the playground calls a served model: what it takes and what it answers."""
    from ..encoders import StaticEncoder
    from ..encoders.compressed import CompressedEncoder

    if callable(getattr(encoder, "encode_images", None)):
        return "multimodal"
    if callable(getattr(encoder, "encode_document", None)):  # SPLADE: sparse term weights
        return "sparse"
    if isinstance(encoder, StaticEncoder):
        return "static"
    source = getattr(encoder, "source", None)  # a model in its own process: its folder says
    if isinstance(encoder, CompressedEncoder) or (
        isinstance(source, str) and (Path(source).expanduser() / "compressed_encoder.json").exists()
    ):
        return "compressed"
    return "dense"


def _sent(name: str, kind: str) -> Response:
    headers = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
               "Cache-Control": "no-cache"}  # fmt: skip
    return Response((WEB / name).read_bytes(), media_type=kind, headers=headers)
