"""`Collection`: a persistent, incrementally updated search collection on disk.

Layout of a collection folder::

    collection.sqlite      documents (id, text, metadata JSON, vector row) and the commit state
    seg-000001.npy ...     float32 vector segments, written once, never modified
    dense-000007/          the ANN (or exact) index of commit 7
    bm25-000007/           the BM25 index of commit 7

The SQLite transaction that records a commit (its number, segments and index folders, and the
document rows) is the commit point: segment files and index folders are written *before* it under
new names, so a crash at any moment leaves the previous commit readable, and files of an
unfinished commit are swept on the next open. The state also records the encoder the collection
was built with (name, dim, normalization): querying with another encoder is an error. Metadata
filters (``where={"lang": "en"}``) become an ``allowed`` id set from SQLite. Hybrid search fuses
dense and BM25 rankings (reciprocal rank by default). This module does not serve HTTP.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, KeyNotFoundError, ParameterError, check_choice
from ..io._files import atomic_file, load_npy
from .base import Hits
from .bm25 import BM25Index
from .exact import ExactIndex
from .fusion import rrf, weighted
from .hnsw import HNSWIndex

logger = logging.getLogger(__name__)

__all__ = ["Collection", "Document"]

DB = "collection.sqlite"
FORMAT_VERSION = 1
Mode = Literal["dense", "sparse", "hybrid"]


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """One thread at a time per collection (the server calls from a thread pool)."""

    @wraps(method)
    def inner(self: Collection, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return inner  # type: ignore[return-value]


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    metadata: dict[str, Any]
    score: float = 0.0


def _encoder_info(encoder: Any) -> dict[str, Any]:
    return {"name": str(getattr(encoder, "name", type(encoder).__name__)), "dim": int(encoder.dim)}


class Collection:
    """Documents + vectors + indexes in one folder; ``Collection.create`` then ``open``."""

    def __init__(self, folder: Path, encoder: Any, con: sqlite3.Connection) -> None:
        self.folder = folder
        self.encoder = encoder
        self._con = con
        self._lock = threading.RLock()
        state = self._state()
        self.metric = state["metric"]
        self.index_kind = state["index"]
        self.generation = int(state["generation"])
        self._segments: list[str] = list(state["segments"])
        self._rows_total = self._count_rows()
        self._dense = self._load_dense(state.get("dense"))
        self._bm25 = BM25Index.load(folder / state["bm25"]) if state.get("bm25") else BM25Index()
        self._sweep(state)

    # -- creation and opening -------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        folder: str | os.PathLike[str],
        encoder: Any,
        *,
        index: Literal["hnsw", "exact"] = "hnsw",
        metric: Literal["cosine", "dot", "l2"] = "cosine",
        source: str | None = None,
    ) -> Collection:
        """A new empty collection bound to ``encoder`` (``source``: how to load it again, e.g.
        the model id or folder, recorded for tools such as ``embedlab index``)."""
        check_choice("index", "Collection", index, ("hnsw", "exact"))
        root = Path(folder)
        if (root / DB).exists():
            raise ParameterError(f"{root} already holds a collection; use Collection.open")
        root.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(root / DB, isolation_level=None, check_same_thread=False)
        with _transaction(con):
            con.execute(
                "CREATE TABLE docs (id TEXT PRIMARY KEY, text TEXT NOT NULL, "
                "meta TEXT NOT NULL, row INTEGER NOT NULL)"
            )
            con.execute("CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            state = {
                "format_version": FORMAT_VERSION,
                "encoder": _encoder_info(encoder),
                "source": source,
                "normalize": True,
                "metric": metric,
                "index": index,
                "generation": 0,
                "segments": [],
                "dense": None,
                "bm25": None,
            }
            con.execute("INSERT INTO state VALUES ('state', ?)", (json.dumps(state),))
        return cls(root, encoder, con)

    @staticmethod
    def recorded_source(folder: str | os.PathLike[str]) -> str | None:
        """The model source recorded at creation (None when it was not given)."""
        con = sqlite3.connect(Path(folder) / DB)
        try:
            row = con.execute("SELECT value FROM state WHERE key='state'").fetchone()
        finally:
            con.close()
        return json.loads(row[0]).get("source") if row else None

    @classmethod
    def open(cls, folder: str | os.PathLike[str], encoder: Any) -> Collection:
        """Open a collection; ``encoder`` must be the one it was built with (name and dim)."""
        root = Path(folder)
        if not (root / DB).exists():
            raise FormatError(root, f"not a collection: {DB} is missing")
        con = sqlite3.connect(root / DB, isolation_level=None, check_same_thread=False)
        state = json.loads(con.execute("SELECT value FROM state WHERE key='state'").fetchone()[0])
        if state.get("format_version") != FORMAT_VERSION:
            raise FormatError(root / DB, f"format_version {state.get('format_version')} is not 1")
        built, given = state["encoder"], _encoder_info(encoder)
        if built != given:
            raise ParameterError(
                f"this collection was built with encoder {built['name']!r} ({built['dim']} dims); "
                f"it cannot be queried with {given['name']!r} ({given['dim']} dims)"
            )
        return cls(root, encoder, con)

    def _state(self) -> dict[str, Any]:
        row = self._con.execute("SELECT value FROM state WHERE key='state'").fetchone()
        return dict(json.loads(row[0]))

    @_locked
    def info(self) -> dict[str, Any]:
        state = self._state()
        return {
            "folder": str(self.folder),
            "documents": len(self),
            "encoder": state["encoder"],
            "source": state.get("source"),
            "metric": self.metric,
            "index": self.index_kind,
            "generation": self.generation,
            "segments": len(self._segments),
        }

    @_locked
    def __len__(self) -> int:
        return int(self._con.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    @_locked
    def __contains__(self, key: object) -> bool:
        return (
            self._con.execute("SELECT 1 FROM docs WHERE id=?", (str(key),)).fetchone() is not None
        )

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- loading --------------------------------------------------------------------------------
    def _count_rows(self) -> int:
        return sum(int(load_npy(self.folder / s, mmap=True).shape[0]) for s in self._segments)

    @_locked
    def vectors(self, ids: Sequence[str]) -> npt.NDArray[np.float32]:
        """The stored (unit-length) vectors of ``ids``, read from the segments."""
        bounds, total = [], 0
        for s in self._segments:
            arr = load_npy(self.folder / s, mmap=True)
            bounds.append((total, total + len(arr), arr))
            total += len(arr)
        out = []
        for key in ids:
            row = self._con.execute("SELECT row FROM docs WHERE id=?", (key,)).fetchone()
            if row is None:
                raise KeyNotFoundError(f"not in the collection: {key!r}")
            lo, _, arr = next(b for b in bounds if b[0] <= row[0] < b[1])
            out.append(np.asarray(arr[row[0] - lo], dtype=np.float32))
        return np.stack(out) if out else np.zeros((0, self.encoder.dim), np.float32)

    def _load_dense(self, name: str | None) -> ExactIndex | HNSWIndex:
        if name:
            loader = HNSWIndex.load if self.index_kind == "hnsw" else ExactIndex.load
            return loader(self.folder / name)
        if self.index_kind == "hnsw":
            return HNSWIndex(self.encoder.dim, metric=self.metric)
        return ExactIndex(self.encoder.dim, metric=self.metric)

    def _sweep(self, state: Mapping[str, Any]) -> None:
        """Remove files an interrupted commit left behind (nothing references them)."""
        keep = set(state["segments"]) | {state.get("dense"), state.get("bm25"), DB}
        for f in self.folder.iterdir():
            if f.name in keep or f.name.startswith(DB):
                continue
            if f.name.startswith(("seg-", "dense-", "bm25-", ".")):
                if f.is_dir():
                    shutil.rmtree(f, ignore_errors=True)
                else:
                    f.unlink(missing_ok=True)

    # -- writing --------------------------------------------------------------------------------
    @_locked
    def add(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        metadata: Sequence[Mapping[str, Any]] | None = None,
        *,
        batch_size: int = 32,
    ) -> int:
        """Add or update documents (embedded with the collection's encoder); one commit."""
        keys = [str(i) for i in ids]
        if len(keys) != len(texts) or (metadata is not None and len(metadata) != len(keys)):
            raise ParameterError("ids, texts and metadata must have the same length")
        if len(set(keys)) != len(keys):
            raise ParameterError("the same id appears twice in one add")
        metas = [dict(m) for m in metadata] if metadata is not None else [{} for _ in keys]
        for m in metas:
            json.dumps(m)  # fails early on metadata JSON cannot hold
        vectors = np.asarray(
            self.encoder.encode(list(texts), batch_size=batch_size, normalize=True),
            dtype=np.float32,
        ).reshape(len(keys), -1)
        gen = self.generation + 1
        segment = f"seg-{gen:06d}.npy"
        with atomic_file(self.folder / segment) as f:
            np.save(f, vectors, allow_pickle=False)
        start = self._rows_total
        self._dense.add(keys, vectors)
        self._bm25.add(keys, list(texts))
        rows = [
            (k, t, json.dumps(m, ensure_ascii=False), start + n)
            for n, (k, t, m) in enumerate(zip(keys, texts, metas))
        ]
        self._commit(gen, [*self._segments, segment], rows=rows)
        self._rows_total += len(keys)
        return len(keys)

    @_locked
    def delete(self, ids: Sequence[str]) -> int:
        keys = [str(i) for i in ids]
        absent = [k for k in keys if k not in self]
        if absent:
            raise KeyNotFoundError(f"not in the collection: {absent[:5]}")
        self._dense.remove(keys)
        self._bm25.remove(keys)
        self._commit(self.generation + 1, self._segments, deleted=keys)
        return len(keys)

    def _commit(
        self,
        gen: int,
        segments: list[str],
        *,
        rows: Sequence[tuple[str, str, str, int]] = (),
        deleted: Sequence[str] = (),
    ) -> None:
        dense, bm25 = f"dense-{gen:06d}", f"bm25-{gen:06d}"
        self._dense.save(self.folder / dense)
        self._bm25.save(self.folder / bm25)
        state = self._state()
        old = (state.get("dense"), state.get("bm25"))
        state.update(generation=gen, segments=segments, dense=dense, bm25=bm25)
        with _transaction(self._con):
            self._con.executemany(
                "INSERT INTO docs VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "text=excluded.text, meta=excluded.meta, row=excluded.row",
                rows,
            )
            self._con.executemany("DELETE FROM docs WHERE id=?", [(k,) for k in deleted])
            self._con.execute("UPDATE state SET value=? WHERE key='state'", (json.dumps(state),))
        self.generation, self._segments = gen, segments
        for name in old:
            if name:
                shutil.rmtree(self.folder / name, ignore_errors=True)

    # -- reading --------------------------------------------------------------------------------
    @_locked
    def get(self, key: str) -> Document:
        row = self._con.execute("SELECT id, text, meta FROM docs WHERE id=?", (key,)).fetchone()
        if row is None:
            raise KeyNotFoundError(f"not in the collection: {key!r}")
        return Document(row[0], row[1], json.loads(row[2]))

    def _allowed(self, where: Mapping[str, Any] | None) -> set[str] | None:
        if not where:
            return None
        clauses, params = [], []
        for key, value in where.items():
            if not str(key).replace("_", "").isalnum():
                raise ParameterError(f"metadata keys in where must be alphanumeric; got {key!r}")
            clauses.append(f"json_extract(meta, '$.{key}') = ?")
            params.append(value if not isinstance(value, bool) else int(value))
        sql = "SELECT id FROM docs WHERE " + " AND ".join(clauses)
        return {r[0] for r in self._con.execute(sql, params)}

    @_locked
    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: Mode = "dense",
        where: Mapping[str, Any] | None = None,
        fusion: Literal["rrf", "weighted"] = "rrf",
        dense_weight: float = 0.5,
    ) -> list[Document]:
        """The ``k`` best documents for a query string (dense, BM25, or both fused)."""
        check_choice("mode", "Collection.search", mode, ("dense", "sparse", "hybrid"))
        allowed = self._allowed(where)
        pool = max(k, 50) if mode == "hybrid" else k
        rankings: list[Hits] = []
        if mode in ("dense", "hybrid"):
            q = np.asarray(self.encoder.encode(query, normalize=True), dtype=np.float32)
            found = self._dense.search(q, pool, allowed=allowed)
            rankings.append(found if isinstance(found, Hits) else found[0])
        if mode in ("sparse", "hybrid"):
            found = self._bm25.search(query, pool, allowed=allowed)
            rankings.append(found if isinstance(found, Hits) else found[0])
        if mode == "hybrid":
            hits = (
                rrf(rankings, top=k)
                if fusion == "rrf"
                else weighted(rankings, [dense_weight, 1 - dense_weight], top=k)
            )
        else:
            hits = rankings[0]
        return [
            Document(d.id, d.text, d.metadata, score)
            for d, score in ((self.get(key), s) for key, s in list(hits)[:k])
        ]


@contextlib.contextmanager
def _transaction(con: sqlite3.Connection) -> Iterator[None]:
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
