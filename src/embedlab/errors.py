"""Every exception embedlab raises, in one place.

Each exception also inherits the matching builtin, so ``except ValueError`` or ``except KeyError``
keeps working for code that does not know embedlab::

    EmbedlabError (Exception)
    ├── ParameterError (ValueError)          a parameter got a value outside its allowed set
    ├── FormatError (ValueError)             a file is malformed: names file, line/offset, expected, found
    ├── KeyNotFoundError (KeyError)          a key is not in the vocabulary of a Vectors
    ├── NotFittedError (ValueError, AttributeError)
    │                                        an estimator was used before ``fit``
    ├── MissingDependencyError (ImportError) an optional extra is not installed; names the pip command
    ├── QueueFull (RuntimeError)             too many texts wait for one served model (HTTP 503)
    └── WorkerDied (RuntimeError)            a model's own process went away during a call
        └── WorkerTimeout                    ... or did not answer in time, and was stopped

    LongTextWarning (UserWarning)            inputs longer than an encoder's max_length were cut
    SkippedInputWarning (UserWarning)        a folder's unreadable files were left out, each named

This module does not format CLI output: the CLI prints ``ErrorType: message`` for any of these.
"""

from __future__ import annotations

import os

__all__ = [
    "EmbedlabError",
    "FormatError",
    "KeyNotFoundError",
    "LongTextWarning",
    "MissingDependencyError",
    "NotFittedError",
    "ParameterError",
    "QueueFull",
    "SkippedInputWarning",
    "WorkerDied",
    "WorkerTimeout",
]


class EmbedlabError(Exception):
    """Base class of every embedlab exception."""


class ParameterError(EmbedlabError, ValueError):
    """A parameter received a value outside its allowed set."""


class FormatError(EmbedlabError, ValueError):
    """A file does not follow the format it claims to be in.

    The message names the file, where in it (line or byte offset), what was expected and what was
    found, e.g. ``vectors.txt, line 7: expected 300 floats after the key, found 299``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        message: str,
        *,
        line: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.offset = offset
        self.detail = message
        where = [self.path or "<stream>"]
        if line is not None:
            where.append(f"line {line}")
        if offset is not None:
            where.append(f"byte {offset}")
        super().__init__(f"{', '.join(where)}: {message}")


class KeyNotFoundError(EmbedlabError, KeyError):
    """A key is not present in a :class:`~embedlab.Vectors`."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes
        return str(self.args[0]) if self.args else ""


class NotFittedError(EmbedlabError, ValueError, AttributeError):
    """An estimator was used before ``fit`` was called."""


class MissingDependencyError(EmbedlabError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class QueueFull(EmbedlabError, RuntimeError):
    """Too many texts are already waiting for this model."""


class WorkerDied(EmbedlabError, RuntimeError):
    """The encoder process went away in the middle of a call."""


class WorkerTimeout(WorkerDied):
    """The encoder process did not answer a call in time; it was killed (restarted on next use)."""


class LongTextWarning(UserWarning):
    """Some inputs were longer than the encoder's ``max_length`` and were truncated."""


class SkippedInputWarning(UserWarning):
    """Some inputs of a batch (an undecodable image in a folder) were left out; each is named."""


def missing_dependency(
    module: str,
    extra: str | None,
    feature: str | None = None,
    *,
    package: str | None = None,
    instead: str | None = None,
) -> MissingDependencyError:
    """The error for a missing optional module: ``missing_dependency("jieba", "zh", "Chinese
    segmentation")`` -> ``jieba is needed for Chinese segmentation: pip install 'embedlab[zh]'``. With
    ``extra=None`` the command names the package itself (``package``, default the module);
    ``instead`` adds what works without it."""
    command = f"pip install 'embedlab[{extra}]'" if extra else f"pip install {package or module}"
    alternative = f" (or {instead})" if instead else ""
    return MissingDependencyError(
        f"{module} is needed for {feature or 'this feature'}: {command}{alternative}"
    )


def check_choice(name: str, owner: str, value: object, allowed: tuple[str, ...]) -> str:
    """Validate a string option: ``check_choice("method", "analogy", "x", ("3cosadd",))`` raises.

    Accepts str enums too (their value is compared). Returns the plain string.
    """
    raw = getattr(value, "value", value)
    if not isinstance(raw, str) or raw not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be one of {choices}. Got {value!r} instead."
        )
    return raw
