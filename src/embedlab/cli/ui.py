"""``embedlab ui [PATH...]``: the web page on loopback, with the given things to look at.

Each PATH is recognised by what it holds: an ``eval run`` report folder (``report.json``), a
training run (a folder with ``train_log.jsonl``, or such a log), an FAQ (``faq.json``), a search
collection (its manifest), or for the projector a vectors file (any format ``embedlab convert``
reads) or an ``embed`` output (``.npy`` with its ids, ``.parquet``); ``--metadata`` adds a
file's columns to colour by (paired in order with the vectors paths) and ``--images`` the folder
whose photos an image ``embed`` output's ids name, for thumbnails (paired in order with the
``embed`` outputs). The server is ``embedlab serve``'s, bound to 127.0.0.1 (a free port unless
``--port``), serving MiniLM for the playground unless ``-m`` says otherwise; the browser opens
on the page where there is one, and the address is printed either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def kind_of(path: Path) -> str:
    """``report``, ``run``, ``faq``, ``collection`` or ``vectors``; a FileNotFoundError or a
    ParameterError naming the path otherwise."""
    from ..errors import ParameterError
    from ..search import Collection

    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        for marker, kind in (("report.json", "report"), ("train_log.jsonl", "run"),
                             ("faq.json", "faq")):  # fmt: skip
            if (path / marker).exists():
                return kind
        if Collection.is_collection(path):
            return "collection"
        raise ParameterError(
            f"{path}: expected an eval report (report.json), a training run (train_log.jsonl), "
            "an FAQ (faq.json), a collection, or a vectors file"
        )
    if path.name.endswith(".jsonl"):
        return "run"
    if path.suffix.lower() in (".npy", ".parquet"):
        return "vectors"
    from ..io.registry import detect_format

    detect_format(path)  # a clear error for a file that is no vectors format
    return "vectors"


def ui(
    paths: Annotated[
        Optional[list[Path]],
        typer.Argument(help="Vectors files, collections, FAQs, eval reports, training runs."),
    ] = None,
    model: Annotated[
        Optional[list[str]],
        typer.Option("--model", "-m", help="NAME=SOURCE for the playground (default: MiniLM)."),
    ] = None,
    metadata: Annotated[
        Optional[list[Path]],
        typer.Option(help="A .tsv/.csv/.jsonl/.parquet of columns per point (by id or row)."),
    ] = None,
    images: Annotated[
        Optional[list[Path]],
        typer.Option(help="The folder an image `embed` output's ids are paths in."),
    ] = None,
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0: a free one).")] = 0,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open a browser.")] = True,
) -> None:
    """Open the web page (playground, projector, reports) on loopback."""
    import socket
    import threading
    import webbrowser

    from ..optional import require

    uvicorn = require("uvicorn", "server", "the web page")
    from ..server.app import create_app
    from ..server.config import ServerConfig

    cfg = ServerConfig()
    if model:
        cfg.models = dict(
            item.partition("=")[::2] if "=" in item else (item, item) for item in model
        )
    from ..errors import ParameterError

    tables = {"report": cfg.reports, "run": cfg.runs, "vectors": cfg.vectors}
    extras = {"metadata": list(metadata or []), "images": list(images or [])}
    for path in paths or []:
        kind = kind_of(path)
        name = _unique(path.stem if kind in ("vectors", "run") and path.is_file() else path.name,
                       cfg)  # fmt: skip
        if kind == "faq":
            cfg.faqs[name] = {"path": str(path.resolve())}
        elif kind == "collection":
            cfg.collections[name] = {"path": str(path.resolve())}
        else:
            tables[kind][name] = str(path.resolve())
        typer.echo(f"{kind:<10} {name}  ({path})")
        embedded = path.suffix.lower() in (".npy", ".parquet")  # only `embed` writes image ids
        for option, given in extras.items() if kind == "vectors" else ():
            if given and (option == "metadata" or embedded):
                extra = given.pop(0)
                if not extra.exists():
                    raise FileNotFoundError(f"--{option} {extra} does not exist")
                getattr(cfg, option)[name] = str(extra.resolve())
                typer.echo(f"{'':<10} {option}: {extra}")
    for option, given in extras.items():
        if given:
            raise ParameterError(f"--{option} {given[0]}: more --{option} than paths to pair with")
    if port == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
    url = f"http://127.0.0.1:{port}/"
    view = "#projector" if cfg.vectors else "#reports" if cfg.reports or cfg.runs else ""
    typer.echo(f"embedlab ui on {url}{view} (Ctrl-C stops)")
    if open_browser:
        threading.Timer(1.5, lambda: webbrowser.open(url + view)).start()
    uvicorn.run(create_app(cfg), host="127.0.0.1", port=port, log_level="warning")


def _unique(name: str, cfg: object) -> str:
    """``name``, or ``name-2``... when another path already took it."""
    taken = {n for table in ("faqs", "collections", "reports", "runs", "vectors")
             for n in getattr(cfg, table)}  # fmt: skip
    out, n = name, 1
    while out in taken:
        n += 1
        out = f"{name}-{n}"
    return out
