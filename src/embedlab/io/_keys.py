"""Key decoding and validation shared by the readers and writers.

``KeyDecoder`` turns raw key bytes into str under the ``encoding_errors`` policy and catches
duplicates with the line they were first seen on. Writers call ``check_plain_keys`` for formats whose
keys cannot hold whitespace. Nothing here parses numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import FormatError, ParameterError, check_choice

ENCODING_ERRORS = ("strict", "replace", "ignore")


class KeyDecoder:
    """Decode keys and build ``key_to_index`` in one pass, reporting bad keys with their location."""

    def __init__(self, path: Path, encoding: str, encoding_errors: str) -> None:
        self.path = path
        self.encoding = encoding
        self.errors = check_choice(
            "encoding_errors", "load_vectors", encoding_errors, ENCODING_ERRORS
        )
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.where: list[int] = []  # line (or byte offset) of each key, for duplicate reports
        self.by_offset = False

    def add(self, raw: bytes, where: int) -> None:
        try:
            key = raw.decode(self.encoding, self.errors)
        except UnicodeDecodeError as e:
            raise self._error(
                f"key {raw[:60]!r} is not valid {self.encoding} (byte {raw[e.start]:#04x} at "
                f"position {e.start}); pass encoding_errors='replace' or 'ignore' to load it anyway",
                where,
            ) from None
        except LookupError as e:
            raise ParameterError(f"unknown encoding {self.encoding!r}") from e
        if not key:
            raise self._error("expected a key, found an empty one", where)
        if key in self.index:
            first = self.where[self.index[key]]
            unit = "byte" if self.by_offset else "line"
            raise self._error(f"duplicate key {key!r} (first seen at {unit} {first})", where)
        self.index[key] = len(self.keys)
        self.keys.append(key)
        self.where.append(where)

    def _error(self, message: str, where: int) -> FormatError:
        if self.by_offset:
            return FormatError(self.path, message, offset=where)
        return FormatError(self.path, message, line=where)


def check_plain_keys(keys: Sequence[str], format_name: str) -> None:
    """Reject keys a whitespace-separated format cannot store (empty, or holding whitespace)."""
    for i, key in enumerate(keys):
        if not key or any(ch.isspace() for ch in key):
            raise ParameterError(
                f"key {key!r} at row {i} is empty or holds whitespace, which the {format_name} "
                "format cannot store; save to the native format instead"
            )
