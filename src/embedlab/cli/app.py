"""The ``embedlab`` app: the command groups assembled, the global options, ``demo``.

The commands live by subject: vectors files (``cli.vectors``), training (``cli.train``), encoders
(``cli.encode``), evaluation (``cli.evaluate``), search (``cli.index``), FAQs, serving, neural
training, visualisation. Each parses its options, calls one library function and prints the
result; no logic lives here that a Python user could not reach through the library.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from .._progress import set_progress
from .._version import __version__
from .align import align
from .encode import distill_cmd, embed, encoders_app
from .evaluate import eval_app
from .faq import faq_app
from .images import classify_images, train_clip_cmd
from .index import index_app
from .kg import kg_app
from .monitor import monitor_app
from .neural import finetune_app, predict, pretrain_app
from .recommend import recommend_app
from .serve import serve
from .tokenizer import tokenizer_app
from .train import train_app
from .ui import ui
from .vectors import export_app, vectors_app
from .viz import viz_app

app = typer.Typer(
    name="embedlab",
    help="The embeddings workbench: open, convert, explore and evaluate vectors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(eval_app, name="eval")
app.add_typer(export_app, name="export")
app.add_typer(train_app, name="train")
app.add_typer(encoders_app, name="encoders")
app.add_typer(viz_app, name="viz")
app.add_typer(index_app, name="index")
app.add_typer(kg_app, name="kg")
app.add_typer(faq_app, name="faq")
app.add_typer(recommend_app, name="recommend")
app.add_typer(monitor_app, name="monitor")
app.command("serve")(serve)
app.command("ui")(ui)
app.add_typer(tokenizer_app, name="tokenizer")
app.add_typer(pretrain_app, name="pretrain")
app.add_typer(finetune_app, name="finetune")
app.command("predict")(predict)
app.command("embed")(embed)
app.command("distill")(distill_cmd)
app.command("align")(align)
app.command("classify-images")(classify_images)
train_app.command("clip")(train_clip_cmd)
app.registered_commands[:0] = vectors_app.registered_commands  # info, convert, similar first


def _version(value: bool) -> None:
    if value:
        typer.echo(f"embedlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Hide progress bars.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what the library does.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s"
    )
    if quiet:
        set_progress(False)


@app.command()
def demo() -> None:
    """A two-minute tour on the bundled sample vectors."""
    from .demo import run_demo

    run_demo()
