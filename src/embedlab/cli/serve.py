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
) -> None:
    """Serve /v1/embeddings (OpenAI-compatible), /v1/search, /v1/faq/ask; docs at /docs."""
    try:
        import uvicorn
    except ImportError as e:
        from ..errors import MissingDependencyError

        raise MissingDependencyError("serving needs uvicorn: pip install 'embedlab[server]'") from e
    from ..server.app import create_app
    from ..server.config import ServerConfig

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
    typer.echo(f"embedlab serving {sorted(cfg.models)} on http://{host}:{port} (docs at /docs)")
    uvicorn.run(
        create_app(cfg), host=host, port=port, timeout_graceful_shutdown=graceful, log_level="info"
    )
