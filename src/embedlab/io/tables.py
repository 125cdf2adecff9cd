"""Embeddings out: the files ``embedlab embed`` writes (reading records is :mod:`embedlab.records`).

``write_embeddings`` writes ``.npy`` (float32 rows, never pickled) with the ids beside it in
``<name>.ids.txt``, or ``.parquet`` with columns ``id`` and ``embedding``; both atomically. This
module does not encode anything.
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

__all__ = ["write_embeddings"]


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
