"""`HNSWIndex`: approximate nearest neighbours with hnswlib (kept over usearch: see RESULTS.md).

A graph index (M links per node, ``ef_construction`` at build, ``ef`` at query time, raised to at
least ``k``) over string ids mapped to hnswlib's integer labels. Adding an existing id updates its
vector; removing marks it deleted (hnswlib skips it and reuses the slot); the index grows by
doubling. ``allowed`` becomes hnswlib's label filter. Saved as a folder: hnswlib's own binary
index file (plain arrays, no pickle), ``ids.txt`` and ``index.json``. hnswlib is imported only
here (``pip install 'embedlab[search]'``). This module does not embed text.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError
from ..files import atomic_dir
from ..optional import require
from .base import Hits, Metric, as_matrix, check_ids, check_k, check_metric, missing
from .exact import read_header, reading

logger = logging.getLogger(__name__)

__all__ = ["HNSWIndex"]

_SPACES = {"cosine": "cosine", "dot": "ip", "l2": "l2"}
_BRUTE_FORCE = 2000  # a filter leaving at most this many ids is scored exactly


def _hnswlib() -> Any:
    return require("hnswlib", "search", "HNSW indexes")


class HNSWIndex:
    """Approximate top-k search; recall is measured against :class:`ExactIndex`, never assumed."""

    kind = "hnsw"

    def __init__(
        self,
        dim: int,
        *,
        metric: Metric = "cosine",
        m: int = 16,
        ef_construction: int = 200,
        ef: int = 64,
        threads: int | None = None,
        seed: int = 100,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ParameterError(
                f"The 'dim' parameter of HNSWIndex must be an int in [1, inf). Got {dim!r}."
            )
        for name, value in (("m", m), ("ef_construction", ef_construction), ("ef", ef)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ParameterError(
                    f"The '{name}' parameter of HNSWIndex must be an int in [2, inf). Got {value!r}."
                )
        self.dim, self.m, self.ef_construction, self.ef = dim, m, ef_construction, ef
        self.metric: Metric = check_metric(metric, "HNSWIndex")
        self.threads = threads or (os.cpu_count() or 1)
        self.seed = seed
        self._index = _hnswlib().Index(space=_SPACES[self.metric], dim=dim)
        self._index.init_index(
            max_elements=1024,
            M=m,
            ef_construction=ef_construction,
            random_seed=seed,
            allow_replace_deleted=True,
        )
        self._index.set_num_threads(self.threads)
        self._labels: dict[str, int] = {}
        self._ids: dict[int, str] = {}
        self._next = 0
        self._free: list[int] = []

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, key: object) -> bool:
        return key in self._labels

    def __repr__(self) -> str:
        return (
            f"HNSWIndex({len(self)} x {self.dim}, metric={self.metric!r}, M={self.m}, ef={self.ef})"
        )

    @property
    def ids(self) -> list[str]:
        return list(self._labels)

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        x, _ = as_matrix(vectors, self.dim, "HNSWIndex")
        keys = check_ids(ids, len(x), "HNSWIndex")
        labels = []
        for k in keys:
            if k in self._labels:
                labels.append(self._labels[k])
                continue
            label = self._free.pop() if self._free else self._take()
            self._labels[k], self._ids[label] = label, k
            labels.append(label)
        needed = self._index.get_current_count() + len(keys)
        if needed > self._index.get_max_elements():
            self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
        self._index.add_items(
            x, np.asarray(labels, dtype=np.int64), num_threads=self.threads, replace_deleted=True
        )

    def _take(self) -> int:
        label, self._next = self._next, self._next + 1
        return label

    def remove(self, ids: Sequence[str]) -> None:
        keys = [str(i) for i in ids]
        missing(keys, self._labels, "HNSWIndex")
        for k in keys:
            label = self._labels.pop(k)
            del self._ids[label]
            self._index.mark_deleted(label)
            self._free.append(label)

    def search(
        self, queries: npt.ArrayLike, k: int = 10, *, allowed: Collection[str] | None = None
    ) -> Hits | list[Hits]:
        check_k(k, "HNSWIndex")
        q, single = as_matrix(queries, self.dim, "HNSWIndex")
        k = min(k, len(self._labels))
        if k == 0:
            empty = [Hits([], np.zeros(0, np.float32)) for _ in range(len(q))]
            return empty[0] if single else empty
        self._index.set_ef(max(self.ef, k))
        if allowed is not None:
            permitted = sorted({self._labels[a] for a in allowed if a in self._labels})
            k = min(k, len(permitted))
            if k == 0:
                empty = [Hits([], np.zeros(0, np.float32)) for _ in range(len(q))]
                return empty[0] if single else empty
            if len(permitted) <= _BRUTE_FORCE:
                hits = self._brute_force(q, permitted, k)
                return hits[0] if single else hits
            try:
                labels, distances = self._index.knn_query(
                    q, k=k, num_threads=1, filter=set(permitted).__contains__
                )
            except RuntimeError:  # the graph walk found fewer than k permitted nodes
                hits = self._brute_force(q, permitted, k)
                return hits[0] if single else hits
        else:
            labels, distances = self._index.knn_query(q, k=k, num_threads=self.threads)
        scores = -distances if self.metric == "l2" else 1.0 - distances
        hits = [
            Hits([self._ids[int(x)] for x in row], s.astype(np.float32))
            for row, s in zip(labels, scores)
        ]
        return hits[0] if single else hits

    def _brute_force(self, q: npt.NDArray[np.float32], labels: list[int], k: int) -> list[Hits]:
        """Exact scores over a small permitted set, from the vectors hnswlib stores."""
        from .exact import ExactIndex

        exact = ExactIndex(self.dim, metric=self.metric)
        exact.add(
            [self._ids[x] for x in labels], np.asarray(self._index.get_items(labels), np.float32)
        )
        found = exact.search(q, k)
        return found if isinstance(found, list) else [found]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str]) -> Path:
        target = Path(folder)
        with atomic_dir(target) as tmp:
            self._index.save_index(str(tmp / "graph.bin"))
            order = sorted(self._ids)
            (tmp / "ids.txt").write_text(
                "".join(json.dumps([label, self._ids[label]]) + "\n" for label in order),
                encoding="utf-8",
            )
            header = {
                "format_version": 1,
                "kind": self.kind,
                "dim": self.dim,
                "metric": self.metric,
                "m": self.m,
                "ef_construction": self.ef_construction,
                "ef": self.ef,
                "next": self._next,
                "free": self._free,
                "count": len(self),
            }
            header["graph_crc32"] = _crc32(tmp / "graph.bin")
            (tmp / "index.json").write_text(json.dumps(header), encoding="utf-8")
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, threads: int | None = None) -> HNSWIndex:
        root = Path(folder)
        with reading(root):
            h = read_header(root, cls.kind)
            for name, top in (("m", 1024), ("ef_construction", 1 << 16), ("ef", 1 << 16)):
                v = h.get(name)
                if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= top:
                    raise FormatError(
                        root / "index.json", f"expected {name!r} an int in [1, {top}], found {v!r}"
                    )
            index = cls(
                int(h["dim"]),
                metric=h["metric"],
                m=int(h["m"]),
                ef_construction=int(h["ef_construction"]),
                ef=int(h["ef"]),
                threads=threads,
            )
            pairs = _read_pairs(root / "ids.txt")
            nxt, free = h.get("next"), h.get("free")
            if not (isinstance(nxt, int) and isinstance(free, list)) or nxt != len(pairs) + len(
                free
            ):
                raise FormatError(
                    root / "index.json",
                    f"expected 'next' = {len(pairs)} ids + {len(free) if isinstance(free, list) else 0}"
                    f" free labels, found {nxt!r}",
                )
            _check_graph(root / "graph.bin", nxt, index.dim, index.m, h.get("graph_crc32"))
            index._index = _hnswlib().Index(space=_SPACES[index.metric], dim=index.dim)
            try:  # into a fresh, uninitialised index (loading replaces one; hnswlib warns)
                index._index.load_index(
                    str(root / "graph.bin"),
                    max_elements=max(1024, nxt),
                    allow_replace_deleted=True,
                )
            except RuntimeError as e:
                raise FormatError(
                    root / "graph.bin", f"hnswlib could not read this index: {e}"
                ) from e
            index._index.set_num_threads(index.threads)
            index._ids = {int(label): str(key) for label, key in pairs}
            index._labels = {key: label for label, key in index._ids.items()}
            index._next, index._free = int(h["next"]), [int(x) for x in h["free"]]
        return index


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            crc = zlib.crc32(chunk, crc)
    return crc


def _check_graph(path: Path, count: int, dim: int, m: int, crc: object) -> None:
    """hnswlib allocates ``max_elements x element size`` from the file's own header before it
    reads the data, and follows the neighbour ids it finds without bounds checks (a damaged
    graph can crash the process): check the header against the index's ids and the file's size,
    and the whole file against the checksum written beside it (indexes saved before checksums
    existed are read without one)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(48)
    except FileNotFoundError:
        raise FormatError(path.parent, "not an index folder: graph.bin is missing") from None
    if len(head) < 48:
        raise FormatError(path, "truncated: expected a 48-byte hnswlib header", offset=0)
    _, _, stored, per_element, _, _ = struct.unpack("<6Q", head)
    expected = (2 * m * 4 + 4) + dim * 4 + 8  # level-0 links, the vector, the label
    if stored != count or per_element != expected or stored * per_element > size:
        raise FormatError(
            path,
            f"expected {count} elements of {expected} bytes within {size} bytes, found "
            f"{stored} of {per_element}",
            offset=16,
        )
    if crc is not None and crc != _crc32(path):
        raise FormatError(path, "the graph does not match its checksum in index.json: damaged")


def _read_pairs(path: Path) -> list[tuple[int, str]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            label, key = json.loads(line)
            out.append((int(label), str(key)))
        except (json.JSONDecodeError, ValueError, TypeError) as e:
            raise FormatError(path, f"expected [label, id], found {line[:40]!r}", line=n) from e
    return out
