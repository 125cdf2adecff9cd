"""Reading a stream of dated texts from where the last run stopped: files that grow, and stdin.

``read_stream("news.jsonl", start=position)`` yields :class:`Record` s — the time (Unix seconds;
ISO dates and datetimes are read too), the text, any extra fields — each with the byte offset
just after its line, so a consumer that stores that offset *in the same transaction as what it
did with the record* resumes exactly there: a restart neither skips nor repeats a line. Only
complete lines (ending in a newline) are read; a line still being written waits for the next
call. JSONL and CSV/TSV (with a header, read again on every start) are understood; ``-`` is
stdin, which has no offsets to resume from. A line without a time or a text, or with a time that
is not one, is a :class:`~embedlab.errors.FormatError` naming the file and line, unless
``skip_bad`` is set: then it is counted in ``Position.bad`` and skipped. This module does not
classify or store anything.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from ..errors import FormatError
from ..records import json_object

__all__ = ["Position", "Record", "parse_time", "read_stream"]


@dataclass
class Record:
    time: float
    text: str
    fields: dict[str, Any]
    line: int
    offset: int  # the byte offset just after this record's line


@dataclass
class Position:
    """Where reading stopped: the next byte and line, and how many bad lines were skipped."""

    offset: int = 0
    line: int = 0
    bad: int = 0
    errors: list[str] = field(default_factory=list)


def parse_time(value: Any) -> float:
    """Unix seconds from a number, a numeric string, or an ISO date / datetime (UTC if naive)."""
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError("no time")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def _raw(path: Path | str) -> IO[bytes]:
    return sys.stdin.buffer if str(path) == "-" else open(path, "rb")


def read_stream(
    path: str | os.PathLike[str],
    *,
    start: Position | None = None,
    time_field: str = "time",
    text_field: str = "text",
    skip_bad: bool = False,
) -> Iterator[Record]:
    """The complete lines of ``path`` after ``start`` as records (see the module docstring);
    ``start`` is updated in place as lines are read (bad ones counted when skipped)."""
    pos = start if start is not None else Position()
    source = Path(path) if str(path) != "-" else "-"
    name = str(source)
    is_csv = name.endswith((".csv", ".tsv"))
    delimiter = "\t" if name.endswith(".tsv") else ","
    with _raw(source) as raw:
        header: list[str] | None = None
        if is_csv:
            first = raw.readline()
            if not first.endswith(b"\n"):
                return
            header = next(csv.reader([first.decode("utf-8-sig")], delimiter=delimiter))
            if pos.offset == 0:
                pos.offset, pos.line = len(first), 1
        if pos.offset and source != "-":
            raw.seek(pos.offset)
        while True:
            chunk = raw.readline()
            if not chunk or not chunk.endswith(b"\n"):
                return  # the end, or a line still being written: left for the next call
            number = pos.line + 1
            try:
                record = _parse(chunk, header, delimiter, time_field, text_field, name, number)
            except FormatError as e:
                if not skip_bad:
                    raise
                pos.bad += 1
                if len(pos.errors) < 20:
                    pos.errors.append(str(e))
                pos.offset += len(chunk)
                pos.line = number
                continue
            pos.offset += len(chunk)
            pos.line = number
            if record is None:
                continue  # a blank line
            record.line, record.offset = number, pos.offset
            yield record


def _parse(
    chunk: bytes,
    header: list[str] | None,
    delimiter: str,
    time_field: str,
    text_field: str,
    name: str,
    number: int,
) -> Record | None:
    try:
        line = chunk.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(name, f"expected UTF-8 text: {e.reason}", line=number) from None
    if not line.strip():
        return None
    if header is None:
        row = json_object(name, line, number)
    else:
        values = next(csv.reader(io.StringIO(line), delimiter=delimiter))
        if len(values) != len(header):
            raise FormatError(
                name, f"expected {len(header)} fields, found {len(values)}", line=number
            )
        row = dict(zip(header, values, strict=True))
    text = row.get(text_field)
    if not isinstance(text, str) or not text.strip():
        raise FormatError(name, f"expected a text in {text_field!r}, found {text!r}", line=number)
    try:
        when = parse_time(row.get(time_field))
    except (ValueError, TypeError):
        raise FormatError(
            name, f"expected a time in {time_field!r}, found {row.get(time_field)!r}", line=number
        ) from None
    fields = {k: v for k, v in row.items() if k not in (time_field, text_field)}
    return Record(when, text.strip(), fields, number, 0)
