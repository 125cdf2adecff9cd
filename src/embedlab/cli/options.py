"""Options several commands share, declared once and added to each command by a decorator.

Typer reads a command's options from its signature, so five training commands that share sixteen
options would each spell all sixteen out. An :class:`OptionGroup` holds the shared ones (type, help
and default); used as a decorator it appends them to the command's own parameters, and the command
receives their values together as one ``opts`` dict::

    run = OptionGroup(seed=(Annotated[int, typer.Option(help="Random seed.")], 1), ...)

    @app.command("word2vec")
    @run(seed=7, without=("resume",))   # this command's default; an option it has no use for
    def train_word2vec(corpus: Path, dim: int = 100, *, opts: dict[str, Any]) -> None: ...

``embedlab train word2vec --help`` lists the command's own options first, then the shared ones.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["OptionGroup"]


class OptionGroup:
    """Named options (``name=(Annotated type, default)``) that decorated commands take as ``opts``."""

    def __init__(self, **options: tuple[Any, Any]) -> None:
        self.options = options

    def __call__(
        self, *, without: Iterable[str] = (), **defaults: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        unknown = (set(without) | set(defaults)) - set(self.options)
        if unknown:
            raise TypeError(f"no shared option named {', '.join(sorted(unknown))}")
        names = [n for n in self.options if n not in set(without)]

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            signature = inspect.signature(fn, eval_str=True)
            own = [p for p in signature.parameters.values() if p.name != "opts"]
            added = [
                inspect.Parameter(
                    name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=defaults.get(name, self.options[name][1]),
                    annotation=self.options[name][0],
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
