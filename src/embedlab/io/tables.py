"""Embeddings out: the files ``embedlab embed`` writes (reading records is :mod:`embedlab.records`).

``write_embeddings`` writes ``.npy`` (float32 rows, never pickled) with the ids beside it in
``<name>.ids.txt``, or ``.parquet`` with columns ``id`` and ``embedding``; both atomically.
``write_sparse_embeddings`` does the same for sparse (SPLADE) rows: ``.npz`` (scipy's sparse
format, read back without pickle) with ``<name>.ids.txt`` and the vocabulary in
``<name>.vocab.txt``, or ``.parquet`` with columns ``id``, ``terms`` and ``weights`` (each row's
active terms, strongest first). This module does not encode anything.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError
from ..files import atomic_file
from ..optional import require

logger = logging.getLogger(__name__)

__all__ = ["write_embeddings", "write_sparse_embeddings"]


def _pyarrow() -> Any:
    require("pyarrow.parquet", "parquet", "parquet files")
    return require("pyarrow", "parquet", "parquet files")


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
        pa = _pyarrow()
        terms, weights = [], []
        for r in range(rows.shape[0]):
            start, end = rows.indptr[r], rows.indptr[r + 1]
            order = np.argsort(-rows.data[start:end], kind="stable")
            terms.append([vocab[int(j)] for j in rows.indices[start:end][order]])
            weights.append(rows.data[start:end][order].tolist())
        table = pa.table(
            {
                "id": pa.array(ids, type=pa.string()),
                "terms": pa.array(terms, type=pa.list_(pa.string())),
                "weights": pa.array(weights, type=pa.list_(pa.float32())),
            }
        )
        with atomic_file(p) as f:
            pa.parquet.write_table(table, f)
        return [p]
    raise ParameterError(f"sparse output must end in .npz or .parquet; got {p.name}")
