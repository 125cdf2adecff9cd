"""Embeddings out: the files ``embedlab embed`` writes (reading records is :mod:`embedlab.records`).

``write_embeddings`` writes ``.npy`` (float32 rows, never pickled) with the ids beside it in
``<name>.ids.txt``, or ``.parquet`` with columns ``id`` and ``embedding``; both atomically.
``write_sparse_embeddings`` does the same for sparse (SPLADE) rows: ``.npz`` (scipy's sparse
format, read back without pickle) with ``<name>.ids.txt`` and the vocabulary in
``<name>.vocab.txt``, or ``.parquet`` with columns ``id``, ``terms`` and ``weights`` (each row's
active terms, strongest first). This module does not encode anything.

``read_embeddings`` reads the dense files back (a bare ``.npy`` too: its ids are the row numbers),
with a parquet file's other scalar columns as metadata; ``read_metadata`` reads metadata columns
for given ids from a ``.tsv`` / ``.csv`` / ``.jsonl`` / ``.parquet`` file, joined on its ``id``
column when it has one, else row by row (TensorBoard's ``metadata.tsv``, a single column without
header, included). The projector shows both.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError
from ..files import atomic_file, compression_of, open_read
from ..optional import require
from ..records import json_object

logger = logging.getLogger(__name__)

__all__ = [
    "embeddings_table",
    "is_scalar",
    "read_embeddings",
    "read_metadata",
    "sparse_embeddings_table",
    "write_embeddings",
    "write_sparse_embeddings",
]


def _pyarrow() -> Any:
    require("pyarrow.parquet", "parquet", "parquet files")
    return require("pyarrow", "parquet", "parquet files")


def embeddings_table(ids: list[str], vectors: npt.NDArray[np.float32]) -> Any:
    """The pyarrow table ``.parquet`` output holds: ``id`` (string) and ``embedding`` (a
    fixed-size list of float32)."""
    pa = _pyarrow()
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = matrix.shape[1] if matrix.ndim == 2 else 0
    flat = pa.array(matrix.reshape(-1), type=pa.float32())
    return pa.table(
        {
            "id": pa.array(ids, type=pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(flat, dim),
        }
    )


def sparse_embeddings_table(ids: list[str], matrix: Any, vocab: list[str]) -> Any:
    """The pyarrow table sparse ``.parquet`` output holds: ``id``, ``terms`` and ``weights``
    (each row's active terms, strongest first)."""
    pa = _pyarrow()
    rows = matrix.tocsr()
    terms, weights = [], []
    for r in range(rows.shape[0]):
        start, end = rows.indptr[r], rows.indptr[r + 1]
        order = np.argsort(-rows.data[start:end], kind="stable")
        terms.append([vocab[int(j)] for j in rows.indices[start:end][order]])
        weights.append(rows.data[start:end][order].tolist())
    return pa.table(
        {
            "id": pa.array(ids, type=pa.string()),
            "terms": pa.array(terms, type=pa.list_(pa.string())),
            "weights": pa.array(weights, type=pa.list_(pa.float32())),
        }
    )


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
        return [p, _write_lines(p.with_suffix(".ids.txt"), ids, "id")]
    if suffix == ".parquet":
        table = embeddings_table(ids, matrix)
        with atomic_file(p) as f:
            _pyarrow().parquet.write_table(table, f)
        return [p]
    raise ParameterError(f"the output must end in .npy or .parquet; got {p.name}")


def _write_lines(path: Path, items: list[str], what: str) -> Path:
    with atomic_file(path) as f:
        for i in items:
            if "\n" in i or "\r" in i:
                raise ParameterError(f"{what} {i!r} holds a line break; use .parquet output")
            f.write(i.encode("utf-8") + b"\n")
    return path


def write_sparse_embeddings(
    path: str | os.PathLike[str], ids: list[str], matrix: Any, vocab: list[str]
) -> list[Path]:
    """Write sparse rows as ``.npz`` (+ ``.ids.txt``, ``.vocab.txt``) or ``.parquet``."""
    sparse = require("scipy.sparse", None, "sparse vectors", package="scipy")
    p = Path(path)
    rows = sparse.csr_matrix(matrix, dtype=np.float32)
    if len(ids) != rows.shape[0] or len(vocab) != rows.shape[1]:
        raise ParameterError(
            f"{len(ids)} ids and {len(vocab)} terms for a {rows.shape[0]} x {rows.shape[1]} matrix"
        )
    suffix = p.suffix.lower()
    if suffix == ".npz":
        with atomic_file(p) as f:
            sparse.save_npz(f, rows)
        stem = p.with_suffix("")
        return [
            p,
            _write_lines(stem.with_suffix(".ids.txt"), ids, "id"),
            _write_lines(stem.with_suffix(".vocab.txt"), vocab, "term"),
        ]
    if suffix == ".parquet":
        table = sparse_embeddings_table(ids, rows, vocab)
        with atomic_file(p) as f:
            _pyarrow().parquet.write_table(table, f)
        return [p]
    raise ParameterError(f"sparse output must end in .npz or .parquet; got {p.name}")


def read_embeddings(
    path: str | os.PathLike[str],
) -> tuple[list[str], npt.NDArray[np.float32], dict[str, list[Any]]]:
    """``(ids, rows, columns)`` of an ``embed`` output: ``.npy`` (ids from ``.ids.txt`` beside
    it, else row numbers) or ``.parquet`` (columns ``embedding``, ``id`` if present, and any
    other scalar column as metadata)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such embeddings file: {p}")
    if p.suffix.lower() == ".npy":
        try:
            array = np.load(p, mmap_mode="r", allow_pickle=False)
        except ValueError as e:  # an object array, a broken header
            raise FormatError(p, f"not a numeric .npy array ({e})") from None
        if array.ndim != 2 or array.dtype.kind not in "fiu":
            raise FormatError(
                p, f"expected a 2-D array of numbers, found shape {array.shape} {array.dtype}"
            )
        names = p.with_suffix(".ids.txt")
        ids = _lines(names) if names.exists() else [str(i) for i in range(len(array))]
        if len(ids) != len(array):
            raise FormatError(names, f"expected {len(array)} ids (one a row), found {len(ids)}")
        return ids, np.asarray(array, dtype=np.float32), {}
    if p.suffix.lower() == ".parquet":
        return _parquet_embeddings(p)
    raise ParameterError(f"embeddings files end in .npy or .parquet; got {p.name}")


def _lines(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="\n") as f:
        return [line.rstrip("\n").removesuffix("\r") for line in f]


def _parquet_embeddings(
    p: Path,
) -> tuple[list[str], npt.NDArray[np.float32], dict[str, list[Any]]]:
    pa = _pyarrow()
    try:
        table = pa.parquet.read_table(p)
    except (pa.ArrowInvalid, OSError) as e:
        raise FormatError(p, f"not a readable parquet file ({e})") from None
    if "embedding" not in table.column_names:
        raise FormatError(p, f"expected a column 'embedding', found {table.column_names}")
    rows = table.column("embedding").to_pylist()
    width = next((len(r) for r in rows if r is not None), 0)
    bad = next((i for i, r in enumerate(rows) if r is None or len(r) != width), None)
    if bad is not None:
        raise FormatError(p, f"row {bad + 1} of 'embedding' is not a list of {width} floats")
    matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), width)
    if "id" in table.column_names:
        ids = [str(x) for x in table.column("id").to_pylist()]
    else:
        ids = [str(i) for i in range(len(rows))]
    columns = {}
    for name in table.column_names:
        if name not in ("id", "embedding"):
            values = table.column(name).to_pylist()
            if all(v is None or is_scalar(v) for v in values):
                columns[name] = values
    return ids, matrix, columns


def is_scalar(value: Any) -> bool:
    """A text or a number (not a bool, a list, a mapping): a value a column can be coloured by."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def read_metadata(path: str | os.PathLike[str], ids: list[str]) -> dict[str, list[Any]]:
    """Columns of a metadata file for ``ids`` (in their order): joined on the file's ``id``
    column (an id it lacks gets ``None``), or else row by row, when it has as many rows as there
    are ids. Numbers stay numbers in JSONL and parquet; in TSV/CSV every value is text."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such metadata file: {p}")
    name = p.name.lower()
    if compression_of(p) is not None:
        name = name.rsplit(".", 1)[0]
    if name.endswith(".parquet"):
        pa = _pyarrow()
        try:
            table = pa.parquet.read_table(p).to_pydict()
        except (pa.ArrowInvalid, OSError) as e:
            raise FormatError(p, f"not a readable parquet file ({e})") from None
        header, rows = list(table), [list(r) for r in zip(*table.values())]
    else:
        try:
            if name.endswith((".jsonl", ".json")):
                header, rows = _jsonl_table(p)
            else:
                header, rows = _delimited_table(p, "," if name.endswith(".csv") else "\t", len(ids))
        except UnicodeDecodeError as e:
            raise FormatError(p, f"not valid UTF-8 ({e.reason} at byte {e.start})") from None
    if "id" in header and len(header) > 1:
        at = header.index("id")
        by_id = {str(r[at]): r for r in rows}
        picked = [by_id.get(i) for i in ids]
    elif len(rows) == len(ids):
        picked = list(rows)
    else:
        raise FormatError(
            p, f"expected an 'id' column or one row a point ({len(ids)}), found {len(rows)} rows"
        )
    return {
        col: [None if r is None or not is_scalar(r[j]) else r[j] for r in picked]
        for j, col in enumerate(header)
        if col != "id"
    }


def _jsonl_table(p: Path) -> tuple[list[str], list[list[Any]]]:
    records = []
    with open_read(p) as raw, io.TextIOWrapper(raw, encoding="utf-8") as stream:
        for line, text in enumerate(stream, 1):
            if text.strip():
                records.append(json_object(p, text, line))
    header = list(dict.fromkeys(k for r in records for k in r))
    return header, [[r.get(k) for k in header] for r in records]


def _delimited_table(p: Path, delimiter: str, points: int) -> tuple[list[str], list[list[Any]]]:
    with open_read(p) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        try:
            rows = [(reader.line_num, row) for row in reader if row]
        except csv.Error as e:
            raise FormatError(p, f"unreadable row ({e})", line=reader.line_num) from None
    if not rows:
        raise FormatError(p, "no rows")
    if len(rows[0][1]) == 1 and len(rows) == points:  # TensorBoard: one column has no header
        return ["label"], [row for _, row in rows]
    header = rows[0][1]
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise FormatError(p, f"expected {len(header)} fields as the header, found {len(row)}",
                              line=line)  # fmt: skip
    return header, [row for _, row in rows[1:]]
