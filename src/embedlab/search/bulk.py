"""Bulk loading: :meth:`Collection.add_batches` puts documents that arrive batch by batch (the
embedding shards of a Ray job, a corpus read as a stream) into a collection in one commit and in
bounded memory.

It is what :meth:`Collection.add` does, spread out. Each batch's vectors go to a segment file of
their own as they arrive (named as pending in the state first, so a crash leaves them for the next
writer to sweep); its rows go to a staging table, not to ``docs``, so readers never see a document
of an unfinished commit and the texts are not held in memory; its BM25 postings are added without
recomputing the weights. After the last batch the dense index is built from the new segments,
read back memory-mapped a chunk at a time ("HNSW built after"), BM25's weights are computed once,
and one commit moves the staged rows into ``docs`` together with the new state. Peak memory is the
index itself (an HNSW graph holds its vectors) and one batch, not the whole matrix twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError
from ..files import atomic_file, load_npy
from ..rows import normalized
from ._store import transaction

if TYPE_CHECKING:
    from .collection import Collection

__all__ = ["STAGING", "Batch", "add_batches"]

Batch = tuple[Sequence[str], Sequence[str], Sequence[Mapping[str, Any]] | None, npt.ArrayLike]
STAGING = "docs_staging"


def add_batches(col: Collection, batches: Iterable[Batch], *, chunk_rows: int = 65536) -> int:
    """Add ``(ids, texts, metadata or None, vectors)`` batches as one commit; returns the count."""
    con = col._con
    with col._writing():
        gen = col.generation + 1
        col._announce(gen, [])
        with transaction(con):
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {STAGING} (id TEXT PRIMARY KEY, text TEXT NOT NULL, "
                "meta TEXT NOT NULL, row INTEGER NOT NULL)"
            )
            con.execute(f"DELETE FROM {STAGING}")  # what a crashed bulk load left
        first, total, segments = col._rows_total, 0, []
        for n, (ids, texts, metadata, vectors) in enumerate(batches):
            keys = [str(i) for i in ids]
            metas = [dict(m) for m in metadata] if metadata is not None else [{} for _ in keys]
            if not len(keys) == len(texts) == len(metas):
                raise ParameterError(f"batch {n + 1}: ids, texts and metadata differ in length")
            matrix = normalized(np.asarray(vectors, dtype=np.float32).reshape(len(keys), -1))
            if matrix.shape[1] != col.encoder.dim:
                raise ParameterError(
                    f"batch {n + 1}: expected {col.encoder.dim}-dim vectors, got {matrix.shape[1]}"
                )
            if not keys:
                continue
            segment = f"seg-{gen:06d}-{n:05d}.npy"
            with transaction(con):
                state = col._state()
                state["pending"] = [*state["pending"], segment]
                col._put_state(state)
            with atomic_file(col.folder / segment) as f:
                np.save(f, matrix, allow_pickle=False)
            segments.append((segment, first + total, len(keys)))
            rows = [
                (k, t, json.dumps(m, ensure_ascii=False), first + total + i)
                for i, (k, t, m) in enumerate(zip(keys, texts, metas))
            ]
            try:
                with transaction(con):
                    con.executemany(f"INSERT INTO {STAGING} VALUES (?, ?, ?, ?)", rows)
            except sqlite3.IntegrityError:
                raise ParameterError(f"batch {n + 1}: {_repeated(con, keys)}") from None
            if col.content == "texts":
                col._bm25.add(keys, list(texts), rebuild=False)
            if col.splade is not None:
                col._splade.add(keys, col._sparse_encoder().encode_document(list(texts)))
            total += len(keys)
        for segment, row, count in segments:  # the dense index, from the segments on disk
            stored = load_npy(col.folder / segment, mmap=True)
            for lo in range(0, count, chunk_rows):
                part = np.asarray(stored[lo : lo + chunk_rows], dtype=np.float32)
                found = con.execute(
                    f"SELECT id FROM {STAGING} WHERE row >= ? AND row < ? ORDER BY row",
                    (row + lo, row + lo + len(part)),
                )
                col._dense.add([r[0] for r in found], part)
        col._bm25.rebuild()
        col._commit(gen, [*col._segments, *(s[0] for s in segments)], staged=True)
        col._rows_total += total
        col._sweep()
    return total


def move_staged(con: sqlite3.Connection) -> None:
    """Inside the commit's transaction: the staged rows into ``docs`` (same ids replace)."""
    con.execute(
        f"INSERT INTO docs SELECT id, text, meta, row FROM {STAGING} WHERE true "
        "ON CONFLICT(id) DO UPDATE SET text=excluded.text, meta=excluded.meta, row=excluded.row"
    )
    con.execute(f"DELETE FROM {STAGING}")


def _repeated(con: sqlite3.Connection, keys: list[str]) -> str:
    seen: set[str] = set()
    for k in keys:
        if k in seen:
            return f"the id {k!r} appears twice"
        seen.add(k)
    for k in keys:
        if con.execute(f"SELECT 1 FROM {STAGING} WHERE id=?", (k,)).fetchone():
            return f"the id {k!r} appears in an earlier batch too"
    return "an id appears twice"  # pragma: no cover - the constraint named one
