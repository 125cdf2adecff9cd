"""Options several commands share, declared once and added to each command by a decorator.

Typer reads a command's options from its signature, so seven training commands that share a dozen
options would each spell all of them out, help text included. :data:`SHARED` declares each shared
option once (type, help, usual default); an :class:`OptionGroup` names the ones a family of
commands takes, and used as a decorator it appends them to a command's own parameters. The command
receives their values together as one ``opts`` dict::

    run = OptionGroup("workers", "seed", "max_time", "resume", seed=1)

    @app.command("word2vec")
    @run(without=("resume",), max_time=60.0)  # an option it has no use for; its own default
    def train_word2vec(corpus: Path, dim: int = 100, *, opts: dict[str, Any]) -> None: ...

``embedlab train word2vec --help`` lists the command's own options first, then the shared ones.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

__all__ = ["SHARED", "OptionGroup"]


def _option(kind: Any, default: Any, help: str, *flags: str) -> tuple[Any, Any]:
    return Annotated[kind, typer.Option(*flags, help=help)], default


SHARED: dict[str, tuple[Any, Any]] = {
    # reading a corpus (static trainers)
    "lang": _option(str, "auto", "auto, en or zh (Chinese is segmented with jieba)."),
    "corpus_format": _option(str, "lines", "lines, text or jsonl."),
    "field": _option(str, "text", "JSONL field holding the text."),
    "tokenizer": _option(str, "default", "default or whitespace (pre-tokenized)."),
    "stopwords": _option(Optional[str], None, "Drop stop words: en, zh or en+zh."),
    "lemmatize": _option(Optional[str], None, "Lemmatize tokens: en, fr, de, ... (simplemma)."),
    "lowercase": _option(bool, True, "Lowercase tokens."),
    # the schedule
    "epochs": _option(float, 1.0, "Passes over the data."),
    "max_steps": _option(Optional[int], None, "Stop after N optimizer steps."),
    "max_time": _option(Optional[float], None, "Stop after N seconds; what is done is saved."),
    "batch_size": _option(int, 32, "Examples per micro-batch."),
    "lr": _option(float, 5e-5, "Peak learning rate.", "--lr"),
    "grad_accum": _option(int, 1, "Micro-batches per optimizer step."),
    "warmup": _option(float, 0.06, "Warmup share of the steps."),
    "eval_every": _option(Optional[int], None, "Evaluate every N steps (default: each epoch)."),
    "patience": _option(Optional[int], None, "Stop after N evaluations without gain."),
    # how it runs, and what it leaves
    "seed": _option(int, 42, "Random seed (data order, sampling, dropout)."),
    "workers": _option(Optional[int], None, "Threads (default: all; 1 = reproducible)."),
    "threads": _option(Optional[int], None, "CPU threads for torch."),
    "precision": _option(str, "auto", "auto, fp32, bf16 or fp16."),
    "every": _option(Optional[int], 500, "Checkpoint every N steps."),
    "resume": _option(bool, False, "Continue from the last checkpoint of this output."),
    "tensorboard": _option(Optional[Path], None, "Write TensorBoard scalars to this folder."),
    "wandb": _option(Optional[str], None, "Log to this Weights & Biases project."),
}


class OptionGroup:
    """Shared options (by name, in this order) that decorated commands receive as ``opts``."""

    def __init__(self, *names: str, **defaults: Any) -> None:
        _known(set(names) | set(defaults))
        self.names, self.defaults = names, defaults

    def __call__(
        self, *, without: Iterable[str] = (), **defaults: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        _known(set(without) | set(defaults))
        names = [n for n in self.names if n not in set(without)]
        defaults = {**self.defaults, **defaults}

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            signature = inspect.signature(fn, eval_str=True)
            own = [p for p in signature.parameters.values() if p.name != "opts"]
            added = [
                inspect.Parameter(
                    name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=defaults.get(name, SHARED[name][1]),
                    annotation=SHARED[name][0],
                )
                for name in names
            ]

            @functools.wraps(fn)
            def command(**kwargs: Any) -> Any:
                opts = {name: kwargs.pop(name) for name in names}
                return fn(**kwargs, opts=opts)

            command.__signature__ = signature.replace(parameters=own + added)  # type: ignore[attr-defined]
            return command

        return decorate


def _known(names: set[str]) -> None:
    unknown = names - set(SHARED)
    if unknown:
        raise TypeError(f"no shared option named {', '.join(sorted(unknown))}")
