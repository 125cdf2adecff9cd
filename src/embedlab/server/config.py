"""Server configuration: which models, collections and FAQs to serve, and the limits.

A JSON (or YAML) file::

    {"models": {"minilm": "default", "static": "models/minilm-static"},
     "collections": {"docs": {"path": "docs-collection"}},
     "faqs": {"support": {"path": "support-faq"}},
     "limits": {"max_inputs": 2048, "max_chars": 32768, "max_body_bytes": 8388608,
                "max_pending": 4096, "request_timeout_s": 60, "worker_timeout_s": 120,
                "body_timeout_s": 30, "header_timeout_s": 10, "max_connections": 512,
                "keep_alive_s": 5},
     "batching": {"max_batch": 256, "max_wait_ms": 5, "max_gap_ms": 1, "isolate": true}}

Model sources are anything :func:`embedlab.encoders.load_encoder` opens (``"default"`` is the
offline all-MiniLM-L6-v2; with ``isolate`` each neural model runs in its own process, see
:mod:`embedlab.server.worker`), or ``"splade"`` / ``"splade:FOLDER"`` for a sparse SPLADE model
(answered as ``{"indices", "values"}``); collections and FAQs open with the encoder they were
built with. The web page's projector shows ``"vectors"``: ``{"words": "words.vec", "photos":
{"path": "photos.npy", "metadata": "photos.tsv", "images": "photos/"}}`` (vectors files or
``embed`` outputs; a metadata file's columns to colour by; the folder whose files the ids name,
for thumbnails). The API key comes from ``EMBEDLAB_API_KEY`` (never from the file). This module
does not serve.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FormatError, ParameterError
from ..records import read_mapping

logger = logging.getLogger(__name__)

__all__ = ["Limits", "ServerConfig"]


@dataclass
class Limits:
    """What one request may ask and how long anything may take (seconds).

    ``request_timeout_s``: a request not answered by then gets 504; ``worker_timeout_s``: an
    encoder process that does not answer a call by then is restarted; ``body_timeout_s`` and
    ``header_timeout_s``: a body or request headers not received by then end the request (408)
    or the connection; ``max_connections``: beyond it uvicorn answers 503; ``keep_alive_s``: an
    idle kept-alive connection is closed. ``max_image_bytes`` and ``max_image_pixels`` bound one
    image input (base64 in ``/v1/embeddings``): larger ones are refused (422) before decoding.
    """

    max_inputs: int = 2048
    max_chars: int = 32768
    max_image_bytes: int = 6 * 1024 * 1024  # one image input, decoded
    max_image_pixels: int = 40_000_000  # its width x height, read from its header
    max_body_bytes: int = 8 * 1024 * 1024
    max_pending: int = 4096
    request_timeout_s: float = 60.0
    worker_timeout_s: float = 120.0
    body_timeout_s: float = 30.0
    header_timeout_s: float = 10.0
    max_connections: int = 512
    keep_alive_s: int = 5


@dataclass
class ServerConfig:
    models: dict[str, str] = field(default_factory=lambda: {"all-MiniLM-L6-v2": "default"})
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)
    faqs: dict[str, dict[str, Any]] = field(default_factory=dict)
    recommenders: dict[str, dict[str, Any]] = field(default_factory=dict)
    monitors: dict[str, dict[str, Any]] = field(default_factory=dict)
    graphs: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {path, text}
    reports: dict[str, str] = field(default_factory=dict)  # name -> an `eval run` report folder
    runs: dict[str, str] = field(default_factory=dict)  # name -> a training run's JSONL log
    vectors: dict[str, str] = field(default_factory=dict)  # name -> vectors or `embed` output
    metadata: dict[str, str] = field(default_factory=dict)  # name -> its metadata file
    images: dict[str, str] = field(default_factory=dict)  # name -> the folder its ids are in
    limits: Limits = field(default_factory=Limits)
    max_batch: int = 256
    max_wait_ms: float = 5.0
    max_gap_ms: float = 1.0
    isolate: bool = True
    api_key: str | None = None
    base: Path = field(default_factory=Path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ServerConfig:
        p = Path(path)
        raw = read_mapping(p, "server config")
        known = {"models", "collections", "faqs", "recommenders", "monitors", "graphs", "reports",
                 "runs", "vectors", "limits", "batching"}  # fmt: skip
        unknown = set(raw) - known
        if unknown:
            raise FormatError(p, f"unknown keys {sorted(unknown)}")
        try:
            limits = Limits(**raw.get("limits", {}))
        except TypeError as e:
            raise FormatError(p, f"limits: {e}") from e
        batching = raw.get("batching", {})
        vectors, metadata, images = _projected(p, raw.get("vectors", {}))
        return cls(
            models={str(k): str(v) for k, v in raw.get("models", {}).items()}
            or {"all-MiniLM-L6-v2": "default"},
            collections=dict(raw.get("collections", {})),
            faqs=dict(raw.get("faqs", {})),
            recommenders=dict(raw.get("recommenders", {})),
            monitors=dict(raw.get("monitors", {})),
            graphs=dict(raw.get("graphs", {})),
            reports={str(k): str(v) for k, v in raw.get("reports", {}).items()},
            runs={str(k): str(v) for k, v in raw.get("runs", {}).items()},
            vectors=vectors,
            metadata=metadata,
            images=images,
            limits=limits,
            max_batch=int(batching.get("max_batch", 256)),
            max_wait_ms=float(batching.get("max_wait_ms", 5.0)),
            max_gap_ms=float(batching.get("max_gap_ms", 1.0)),
            isolate=bool(batching.get("isolate", True)),
            base=p.parent,
        )

    def resolve(self, path: str) -> Path:
        q = Path(path).expanduser()
        return q if q.is_absolute() else self.base / q

    def key(self) -> str | None:
        """The API key (``EMBEDLAB_API_KEY`` unless given); set but empty is an error, since
        it would be a lock that the bare ``Bearer `` opens."""
        key = self.api_key if self.api_key is not None else os.environ.get("EMBEDLAB_API_KEY")
        if key is not None and not key.strip():
            raise ParameterError(
                "EMBEDLAB_API_KEY is set but empty: set it to a secret, or unset it to serve "
                "without authentication"
            )
        return key


def _projected(path: Path, raw: Any) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The projector's sources: ``NAME: PATH`` or ``NAME: {"path": PATH, "metadata": FILE,
    "images": FOLDER}``, as three tables."""
    if not isinstance(raw, dict):
        raise FormatError(path, f"vectors: expected a mapping of names to files, found {raw!r}")
    vectors: dict[str, str] = {}
    metadata: dict[str, str] = {}
    images: dict[str, str] = {}
    for name, entry in raw.items():
        if isinstance(entry, dict):
            if set(entry) - {"path", "metadata", "images"} or "path" not in entry:
                raise FormatError(
                    path, f"vectors.{name}: expected path (and metadata, images), found "
                    f"{sorted(entry)}",
                )  # fmt: skip
            for table, key in ((metadata, "metadata"), (images, "images")):
                if key in entry:
                    table[str(name)] = str(entry[key])
            entry = entry["path"]
        vectors[str(name)] = str(entry)
    return vectors, metadata, images
