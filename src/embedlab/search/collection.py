"""`Collection`: a persistent, incrementally updated search collection on disk.

Layout of a collection folder::

    embedlab-collection.json   the manifest, written first: this folder is a collection
    collection.sqlite          documents (id, text, metadata JSON, vector row) and the commit state
    collection.lock            held by the one process that writes (filelock); readers never take it
    seg-000001.npy ...         float32 vector segments, written once, never modified
    dense-000007/              the ANN (or exact) index of commit 7
    bm25-000007/               the BM25 index of commit 7
    splade-000007/             the SPLADE index of commit 7 (when built with a sparse encoder)

The SQLite transaction that records a commit (its number, segments and index folders, and the
document rows) is the commit point. A writer first records the names it is about to write as
``pending`` in the state, writes them, then commits them and names the replaced index folders as
``garbage``; it deletes only what the state names as pending or garbage, and only while it holds
the writer lock and an exclusive SQLite lock (so no reader is loading them). Readers load under a
shared SQLite lock and never delete anything. So a crash at any moment leaves the previous commit
readable, another process's commit in progress is never swept, and nothing that is not the
collection's own is ever removed: building into a non-empty folder that is not a collection is
refused. The state also records the encoder the collection was built with (name, dim): querying
with another encoder is an error. Metadata filters (``where={"lang": "en"}``) become an
``allowed`` id set from SQLite. A collection created with a ``sparse_encoder`` (SPLADE) also
keeps a learned-sparse index. Search modes: ``dense``, ``sparse`` (BM25), ``splade``, and
``hybrid``, which fuses every ranking the collection has (reciprocal rank by default, or weighted
normalised scores). This module does not serve HTTP.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
from filelock import FileLock

from ..errors import FormatError, KeyNotFoundError, ParameterError, check_choice
from ..files import atomic_file, clean_leftovers, load_npy
from ..rows import normalized
from ._store import (
    DB,
    FORMAT_VERSION,
    LOCK,
    LOCK_TIMEOUT,
    MANIFEST,
    acquired,
    connect,
    foreign,
    has_state,
    read_state,
    snapshot,
    transaction,
    write_manifest,
)
from .base import Document, Hits
from .bm25 import BM25Index
from .bulk import Batch, add_batches, move_staged
from .exact import ExactIndex
from .fusion import rrf, weighted
from .hnsw import HNSWIndex
from .quantized import BinaryIndex, Int8Index
from .sparse import SparseIndex

logger = logging.getLogger(__name__)

__all__ = ["Collection", "Document"]

Mode = Literal["dense", "sparse", "splade", "hybrid"]
_DENSE: dict[str, Any] = {
    "hnsw": HNSWIndex,
    "exact": ExactIndex,
    "int8": Int8Index,
    "binary": BinaryIndex,
}


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """One thread at a time per collection (the server calls from a thread pool)."""

    @wraps(method)
    def inner(self: Collection, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return inner  # type: ignore[return-value]


def _encoder_info(encoder: Any) -> dict[str, Any]:
    return {"name": str(getattr(encoder, "name", type(encoder).__name__)), "dim": int(encoder.dim)}


class Collection:
    """Documents + vectors + indexes in one folder; ``Collection.create`` then ``open``."""

    def __init__(
        self, folder: Path, encoder: Any, con: sqlite3.Connection, sparse_encoder: Any = None
    ) -> None:
        self.folder = folder
        self.encoder = encoder
        self.sparse_encoder = sparse_encoder
        self._con = con
        self._lock = threading.RLock()
        self._writer = FileLock(str(folder / LOCK), timeout=LOCK_TIMEOUT, thread_local=False)
        self._load()

    def _load(self) -> None:
        """Read the committed state and its indexes, under a shared SQLite lock (no deleting)."""
        with snapshot(self._con):
            state = self._state()
            self.metric = state["metric"]
            self.index_kind = state["index"]
            self.generation = int(state["generation"])
            self.content: str = state.get("content", "texts")
            self._segments: list[str] = list(state["segments"])
            self._rows_total = self._count_rows()
            self._dense = self._load_dense(state.get("dense"))
            self._bm25 = (
                BM25Index.load(self.folder / state["bm25"]) if state.get("bm25") else BM25Index()
            )
            self.splade: dict[str, Any] | None = state.get("splade")
            self._splade = (
                SparseIndex.load(self.folder / state["splade_index"])
                if state.get("splade_index")
                else SparseIndex()
            )

    # -- creation and opening -------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        folder: str | os.PathLike[str],
        encoder: Any,
        *,
        index: Literal["hnsw", "exact", "int8", "binary"] = "hnsw",
        metric: Literal["cosine", "dot", "l2"] = "cosine",
        source: str | None = None,
        sparse_encoder: Any = None,
        sparse_source: str | None = None,
        content: Literal["texts", "images"] = "texts",
    ) -> Collection:
        """A new empty collection bound to ``encoder`` (``source``: how to load it again, e.g.
        the model id or folder, recorded for tools such as ``embedlab index``). ``index`` is
        ``hnsw``, ``exact``, or a compressed exact index (``int8``, ``binary``: codes in memory,
        candidates rescored with the float rows, see :mod:`embedlab.search.quantized`). With a
        ``sparse_encoder`` (a :class:`~embedlab.encoders.sparse.SpladeEncoder`; ``sparse_source``
        says how to load it again) every document also gets a SPLADE vector. ``content="images"``:
        the documents are images (see :mod:`embedlab.search.images`), found by text or image
        through the encoder's shared space; their text is only a label, not BM25-indexed."""
        check_choice("index", "Collection", index, tuple(_DENSE))
        check_choice("content", "Collection", content, ("texts", "images"))
        if content == "images" and sparse_encoder is not None:
            raise ParameterError("an image collection keeps no SPLADE vectors")
        check_choice("metric", "Collection", metric, ("cosine", "dot", "l2"))
        root = Path(folder)
        if root.exists() and not root.is_dir():
            raise ParameterError(f"{root} exists and is not a folder")
        if has_state(root):
            raise ParameterError(
                f"{root} already holds a collection; use Collection.open (embedlab index add) "
                "to add documents to it"
            )
        if root.is_dir() and not (root / MANIFEST).exists() and foreign(root):
            raise ParameterError(
                f"{root} is not empty and is not an embedlab collection; build the collection "
                "into a new or empty folder (nothing in this one was changed)"
            )
        root.mkdir(parents=True, exist_ok=True)
        writer = FileLock(str(root / LOCK), timeout=LOCK_TIMEOUT, thread_local=False)
        with acquired(writer, root):
            if has_state(root):  # another process created it meanwhile
                raise ParameterError(f"{root} already holds a collection; use Collection.open")
            write_manifest(root)  # first: from here on the folder is recognisably ours
            con = connect(root, create=True)
            with transaction(con):
                con.execute(
                    "CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, text TEXT NOT NULL, "
                    "meta TEXT NOT NULL, row INTEGER NOT NULL)"
                )
                con.execute(
                    "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                )
                state: dict[str, Any] = {
                    "format_version": FORMAT_VERSION,
                    "content": content,
                    "encoder": _encoder_info(encoder),
                    "source": source,
                    "normalize": True,
                    "metric": metric,
                    "index": index,
                    "generation": 0,
                    "segments": [],
                    "dense": None,
                    "bm25": None,
                    "splade": None
                    if sparse_encoder is None
                    else {
                        "name": str(getattr(sparse_encoder, "name", "splade")),
                        "dim": int(sparse_encoder.dim),
                        "source": sparse_source,
                    },
                    "splade_index": None,
                    "pending": [],
                    "garbage": [],
                }
                con.execute(
                    "INSERT OR REPLACE INTO state VALUES ('state', ?)", (json.dumps(state),)
                )
        return cls(root, encoder, con, sparse_encoder)

    @staticmethod
    def is_collection(folder: str | os.PathLike[str]) -> bool:
        """Whether ``folder`` holds a collection (its database; a manifest or not)."""
        return (Path(folder) / DB).is_file()

    @staticmethod
    def recorded_source(folder: str | os.PathLike[str], *, sparse: bool = False) -> str | None:
        """The model source recorded at creation (None when it was not given); ``sparse``: the
        SPLADE encoder's (None also for a collection without one)."""
        root = Path(folder)
        if not (root / DB).is_file():
            raise FormatError(root, f"not a collection: {DB} is missing")
        con = connect(root)
        try:
            state = read_state(con, root)
        finally:
            con.close()
        source = (state.get("splade") or {}).get("source") if sparse else state.get("source")
        return None if source is None else str(source)

    @classmethod
    def open(
        cls, folder: str | os.PathLike[str], encoder: Any, *, sparse_encoder: Any = None
    ) -> Collection:
        """Open a collection; ``encoder`` must be the one it was built with (name and dim), and
        so must ``sparse_encoder`` when one is given (without it, the SPLADE index is not
        searched and documents cannot be added)."""
        root = Path(folder)
        if not (root / DB).is_file():
            raise FormatError(root, f"not a collection: {DB} is missing")
        con = connect(root)
        state = read_state(con, root)
        if state.get("format_version") != FORMAT_VERSION:
            con.close()
            raise FormatError(root / DB, f"format_version {state.get('format_version')} is not 1")
        built, given = state["encoder"], _encoder_info(encoder)
        if built != given:
            con.close()
            raise ParameterError(
                f"this collection was built with encoder {built['name']!r} ({built['dim']} dims); "
                f"it cannot be queried with {given['name']!r} ({given['dim']} dims)"
            )
        splade = state.get("splade")
        if sparse_encoder is not None and (
            splade is None or splade["dim"] != int(sparse_encoder.dim)
        ):
            con.close()
            raise ParameterError(
                f"{root} keeps no SPLADE index of {sparse_encoder.dim} terms "
                f"(it was built with {splade or 'no sparse encoder'})"
            )
        return cls(root, encoder, con, sparse_encoder)

    def _state(self) -> dict[str, Any]:
        return read_state(self._con, self.folder)

    def _committed_generation(self) -> int:
        """The last commit's number, read without parsing the whole state in Python."""
        row = self._con.execute(
            "SELECT json_extract(value, '$.generation') FROM state WHERE key='state'"
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else -1

    def _put_state(self, state: Mapping[str, Any]) -> None:
        self._con.execute("UPDATE state SET value=? WHERE key='state'", (json.dumps(state),))

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
            "content": self.content,
            "splade": self.splade,
            "generation": self.generation,
            "segments": len(self._segments),
        }

    @_locked
    def __len__(self) -> int:
        return int(self._con.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    @_locked
    def __contains__(self, key: object) -> bool:
        row = self._con.execute("SELECT 1 FROM docs WHERE id=?", (str(key),)).fetchone()
        return row is not None

    def close(self) -> None:
        self._con.close()
        if self._writer.is_locked:  # pragma: no cover - closed from inside a write
            self._writer.release(force=True)

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- loading --------------------------------------------------------------------------------
    def _count_rows(self) -> int:
        return sum(int(load_npy(self.folder / s, mmap=True).shape[0]) for s in self._segments)

    @_locked
    def documents(self, limit: int = -1) -> list[Document]:
        """The first ``limit`` documents (all: -1), in the order they were added."""
        rows = self._con.execute("SELECT id, text, meta FROM docs ORDER BY row LIMIT ?", (limit,))
        return [Document(i, t, json.loads(m)) for i, t, m in rows.fetchall()]

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
        kind = _DENSE[self.index_kind]
        if name:
            return kind.load(self.folder / name)  # type: ignore[no-any-return]
        return kind(self.encoder.dim, metric=self.metric)  # type: ignore[no-any-return]

    # -- writing --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the writer lock; catch up with commits other processes made; sweep; write.

        A write that fails leaves the in-memory indexes as the last commit has them.
        """
        with acquired(self._writer, self.folder):
            if not (self.folder / MANIFEST).exists():  # a collection from before manifests
                write_manifest(self.folder)
            if self._committed_generation() != self.generation:
                self._load()
            self._sweep()
            try:
                yield
            except BaseException:
                self._load()
                raise

    def _sweep(self) -> None:
        """Delete what the state names as pending (an unfinished commit) or garbage, and nothing
        else; under an exclusive SQLite lock, so no reader is loading those files meanwhile."""
        if not any(self._state().get(k) for k in ("pending", "garbage")):
            return
        with transaction(self._con, "EXCLUSIVE"):
            state = self._state()
            referenced = set(state["segments"]) | {
                state.get(k) for k in ("dense", "bm25", "splade_index")
            }
            for name in [*state.get("pending", []), *state.get("garbage", [])]:
                if name in referenced or Path(name).name != name or not name.startswith(_OURS):
                    continue  # never a live file, never outside the folder
                path = self.folder / name
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
                clean_leftovers(path)  # the temporary siblings a killed write left
            state.update(pending=[], garbage=[])
            self._put_state(state)

    @_locked
    def add(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        metadata: Sequence[Mapping[str, Any]] | None = None,
        *,
        batch_size: int = 32,
        vectors: npt.ArrayLike | None = None,
    ) -> int:
        """Add or update documents (embedded with the collection's encoder, or given as
        ``vectors``: an image collection's rows, see :mod:`embedlab.search.images`); one commit."""
        keys = [str(i) for i in ids]
        if len(keys) != len(texts) or (metadata is not None and len(metadata) != len(keys)):
            raise ParameterError("ids, texts and metadata must have the same length")
        if len(set(keys)) != len(keys):
            raise ParameterError("the same id appears twice in one add")
        metas = [dict(m) for m in metadata] if metadata is not None else [{} for _ in keys]
        for m in metas:
            json.dumps(m)  # fails early on metadata JSON cannot hold
        if vectors is None and self.content == "images":
            raise ParameterError("an image collection takes vectors: use search.images.add_images")
        if vectors is None:
            vectors = self.encoder.encode(list(texts), batch_size=batch_size, normalize=True)
        vectors = normalized(np.asarray(vectors, dtype=np.float32).reshape(len(keys), -1))
        if vectors.shape[1] != self.encoder.dim:
            raise ParameterError(f"expected {self.encoder.dim}-dim vectors, got {vectors.shape[1]}")
        terms = None
        if self.splade is not None:
            terms = self._sparse_encoder().encode_document(list(texts), batch_size=batch_size)
        with self._writing():
            gen = self.generation + 1
            segment = f"seg-{gen:06d}.npy"
            self._announce(gen, [segment])
            with atomic_file(self.folder / segment) as f:
                np.save(f, vectors, allow_pickle=False)
            start = self._rows_total
            self._dense.add(keys, vectors)
            if self.content == "texts":
                self._bm25.add(keys, list(texts))
            if terms is not None:
                self._splade.add(keys, terms)
            rows = [
                (k, t, json.dumps(m, ensure_ascii=False), start + n)
                for n, (k, t, m) in enumerate(zip(keys, texts, metas))
            ]
            self._commit(gen, [*self._segments, segment], rows=rows)
            self._rows_total += len(keys)
            self._sweep()
        return len(keys)

    @_locked
    def add_batches(self, batches: Iterable[Batch], *, chunk_rows: int = 65536) -> int:
        """``(ids, texts, metadata or None, vectors)`` batches in one commit (:mod:`.bulk`)."""
        return add_batches(self, batches, chunk_rows=chunk_rows)

    @_locked
    def delete(self, ids: Sequence[str]) -> int:
        keys = [str(i) for i in ids]
        with self._writing():
            absent = [k for k in keys if k not in self]
            if absent:
                raise KeyNotFoundError(f"not in the collection: {absent[:5]}")
            gen = self.generation + 1
            self._announce(gen, [])
            self._dense.remove(keys)
            self._bm25.remove(keys)
            if self.splade is not None:
                self._splade.remove(keys)
            self._commit(gen, self._segments, deleted=keys)
            self._sweep()
        return len(keys)

    def _announce(self, gen: int, files: list[str]) -> None:
        """Record the names commit ``gen`` will write, before writing them (a crash leaves them
        named as garbage for the next writer, which alone may delete them)."""
        with transaction(self._con):
            state = self._state()
            state["pending"] = [*files, f"dense-{gen:06d}", f"bm25-{gen:06d}"]
            if self.splade is not None:
                state["pending"].append(f"splade-{gen:06d}")
            self._put_state(state)

    def _commit(
        self,
        gen: int,
        segments: list[str],
        *,
        rows: Sequence[tuple[str, str, str, int]] = (),
        deleted: Sequence[str] = (),
        staged: bool = False,
    ) -> None:
        dense, bm25 = f"dense-{gen:06d}", f"bm25-{gen:06d}"
        splade = f"splade-{gen:06d}" if self.splade is not None else None
        self._dense.save(self.folder / dense)
        self._bm25.save(self.folder / bm25)
        if splade is not None:
            self._splade.save(self.folder / splade)
        with transaction(self._con):
            state = self._state()
            garbage = [n for n in (state.get(k) for k in ("dense", "bm25", "splade_index")) if n]
            state.update(
                generation=gen, segments=segments, dense=dense, bm25=bm25, splade_index=splade,
                pending=[], garbage=garbage,
            )  # fmt: skip
            self._con.executemany(
                "INSERT INTO docs VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "text=excluded.text, meta=excluded.meta, row=excluded.row",
                rows,
            )
            self._con.executemany("DELETE FROM docs WHERE id=?", [(k,) for k in deleted])
            if staged:
                move_staged(self._con)  # a bulk load's rows (search.bulk)
            self._put_state(state)
        self.generation, self._segments = gen, segments

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

    def _sparse_encoder(self) -> Any:
        if self.sparse_encoder is None:
            raise ParameterError(
                f"{self.folder} keeps SPLADE vectors: open it with sparse_encoder= "
                f"(it was built with {self.splade and self.splade['name']!r})"
            )
        return self.sparse_encoder

    @_locked
    def search(
        self,
        query: str | npt.ArrayLike,
        k: int = 10,
        *,
        mode: Mode = "dense",
        where: Mapping[str, Any] | None = None,
        fusion: Literal["rrf", "weighted"] = "rrf",
        dense_weight: float = 0.5,
        weights: Mapping[str, float] | None = None,
    ) -> list[Document]:
        """The ``k`` best documents for a query string: ``dense``, ``sparse`` (BM25), ``splade``,
        or ``hybrid`` (every ranking the collection has, fused). ``weighted`` fusion takes
        ``weights`` by retriever (``{"dense": 1, "bm25": 0.1, "splade": 0.5}``); without them,
        ``dense_weight`` for dense and the rest shared by the sparse rankings. A vector ``query``
        (an image's, say) is searched densely, as is anything in an image collection."""
        check_choice("mode", "Collection.search", mode, ("dense", "sparse", "splade", "hybrid"))
        if not isinstance(query, str) or self.content == "images":
            if mode in ("sparse", "splade"):
                raise ParameterError(f"mode {mode!r} needs a text query and a text collection")
            mode = "dense"
        if self._committed_generation() != self.generation:
            self._load()  # another process committed since: search what is there now
        allowed = self._allowed(where)
        pool = max(k, 50) if mode == "hybrid" else k
        rankings: dict[str, Hits] = {}
        if mode in ("dense", "hybrid"):
            q = np.asarray(
                self.encoder.encode(query, normalize=True) if isinstance(query, str) else query,
                dtype=np.float32,
            ).reshape(-1)
            found = self._dense.search(q, pool, allowed=allowed)
            rankings["dense"] = found if isinstance(found, Hits) else found[0]
        text = query if isinstance(query, str) else ""  # a vector query is dense-only (above)
        if mode in ("sparse", "hybrid"):
            found = self._bm25.search(text, pool, allowed=allowed)
            rankings["bm25"] = found if isinstance(found, Hits) else found[0]
        if mode == "splade" or (mode == "hybrid" and self.splade and self.sparse_encoder):
            terms = self._sparse_encoder().encode_query([text])
            rankings["splade"] = self._splade.search(terms, pool, allowed=allowed)[0]
        if mode == "hybrid":
            names = list(rankings)
            if fusion == "rrf":
                hits = rrf([rankings[n] for n in names], top=k)
            else:
                share = (1 - dense_weight) / max(len(names) - 1, 1)
                w = weights or {n: dense_weight if n == "dense" else share for n in names}
                hits = weighted([rankings[n] for n in names], [w.get(n, 0.0) for n in names], top=k)
        else:
            hits = next(iter(rankings.values()))
        return [
            Document(d.id, d.text, d.metadata, score)
            for d, score in ((self.get(key), s) for key, s in list(hits)[:k])
        ]


_OURS = ("seg-", "dense-", "bm25-", "splade-")
