"""What stands between a hostile or broken client and the app: body limits, read timeouts, auth.

- :class:`BodyGuard` (ASGI middleware) reads each request body before the app sees it: a body
  over ``limit`` bytes (declared or chunked) answers 413, one that does not arrive within
  ``timeout`` seconds (a half-sent body) 408, both in OpenAI's error shape; the app then reads
  the buffered body as usual.
- :func:`guarded_protocol` is uvicorn's HTTP protocol with a deadline for the request line and
  headers: a connection that opens and sends nothing, or sends its headers a byte at a time, is
  closed after ``header_timeout`` seconds (uvicorn itself only times out idle keep-alive
  connections between requests). :func:`uvicorn_options` gathers it with uvicorn's own limits.
- :func:`bearer_matches` compares a token in constant time, accepting the scheme in any case.

This module does not route requests (``app``) or decide the limits (``config``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from .config import ServerConfig

logger = logging.getLogger(__name__)

__all__ = [
    "BodyGuard",
    "bearer_matches",
    "error_body",
    "guarded_protocol",
    "short",
    "uvicorn_options",
]


def error_body(
    message: str,
    kind: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def short(text: object, limit: int = 64) -> str:
    """A client-supplied name as it may be echoed back: ``short("x" * 100, 8) -> 'xxxxxxxx…'``."""
    s = str(text)
    return s if len(s) <= limit else s[:limit] + "…"


def bearer_matches(header: str, key: str) -> bool:
    """``Authorization: Bearer <key>`` (any case of "Bearer"), compared in constant time."""
    scheme, _, token = header.strip().partition(" ")
    ok_scheme = scheme.lower() == "bearer"
    return hmac.compare_digest(token.strip().encode(), key.encode()) and ok_scheme


class BodyGuard:
    """ASGI middleware: buffer each HTTP request body, bounded in size and in time."""

    def __init__(self, app: Any, limit: int, timeout: float) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _answer(send, 413, f"request body over {self.limit} bytes", "request_too_large")
            return
        try:
            body = await asyncio.wait_for(self._read(receive), self.timeout)
        except _TooLarge:
            await _answer(send, 413, f"request body over {self.limit} bytes", "request_too_large")
            return
        except asyncio.TimeoutError:
            await _answer(
                send, 408, f"the request body did not arrive within {self.timeout:g} s", "timeout"
            )
            return
        except _Gone:
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as servers do

        await self.app(scope, replay, send)

    async def _read(self, receive: Any) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    pass


async def _answer(send: Any, status: int, message: str, code: str) -> None:
    body = json.dumps(error_body(message, code=code)).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def guarded_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, closing connections whose headers are not in by the deadline."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeaderDeadline(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                logger.info("closing a connection whose request headers did not arrive in time")
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()  # from the first byte, or from nothing at all

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()  # the next request on a kept-alive connection

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderDeadline


def uvicorn_options(cfg: ServerConfig) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` / ``uvicorn.run`` that enforce ``cfg.limits``."""
    limits = cfg.limits
    options: dict[str, Any] = {
        "limit_concurrency": limits.max_connections,
        "timeout_keep_alive": limits.keep_alive_s,
        "h11_max_incomplete_event_size": 64 * 1024,
    }
    try:
        options["http"] = guarded_protocol(limits.header_timeout_s)
    except ImportError:  # pragma: no cover - httptools missing: uvicorn's h11 protocol, no deadline
        logger.warning("httptools is not installed: no deadline for request headers")
    return options
