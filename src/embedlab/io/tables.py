"""Texts in, embeddings out: the record files ``embedlab embed`` reads and writes.

``read_texts`` reads ``.txt`` (one text per line, blank lines skipped, the id is the line number),
``.jsonl`` (one object per line; ``field`` names the text, ``id_field`` the id), ``.csv`` / ``.tsv``
(a header row; ``field`` names the text column, ``id_field`` the id column) and ``.parquet``
(pyarrow). Plain, ``.gz`` and ``.bz2`` text files work. ``write_embeddings`` writes ``.npy`` (float32
rows, never pickled) with the ids beside it in ``<name>.ids.txt``, or ``.parquet`` with columns
``id`` and ``embedding``; both atomically. A record without its field is a :class:`FormatError`
naming the file, the line and the keys found. This module does not encode anything.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError
from ..files import atomic_file, compression_of, open_read
from ..optional import require

logger = logging.getLogger(__name__)

__all__ = ["read_records", "read_texts", "write_embeddings"]

_TEXT_KINDS = (".txt", ".jsonl", ".csv", ".tsv", ".parquet")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if compression_of(path) is not None:
        name = name.rsplit(".", 1)[0]
    for kind in _TEXT_KINDS:
        if name.endswith(kind):
            return kind
    if name.endswith(".json"):
        return ".jsonl"
    raise ParameterError(
        f"cannot tell the layout of {path.name}: use a name ending in {', '.join(_TEXT_KINDS)}"
    )


def read_texts(
    path: str | os.PathLike[str], *, field: str = "text", id_field: str | None = "id"
) -> tuple[list[str], list[str]]:
    """``(ids, texts)`` from a record file; ids default to line / row numbers (1-based)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    kind = _kind(p)
    if kind == ".parquet":
        return _read_parquet(p, field, id_field)
    with open_read(p) as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8", newline="" if kind != ".txt" else None)
        try:
            if kind == ".txt":
                return _read_lines(stream)
            if kind == ".jsonl":
                return _read_jsonl(p, stream, field, id_field)
            return _read_csv(p, stream, field, id_field, "\t" if kind == ".tsv" else ",")
        except UnicodeDecodeError as e:
            raise FormatError(p, f"not valid UTF-8 ({e.reason})") from e


def read_records(
    path: str | os.PathLike[str],
    *,
    field: str = "text",
    id_field: str | None = "id",
    meta_fields: list[str] | None = None,
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """``(ids, texts, metadata)``: as :func:`read_texts`, plus the named fields of each record."""
    ids, texts = read_texts(path, field=field, id_field=id_field)
    if not meta_fields:
        return ids, texts, [{} for _ in ids]
    from ..evaluate.loaders import read_columns

    cols = read_columns(path, {m: m for m in meta_fields})
    if len(next(iter(cols.values()))) != len(ids):
        raise FormatError(path, "some records have no text; metadata cannot be aligned")
    metas = [{m: cols[m][n] for m in meta_fields} for n in range(len(ids))]
    return ids, texts, metas


def _read_lines(stream: io.TextIOWrapper) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    for number, line in enumerate(stream, 1):
        text = line.rstrip("\r\n")
        if text.strip():
            ids.append(str(number))
            texts.append(text)
    return ids, texts


def _read_jsonl(
    path: Path, stream: io.TextIOWrapper, field: str, id_field: str | None
) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise FormatError(path, f"not valid JSON: {e.msg}", line=number) from e
        if not isinstance(record, dict):
            raise FormatError(
                path, f"expected a JSON object, found {type(record).__name__}", line=number
            )
        if field not in record or not isinstance(record[field], str):
            found = sorted(record) if field not in record else type(record[field]).__name__
            raise FormatError(
                path, f"expected a string field {field!r}, found {found}", line=number
            )
        texts.append(record[field])
        has_id = id_field is not None and id_field in record
        ids.append(str(record[id_field]) if has_id else str(number))
    return ids, texts


def _read_csv(
    path: Path, stream: io.TextIOWrapper, field: str, id_field: str | None, delimiter: str
) -> tuple[list[str], list[str]]:
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return [], []
    except csv.Error as e:
        raise FormatError(path, f"unreadable header ({e})", line=1) from e
    if field not in header:
        raise FormatError(
            path, f"expected a column {field!r} in the header, found {header}", line=1
        )
    col = header.index(field)
    id_col = header.index(id_field) if id_field is not None and id_field in header else None
    ids, texts = [], []
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
            texts.append(row[col])
            ids.append(row[id_col] if id_col is not None else str(len(texts)))
    except csv.Error as e:
        raise FormatError(path, str(e), line=reader.line_num) from e
    return ids, texts


def _pyarrow() -> Any:
    require("pyarrow.parquet", "parquet", "parquet files")
    return require("pyarrow", "parquet", "parquet files")


def _read_parquet(path: Path, field: str, id_field: str | None) -> tuple[list[str], list[str]]:
    pa = _pyarrow()
    try:
        table = pa.parquet.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise FormatError(path, f"not a readable parquet file ({e})") from e
    if field not in table.column_names:
        raise FormatError(path, f"expected a column {field!r}, found {table.column_names}")
    texts = table.column(field).to_pylist()
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise FormatError(path, f"row {bad + 1} of column {field!r} is {texts[bad]!r}, not text")
    if id_field is not None and id_field in table.column_names:
        ids = [str(x) for x in table.column(id_field).to_pylist()]
    else:
        ids = [str(i) for i in range(1, len(texts) + 1)]
    return ids, texts


def write_embeddings(
    path: str | os.PathLike[str], ids: list[str], vectors: npt.NDArray[np.float32]
) -> list[Path]:
    """Write ``.npy`` (+ ``.ids.txt``) or ``.parquet``; returns the files written."""
    p = Path(path)
    if len(ids) != len(vectors):
        raise ParameterError(f"{len(ids)} ids but {len(vectors)} vectors")
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        with atomic_file(p) as f:
            np.save(f, matrix, allow_pickle=False)
        ids_file = p.with_suffix(".ids.txt")
        with atomic_file(ids_file) as f:
            for i in ids:
                if "\n" in i or "\r" in i:
                    raise ParameterError(f"id {i!r} holds a line break; use .parquet output")
                f.write(i.encode("utf-8") + b"\n")
        return [p, ids_file]
    if suffix == ".parquet":
        pa = _pyarrow()
        dim = matrix.shape[1] if matrix.ndim == 2 else 0
        flat = pa.array(matrix.reshape(-1), type=pa.float32())
        table = pa.table(
            {
                "id": pa.array(ids, type=pa.string()),
                "embedding": pa.FixedSizeListArray.from_arrays(flat, dim),
            }
        )
        with atomic_file(p) as f:
            pa.parquet.write_table(table, f)
        return [p]
    raise ParameterError(f"the output must end in .npy or .parquet; got {p.name}")
