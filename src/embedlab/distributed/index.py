"""A search collection from a folder of embedding shards: ``index_shards(shards, out, ...)``.

The shards are Parquet files with an ``id`` and an ``embedding`` column (a fixed-size or plain list
of floats): what :func:`~embedlab.distributed.embed_dataset` writes, or anyone's. They are read one
record batch at a time and bulk-loaded (:meth:`embedlab.search.Collection.add_batches`): every
batch's vectors are appended to the collection's memory-mapped segments as it arrives, and the HNSW
graph is built after the last one, so the whole matrix is never held twice.

Texts: a shard's own ``text`` column when it has one; else, for a folder an embedlab job wrote,
the job's input records, read back shard by shard and checked against the ``text_sha1`` column (an
input changed since it was embedded is an error, not a silent mismatch); else none (the collection
is searched densely, its documents are their ids). The encoder that queries the collection is the
job's, or ``model``; its width must be the vectors'.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, ParameterError
from ..optional import require
from .shards import Shard, ShardPlan, shard_records, text_sha1

__all__ = ["index_shards", "shard_files"]


def shard_files(folder: Path) -> list[Path]:
    """The Parquet shards of ``folder`` in name order (a job's ``part-*``, or any ``*.parquet``)."""
    files = sorted(f for f in folder.glob("*.parquet") if not f.name.startswith((".", "_")))
    if not files:
        raise ParameterError(f"{folder} holds no .parquet shards")
    return files


def index_shards(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    model: str | None = None,
    index: str = "hnsw",
    meta_fields: list[str] | None = None,
    encoder: Any = None,
) -> Any:
    """Build the collection ``out`` from the shards in ``folder``; returns it (open)."""
    from ..encoders import load_encoder
    from ..search import Collection

    root = Path(folder)
    plan = ShardPlan.load(root)
    if meta_fields and plan is None:
        raise ParameterError("metadata fields come from a job's inputs; the folder has no job plan")
    done = plan.done(root) if plan is not None else set()
    if plan is not None and len(done) != len(plan.shards):
        missing = len(plan.shards) - len(done)
        raise ParameterError(
            f"{root} is an unfinished job ({missing:,} of {len(plan.shards):,} shards missing); "
            "rerun the embed job first"
        )
    files = [root / s.name for s in plan.shards] if plan is not None else shard_files(root)
    recorded = {} if plan is None else plan.settings["encoder"]
    if recorded.get("sparse"):
        raise ParameterError(f"{root} holds sparse (SPLADE) shards; a collection needs dense ones")
    source = model or recorded.get("model")
    if encoder is None:
        if model is None and (plan is None or "factory" in recorded):
            raise ParameterError(
                f"{root} does not say which encoder made its vectors: give --model (queries "
                "are encoded with it)"
            )
        encoder = load_encoder(source)
    target = Path(out)
    fresh = not target.exists()
    col = Collection.create(target, encoder, index=index, source=source)  # type: ignore[arg-type]
    try:
        col.add_batches(_batches(files, plan, meta_fields))
    except BaseException:
        col.close()
        if fresh:  # the folder this call made, empty of documents: gone, so a rerun can build
            shutil.rmtree(target, ignore_errors=True)
        raise
    return col


def _batches(
    files: list[Path], plan: ShardPlan | None, meta_fields: list[str] | None
) -> Iterator[tuple[list[str], list[str], list[dict[str, Any]] | None, np.ndarray]]:
    pq = require("pyarrow.parquet", "parquet", "Parquet shards")
    shards = {s.name: s for s in plan.shards} if plan is not None else {}
    for path in files:
        try:
            file = pq.ParquetFile(path)
            names = file.schema_arrow.names
            for column in ("id", "embedding"):
                if column not in names:
                    raise FormatError(path, f"expected a column {column!r}, found {names}")
            # a job's shard is one batch (its records are read back whole); anyone's file is
            # read a record batch at a time, whatever its size
            pieces = [file.read()] if path.name in shards else file.iter_batches(batch_size=8192)
            for table in pieces:
                yield _batch(path, table, shards.get(path.name), plan, meta_fields)
        except (OSError, ValueError) as e:
            if isinstance(e, FormatError):
                raise
            raise FormatError(path, f"not a readable parquet file ({e})") from e


def _batch(
    path: Path, table: Any, shard: Shard | None, plan: ShardPlan | None, meta: list[str] | None
) -> tuple[list[str], list[str], list[dict[str, Any]] | None, np.ndarray]:
    ids = [str(i) for i in table.column("id").to_pylist()]
    vectors = _matrix(path, table.column("embedding"))
    if "text" in table.column_names:
        return ids, [str(t) for t in table.column("text").to_pylist()], None, vectors
    if shard is None or plan is None:
        return ids, ids, None, vectors  # no texts anywhere: the ids stand for them
    settings = plan.settings
    got_ids, texts, metas = shard_records(
        shard, field=settings["field"], id_field=settings["id_field"], meta_fields=meta
    )
    hashes = table.column("text_sha1").to_pylist() if "text_sha1" in table.column_names else None
    for i, text in enumerate(texts):
        if got_ids[i] != ids[i] or (hashes is not None and text_sha1(text) != hashes[i]):
            raise FormatError(
                shard.path,
                f"record {shard.start + i + 1} is not the one {path.name} embedded (the input "
                "changed since the job ran)",
            )
    return ids, texts, metas if meta else None, vectors


def _matrix(path: Path, column: Any) -> np.ndarray:
    pa = require("pyarrow", "parquet", "Parquet shards")
    chunked = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if pa.types.is_fixed_size_list(chunked.type):
        flat = chunked.flatten().to_numpy(zero_copy_only=False)
        return np.asarray(flat, dtype=np.float32).reshape(len(chunked), chunked.type.list_size)
    rows = chunked.to_pylist()
    widths = {len(r) for r in rows if r is not None}
    if None in rows or len(widths) > 1:
        raise FormatError(
            path, f"expected one vector width in 'embedding', found {sorted(widths)} or nulls"
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
