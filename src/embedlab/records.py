"""The one reader of record files (the ground floor): CSV / TSV / JSONL / Parquet / plain lines.

Two views of the same parsing:

- ``read_columns("stsb-en-test.csv", {"text1": 0, "text2": 1, "score": 2}, numeric=["score"])``
  -> ``{"text1": [...], "text2": [...], "score": [...]}`` (evaluation data, training pairs). Columns
  are named by header name or by 0-based position; ``header=None`` guesses (a header is assumed
  when any column is named, or when the first row's numeric columns do not parse). ``.txt`` and
  ``.tsv`` are tab-separated, ``.jsonl`` / ``.json`` one object per line, anything else CSV.
- ``read_records("docs.jsonl", field="text", id_field="id", meta_fields=["lang"])`` ->
  ``(ids, texts, metadata)`` (what ``embed`` and ``index build`` read), in one pass: ``.txt`` is
  one text per line (blank lines skipped; the id is the line number), ``.jsonl`` / ``.csv`` /
  ``.tsv`` name the text, id and metadata fields, ``.parquet`` its columns (pyarrow). Ids default
  to line / row numbers (1-based). ``read_texts`` is the same without metadata; ``iter_records``
  streams the same records one at a time and ``count_records`` counts them (what a job over files
  larger than memory plans with).
- ``read_mapping("server.yaml", "server config")`` -> the one mapping a JSON or YAML settings file
  holds (server configs, evaluation task specs).

Quoted CSV fields may hold commas, quotes and newlines; ``.gz`` / ``.bz2`` work; a URL
(``s3://bucket/docs.jsonl.gz``) is read through fsspec (:mod:`embedlab.remote`); a UTF-8 BOM is
skipped; ``encoding="latin-1"`` reads old files. Every problem is a :class:`FormatError` naming the
file, the line (1-based) and the column or field: a missing column, a short row, a non-numeric
value in a numeric column, invalid JSON, an empty file. This module knows nothing of tasks,
encoders or vectors.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import logging
import math
import os
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import FormatError, ParameterError
from .files import compression_of, open_read
from .optional import require
from .remote import FilePath, RemoteFile, locate

logger = logging.getLogger(__name__)

__all__ = [
    "count_records",
    "iter_records",
    "json_object",
    "read_columns",
    "read_records",
    "read_text_columns",
    "read_texts",
]

Column = str | int
_RECORD_KINDS = (".txt", ".jsonl", ".csv", ".tsv", ".parquet")


def _name(path: FilePath) -> str:
    """The file name without a compression suffix, lowercased: ``"A.JSONL.gz" -> "a.jsonl"``."""
    name = path.name.lower()
    return name.rsplit(".", 1)[0] if compression_of(path) is not None else name


def json_object(path: str | os.PathLike[str], raw: str, line: int) -> dict[str, Any]:
    """One JSONL line as an object, or a FormatError naming the file and line."""
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as e:
        raise FormatError(path, f"not valid JSON: {e.msg}", line=line) from e
    if not isinstance(record, dict):
        raise FormatError(path, f"expected a JSON object, found {type(record).__name__}", line=line)
    return record


def _json_records(path: FilePath, stream: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for each non-blank line of a JSONL stream."""
    for line, raw in enumerate(stream, 1):
        if raw.strip():
            yield line, json_object(path, raw, line)


# -- columns ------------------------------------------------------------------------------------
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
    p = locate(path)
    if not p.exists():
        raise FileNotFoundError(f"no such data file: {p}")
    unknown = set(numeric) - set(columns)
    if unknown:
        raise ParameterError(f"numeric names columns that are not requested: {sorted(unknown)}")
    layout = delimiter
    if layout is None:
        name = _name(p)
        layout = (
            "jsonl" if name.endswith((".jsonl", ".json"))
            else "\t" if name.endswith((".tsv", ".txt", ".tab"))
            else ","
        )  # fmt: skip
    with open_read(p) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            if layout == "jsonl":
                out = _jsonl_columns(p, text, columns)
            else:
                out = _delimited_columns(p, text, columns, numeric, header, layout)
        except UnicodeDecodeError as e:
            raise FormatError(p, f"not valid {encoding} ({e.reason}); pass encoding=") from e
    rows = out.pop("__line__")
    if not rows:
        raise FormatError(p, "no data rows")
    for name in numeric:
        out[name] = [_number(p, v, name, line) for v, line in zip(out[name], rows)]
    return out


def _number(path: FilePath, value: Any, column: str, line: int) -> float:
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


