"""Reading evaluation data files: CSV / TSV / JSONL with column mapping, and the public files' quirks.

``read_columns("stsb-en-test.csv", {"text1": 0, "text2": 1, "score": 2}, numeric=["score"])``
returns ``{"text1": [...], "text2": [...], "score": [...]}``. Columns are named by header name or by
0-based position; ``header=None`` guesses (a header is assumed when any column is named, or when the
first row's numeric columns do not parse). Quoted CSV fields may hold commas, quotes and newlines;
``.gz``/``.bz2`` work; a UTF-8 BOM is skipped; ``encoding="latin-1"`` reads old files. Every problem is
a :class:`FormatError` naming the file, the row (1-based line of the file) and the column: a missing
column, a short row, a non-numeric value in a numeric column, an empty file. This module knows
nothing about tasks.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ..errors import FormatError, ParameterError
from ..files import compression_of, open_read

logger = logging.getLogger(__name__)

__all__ = ["read_columns"]

Column = str | int


def _layout(path: Path, delimiter: str | None) -> str:
    if delimiter is not None:
        return delimiter
    name = path.name.lower()
    if compression_of(path) is not None:
        name = name.rsplit(".", 1)[0]
    if name.endswith((".jsonl", ".json")):
        return "jsonl"
    if name.endswith((".tsv", ".txt", ".tab")):
        return "\t"
    return ","


def read_columns(
    path: str | os.PathLike[str],
    columns: Mapping[str, Column],
    *,
    numeric: Collection[str] = (),
    header: bool | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> dict[str, list[Any]]:
    """The requested columns of a data file, by name; numeric ones as floats."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such data file: {p}")
    unknown = set(numeric) - set(columns)
    if unknown:
        raise ParameterError(f"numeric names columns that are not requested: {sorted(unknown)}")
    layout = _layout(p, delimiter)
    with open_read(p) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            if layout == "jsonl":
                out = _read_jsonl(p, text, columns)
            else:
                out = _read_delimited(p, text, columns, numeric, header, layout)
        except UnicodeDecodeError as e:
            raise FormatError(p, f"not valid {encoding} ({e.reason}); pass encoding=") from e
    rows = out.pop("__line__")
    if not rows:
        raise FormatError(p, "no data rows")
    for name in numeric:
        out[name] = [_number(p, v, name, line) for v, line in zip(out[name], rows)]
    return out


def _number(path: Path, value: Any, column: str, line: int) -> float:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise FormatError(
                path, f"column {column!r}: expected a number, found {value!r}", line=line
            ) from None
    if not math.isfinite(number):
        raise FormatError(
            path, f"column {column!r}: expected a finite number, found {value!r}", line=line
        )
    return number


def _read_delimited(
    path: Path,
    text: io.TextIOWrapper,
    columns: Mapping[str, Column],
    numeric: Collection[str],
    header: bool | None,
    delimiter: str,
) -> dict[str, list[Any]]:
    reader = csv.reader(text, delimiter=delimiter)
    out: dict[str, list[Any]] = {name: [] for name in columns}
    out["__line__"] = []
    first: list[str] | None = None
    index: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if first is None:
                first = row
                if first and first[0].startswith("\ufeff"):
                    first[0] = first[0][1:]
                has_header = _guess_header(first, columns, numeric) if header is None else header
                index = _index(path, first if has_header else None, columns)
                if has_header:
                    continue
            for name, col in index.items():
                if col >= len(row):
                    raise FormatError(
                        path,
                        f"column {name!r} (position {col}) is missing: the row has {len(row)} "
                        f"fields",
                        line=line,
                    )
                out[name].append(row[col])
            out["__line__"].append(line)
    except csv.Error as e:
        raise FormatError(path, f"unreadable row ({e})", line=reader.line_num) from e
    return out


def _guess_header(row: list[str], columns: Mapping[str, Column], numeric: Collection[str]) -> bool:
    if any(isinstance(c, str) for c in columns.values()):
        return True
    for name in numeric:
        col = columns[name]
        if isinstance(col, int) and col < len(row):
            try:
                float(row[col])
            except ValueError:
                return True
    return False


def _index(path: Path, header: list[str] | None, columns: Mapping[str, Column]) -> dict[str, int]:
    index = {}
    for name, col in columns.items():
        if isinstance(col, int):
            index[name] = col
        elif header is None:
            raise ParameterError(f"column {name!r} is named {col!r} but the file has no header")
        elif col not in header:
            raise FormatError(
                path, f"expected a column {col!r} ({name}) in the header, found {header}", line=1
            )
        else:
            index[name] = header.index(col)
    return index


def _read_jsonl(
    path: Path, text: io.TextIOWrapper, columns: Mapping[str, Column]
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {name: [] for name in columns}
    out["__line__"] = []
    for line, raw in enumerate(text, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as e:
            raise FormatError(path, f"not valid JSON: {e.msg}", line=line) from e
        if not isinstance(record, dict):
            raise FormatError(
                path, f"expected a JSON object, found {type(record).__name__}", line=line
            )
        for name, key in columns.items():
            if str(key) not in record:
                raise FormatError(
                    path, f"expected a field {key!r} ({name}), found {sorted(record)}", line=line
                )
            out[name].append(record[str(key)])
        out["__line__"].append(line)
    return out
