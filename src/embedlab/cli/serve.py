"""``embedlab serve``: run the HTTP API with uvicorn (loopback by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def serve(
    config: Annotated[
        Optional[Path], typer.Option("--config", "-c", help="Server config (JSON/YAML).")
    ] = None,
    model: Annotated[
        Optional[list[str]],
        typer.Option("--model", "-m", help="NAME=SOURCE to serve (repeatable; default: MiniLM)."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Interface to bind (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    max_batch: Annotated[
        Optional[int], typer.Option(help="Most texts per micro-batched encoder call.")
    ] = None,
    max_wait_ms: Annotated[
        Optional[float], typer.Option(help="How long a batch waits for more requests.")
    ] = None,
    isolate: Annotated[
        bool,
        typer.Option(help="Run each neural model in its own process (no GIL shared with HTTP)."),
    ] = True,
    max_gap_ms: Annotated[
        Optional[float], typer.Option(help="Stop waiting when no request came for this long.")
    ] = None,
    graceful: Annotated[
        int, typer.Option(help="Seconds to finish in-flight requests on shutdown.")
    ] = 30,
    request_timeout: Annotated[
        Optional[float], typer.Option(help="Answer 504 to a request not done in this many s.")
    ] = None,
    limit_concurrency: Annotated[
        Optional[int], typer.Option(help="Most open connections (beyond: 503).")
    ] = None,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="Deploy on Ray Serve: --replicas copies of the app behind Ray's HTTP proxy.",
        ),
    ] = False,
    replicas: Annotated[int, typer.Option(help="With --ray: how many replicas.")] = 2,
    threads: Annotated[
        Optional[int], typer.Option(help="With --ray: CPUs (and torch threads) per replica.")
    ] = None,
    address: Annotated[
        Optional[str],
        typer.Option(help="With --ray: the cluster to join (default: start Ray here)."),
    ] = None,
) -> None:
    """Serve /v1/embeddings (OpenAI-compatible), /v1/search, /v1/faq/ask; docs at /docs."""
    from ..optional import require

    uvicorn = require("uvicorn", "server", "serving")
    from ..server.app import create_app
    from ..server.config import ServerConfig
    from ..server.guards import uvicorn_options

    cfg = ServerConfig.load(config) if config is not None else ServerConfig()
    if model:
        cfg.models = {}
        for item in model:
            name, sep, source = item.partition("=")
            if not sep:
                name, source = Path(item).name or item, item
            cfg.models[name] = source
    if max_batch is not None:
        cfg.max_batch = max_batch
    if max_wait_ms is not None:
        cfg.max_wait_ms = max_wait_ms
    if max_gap_ms is not None:
        cfg.max_gap_ms = max_gap_ms
    cfg.isolate = isolate
    if request_timeout is not None:
        cfg.limits.request_timeout_s = request_timeout
    if limit_concurrency is not None:
        cfg.limits.max_connections = limit_concurrency
    if ray or address is not None:
        from ..distributed.replicas import serve_replicas

        cfg.key()  # an empty EMBEDLAB_API_KEY stops here too
        typer.echo(f"deploying {replicas} Ray Serve replicas of {sorted(cfg.models)} ...")
        serve_replicas(
            cfg, replicas=replicas, threads=threads, host=host, port=port, address=address,
            on_ready=lambda url: typer.echo(f"embedlab serving on {url} (Ctrl-C stops it)"),
        )  # fmt: skip
        return
    app = create_app(cfg)  # an empty EMBEDLAB_API_KEY stops here
    if cfg.key() is None and not _loopback(host):
        typer.echo(
            f"warning: serving on {host}, reachable from other machines, without an API key; "
            "set EMBEDLAB_API_KEY to require one",
            err=True,
        )
    typer.echo(f"embedlab serving {sorted(cfg.models)} on http://{host}:{port} (docs at /docs)")
    uvicorn.run(
        app,
        host=host,
        port=port,
        timeout_graceful_shutdown=graceful,
        log_level="info",
        **uvicorn_options(cfg),
    )


def _loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``: only this machine can connect."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