def _delimited_columns(
    path: FilePath,
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


def _index(
    path: FilePath, header: list[str] | None, columns: Mapping[str, Column]
) -> dict[str, int]:
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


def _jsonl_columns(
    path: FilePath, text: io.TextIOWrapper, columns: Mapping[str, Column]
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {name: [] for name in columns}
    out["__line__"] = []
    for line, record in _json_records(path, text):
        for name, key in columns.items():
            if str(key) not in record:
                raise FormatError(
                    path, f"expected a field {key!r} ({name}), found {sorted(record)}", line=line
                )
            out[name].append(record[str(key)])
        out["__line__"].append(line)
    return out


def read_text_columns(
    path: str | os.PathLike[str], columns: Mapping[str, Column | None], **kw: Any
) -> dict[str, list[str]]:
    """:func:`read_columns` for texts: each requested column as strings; a column named ``None``
    (an optional one not asked for) is left out. ``{"text": 0, "pair": None}`` -> ``{"text": [...]}``."""
    got = read_columns(path, {k: c for k, c in columns.items() if c is not None}, **kw)
    return {name: [str(v) for v in values] for name, values in got.items()}


# -- records ------------------------------------------------------------------------------------
Records = tuple[list[str], list[str], list[dict[str, Any]]]


def read_texts(
    path: str | os.PathLike[str], *, field: str = "text", id_field: str | None = "id"
) -> tuple[list[str], list[str]]:
    """``(ids, texts)`` from a record file; ids default to line / row numbers (1-based)."""
    ids, texts, _ = read_records(path, field=field, id_field=id_field)
    return ids, texts


def read_records(
    path: str | os.PathLike[str],
    *,
    field: str = "text",
    id_field: str | None = "id",
    meta_fields: list[str] | None = None,
) -> Records:
    """``(ids, texts, metadata)``: each record's text, its id, and its ``meta_fields``."""
    ids, texts, metas = [], [], []
    for i, text, meta in iter_records(
        path, field=field, id_field=id_field, meta_fields=meta_fields
    ):
        ids.append(i)
        texts.append(text)
        metas.append(meta)
    return ids, texts, metas


def iter_records(
    path: str | os.PathLike[str],
    *,
    field: str = "text",
    id_field: str | None = "id",
    meta_fields: list[str] | None = None,
    number_prefix: str = "",
    skip: int = 0,
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """:func:`read_records` one record at a time, ``(id, text, metadata)``: memory stays flat
    whatever the file's size (a parquet file is read a record batch at a time). Ids made from
    line / row numbers get ``number_prefix`` (``"a.jsonl:"``: unique across several files).
    ``skip`` records are passed over first (a parquet file's row groups before them are not
    read at all; other files are parsed, so a bad record there is still reported). ``path``
    may be a URL (:mod:`embedlab.remote`)."""
    p = locate(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    name = _name(p)
    kind = next(
        (k for k in _RECORD_KINDS if name.endswith(k)), ".jsonl" if name.endswith(".json") else ""
    )
    if not kind:
        raise ParameterError(
            f"cannot tell the layout of {p.name}: use a name ending in {', '.join(_RECORD_KINDS)}"
        )
    meta = list(meta_fields or [])
    if kind == ".parquet":
        yield from _parquet_records(p, field, id_field, meta, number_prefix, skip)
        return
    if kind == ".txt" and meta:
        raise ParameterError(f"{p.name} holds plain lines: it has no fields {meta} to read")
    with open_read(p) as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8", newline="" if kind != ".txt" else None)
        try:
            if kind == ".txt":
                records = _line_records(stream, number_prefix)
            elif kind == ".jsonl":
                records = _jsonl_records(p, stream, field, id_field, meta, number_prefix)
            else:
                delimiter = "\t" if kind == ".tsv" else ","
                records = _csv_records(p, stream, field, id_field, meta, delimiter, number_prefix)
            yield from itertools.islice(records, skip, None)
        except UnicodeDecodeError as e:
            raise FormatError(p, f"not valid UTF-8 ({e.reason})") from e


Record = tuple[str, str, dict[str, Any]]


def _line_records(stream: io.TextIOWrapper, prefix: str) -> Iterator[Record]:
    for number, line in enumerate(stream, 1):
        text = line.rstrip("\r\n")
        if text.strip():
            yield f"{prefix}{number}", text, {}


def _jsonl_records(
    path: FilePath,
    stream: io.TextIOWrapper,
    field: str,
    id_field: str | None,
    meta: list[str],
    prefix: str,
) -> Iterator[Record]:
    for number, record in _json_records(path, stream):
        if field not in record or not isinstance(record[field], str):
            found = sorted(record) if field not in record else type(record[field]).__name__
            raise FormatError(
                path, f"expected a string field {field!r}, found {found}", line=number
            )
        missing = [m for m in meta if m not in record]
        if missing:
            raise FormatError(
                path, f"expected a field {missing[0]!r}, found {sorted(record)}", line=number
            )
        has_id = id_field is not None and id_field in record
        key = str(record[id_field]) if has_id else f"{prefix}{number}"  # type: ignore[index]
        yield key, record[field], {m: record[m] for m in meta}


def _csv_records(
    path: FilePath,
    stream: io.TextIOWrapper,
    field: str,
    id_field: str | None,
    meta: list[str],
    delimiter: str,
    prefix: str,
) -> Iterator[Record]:
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        raise FormatError(path, f"unreadable header ({e})", line=1) from e
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    for name in [field, *meta]:
        if name not in header:
            raise FormatError(
                path, f"expected a column {name!r} in the header, found {header}", line=1
            )
    col = header.index(field)
    id_col = header.index(id_field) if id_field is not None and id_field in header else None
    meta_cols = {m: header.index(m) for m in meta}
    count = 0
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise FormatError(
                    path,
                    f"expected {len(header)} columns as the header, found {len(row)}",
                    line=reader.line_num,
                )
            count += 1
            key = row[id_col] if id_col is not None else f"{prefix}{count}"
            yield key, row[col], {m: row[c] for m, c in meta_cols.items()}
    except csv.Error as e:
        raise FormatError(path, str(e), line=reader.line_num) from e


@contextlib.contextmanager
def _parquet_file(path: FilePath) -> Iterator[Any]:
    """A ``pyarrow.parquet.ParquetFile`` over a path or a URL (read through fsspec)."""
    pq = require("pyarrow.parquet", "parquet", "parquet files")
    pa = require("pyarrow", "parquet", "parquet files")
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(path.open()) if isinstance(path, RemoteFile) else path
        try:
            file = pq.ParquetFile(source)
        except (pa.ArrowInvalid, OSError) as e:
            raise FormatError(path, f"not a readable parquet file ({e})") from e
        yield file


def _parquet_records(
    path: FilePath, field: str, id_field: str | None, meta: list[str], prefix: str, skip: int
) -> Iterator[Record]:
    pa = require("pyarrow", "parquet", "parquet files")
    with _parquet_file(path) as file:
        names = file.schema_arrow.names
        for name in [field, *meta]:
            if name not in names:
                raise FormatError(path, f"expected a column {name!r}, found {names}")
        has_id = id_field is not None and id_field in names
        wanted = list(dict.fromkeys([field, *([id_field] if has_id else []), *meta]))
        groups: list[int] = []
        row = 0  # the row groups wholly before ``skip`` are never read
        for g in range(file.metadata.num_row_groups):
            rows = file.metadata.row_group(g).num_rows
            if row + rows <= skip and not groups:
                row += rows
            else:
                groups.append(g)
        try:
            for batch in file.iter_batches(columns=wanted, batch_size=8192, row_groups=groups):
                columns = {c: batch.column(c).to_pylist() for c in wanted}
                for n, text in enumerate(columns[field]):
                    row += 1
                    if row <= skip:
                        continue
                    if not isinstance(text, str):
                        raise FormatError(
                            path, f"row {row} of column {field!r} is {text!r}, not text"
                        )
                    key = str(columns[id_field][n]) if has_id else f"{prefix}{row}"
                    yield key, text, {m: columns[m][n] for m in meta}
        except (pa.ArrowInvalid, OSError) as e:
            raise FormatError(path, f"not a readable parquet file ({e})") from e


def count_records(path: str | os.PathLike[str], *, field: str = "text") -> int:
    """How many records :func:`iter_records` yields for ``path`` (a parquet file: from its
    footer; anything else: one streaming pass that checks every record as reading it would)."""
    p = locate(path)
    if _name(p).endswith(".parquet"):
        with _parquet_file(p) as file:
            names = file.schema_arrow.names
            if field not in names:
                raise FormatError(p, f"expected a column {field!r}, found {names}")
            return int(file.metadata.num_rows)
    return sum(1 for _ in iter_records(p, field=field, id_field=None))


def read_mapping(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """The mapping a ``.json`` or ``.yaml``/``.yml`` file holds; ``what`` names it in errors."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            yaml = require("yaml", None, f"YAML {what}s (or write JSON)", package="pyyaml")
            raw = yaml.safe_load(text)
        else:
            raw = json.loads(text)
    except (json.JSONDecodeError, ValueError) as e:
        raise FormatError(p, f"not a valid {what}: {e}") from e
    if not isinstance(raw, dict):
        raise FormatError(p, f"a {what} is a mapping, not {type(raw).__name__}")
    return raw
