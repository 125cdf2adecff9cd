"""A uvicorn server on a free loopback port in a thread, for the server tests."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Running:
    def __init__(self, app: Any) -> None:
        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 120  # a model in its own process starts in seconds
        while not self.server.started and self.thread.is_alive():
            assert time.monotonic() < deadline, "the server did not start in 120 s"
            time.sleep(0.02)
        assert self.server.started, "the server stopped while starting (see the log above)"
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
