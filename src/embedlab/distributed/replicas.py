"""Served replicas on Ray Serve: ``serve_replicas(config, replicas=N)`` (``embedlab serve --ray``).

The same app, N times: every replica builds embedlab's own FastAPI app from the server config
(:func:`embedlab.server.app.create_app`) when it starts, so the OpenAI-compatible routes, the
micro-batching and the model's worker process are exactly those of ``embedlab serve``; Ray Serve's
proxy takes HTTP on ``host:port`` and hands each request to a replica with a short queue. One
replica is one copy of every configured model, on ``threads`` CPUs of whichever node Ray places
it on. The app is built in the replica (a builder, not an app object) because its state (models,
batchers, worker processes) must live where requests are answered.

The config travels to the replicas whole: its paths are made absolute here, and the API key is
read here (``EMBEDLAB_API_KEY`` of the process that deploys), since a replica's environment is
not the shell's. Collections and other files must be readable where replicas run (one machine,
or a shared filesystem).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ..optional import require
from ._ray import connect

logger = logging.getLogger(__name__)

__all__ = ["APP_NAME", "build_app", "serve_replicas"]

APP_NAME = "embedlab"


def build_app(config: Any) -> Any:
    """The FastAPI app of one replica (called by Ray Serve on the replica)."""
    from ..server.app import create_app

    return create_app(config)


def _portable(config: Any) -> Any:
    """``config`` with an absolute base folder and its API key resolved here."""
    return dataclasses.replace(config, base=Path(config.base).resolve(), api_key=config.key())


def serve_replicas(
    config: Any,
    *,
    replicas: int = 2,
    threads: int | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    address: str | None = None,
    blocking: bool = True,
    on_ready: Callable[[str], object] | None = None,
) -> str:
    """Deploy the app with ``replicas`` replicas of ``threads`` CPUs each; returns its URL, and
    calls ``on_ready(url)`` once every replica answers. With ``blocking`` it serves until
    interrupted (Ctrl-C), then takes the deployment down."""
    ray = require("ray", "ray", "served replicas")
    serve = require("ray.serve", "ray", "served replicas")
    if replicas < 1:
        raise ParameterError(f"replicas must be >= 1, got {replicas}")
    cpus = float(threads) if threads is not None else 1.0
    started = connect(ray, address, None)
    try:
        serve.start(http_options={"host": host, "port": port}, detached=not blocking)
        portable = _portable(config)

        def builder() -> Any:  # a function: Ray Serve calls it on each replica
            return build_app(portable)

        ingress = serve.ingress(builder)

        class Embedlab:
            """One replica: embedlab's app, built on the replica."""

        options: dict[str, Any] = {"num_cpus": cpus}
        if threads is not None:
            options["runtime_env"] = {"env_vars": {"OMP_NUM_THREADS": str(threads)}}
        deployment = serve.deployment(
            name="embedlab", num_replicas=replicas, ray_actor_options=options
        )(ingress(Embedlab))
        serve.run(deployment.bind(), name=APP_NAME, route_prefix="/")  # returns once running
        url = f"http://{host}:{port}"
        if on_ready is not None:
            on_ready(url)
        if not blocking:
            started = False  # the caller stops it (stop_replicas)
            return url
        logger.info("serving %d replicas on %s", replicas, url)
        _wait_for_interrupt()
        return url
    finally:
        if started:
            serve.shutdown()
            ray.shutdown()


def stop_replicas() -> None:
    """Take down what a non-blocking :func:`serve_replicas` deployed (Serve itself too)."""
    serve = require("ray.serve", "ray", "served replicas")
    serve.shutdown()


def _wait_for_interrupt() -> None:
    import time

    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
