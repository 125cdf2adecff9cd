"""The projector's side on the server: vectors files opened once, projections computed once.

The web page's projector shows the vectors files named under ``"vectors"`` in the config (any
format :mod:`embedlab.io` reads) and the served search collections (as ``collection:NAME``: their
stored vectors, ids, texts and metadata). A projection (PCA, UMAP or t-SNE, 2D or 3D, of the first
``limit`` rows) runs as a job in a thread: UMAP and t-SNE take minutes on 100,000 points, so the
page starts one, polls it (state and seconds so far) and draws it when done; a finished job is
kept, and asking again for the same projection answers at once. With it come the columns the page
colours by: the row (frequency rank in frequency-ordered files), the count when the file has
counts, a collection's scalar metadata fields, and a k-means cluster of the original vectors.
Neighbours are always found in the original space (cosine over every row), never in the
projection.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..rows import normalized
from .config import ServerConfig

__all__ = ["Job", "Projector"]


@dataclass
class Job:
    id: str
    source: str
    method: str
    dims: int
    limit: int
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    error: str | None = None
    result: dict[str, Any] | None = None

    def status(self) -> dict[str, Any]:
        done = self.finished is not None
        state = "failed" if self.error else "done" if done else "running"
        out: dict[str, Any] = {
            "job": self.id, "status": state, "source": self.source, "method": self.method,
            "dims": self.dims, "limit": self.limit,
            "seconds": round((self.finished or time.monotonic()) - self.started, 2),
        }  # fmt: skip
        if self.error:
            out["error"] = self.error
        if self.result is not None:
            out.update(self.result)
        return out


class Projector:
    """The config's vectors files, their projections (one job each) and neighbours."""

    def __init__(
        self,
        cfg: ServerConfig,
        collections: Callable[[], Mapping[str, Any]] = dict,
        clusters: int = 12,
    ) -> None:
        self.cfg, self.collections, self.clusters = cfg, collections, clusters
        self._data: dict[str, tuple[list[str], np.ndarray, dict[str, list[Any]]]] = {}
        self._jobs: dict[str, Job] = {}
        self._by_key: dict[tuple[str, str, int, int], Job] = {}
        self._index: dict[str, tuple[dict[str, int], np.ndarray]] = {}
        self._lock = threading.Lock()

    def sources(self) -> list[str]:
        return sorted(self.cfg.vectors) + [f"collection:{n}" for n in sorted(self.collections())]

    def data(
        self, name: str, most: int = 200_000
    ) -> tuple[list[str], np.ndarray, dict[str, list[Any]]]:
        """ids, vectors (float32) and columns of a source, read on first use (``most`` rows)."""
        with self._lock:
            if name not in self._data:
                self._data[name] = self._read(name, most)
            return self._data[name]

    def _read(self, name: str, most: int) -> tuple[list[str], np.ndarray, dict[str, list[Any]]]:
        if name.startswith("collection:"):
            col = self.collections()[name.removeprefix("collection:")]
            docs = col.documents(most)
            ids = [d.id for d in docs]
            columns: dict[str, list[Any]] = {"text": [d.text for d in docs]}
            fields = {k for d in docs for k, v in d.metadata.items() if _scalar(v)}
            for key in sorted(fields):
                columns[key] = [d.metadata.get(key) if _scalar(d.metadata.get(key)) else None
                                for d in docs]  # fmt: skip
            return ids, np.asarray(col.vectors(ids), dtype=np.float32), columns
        from ..vectors import Vectors

        vec = Vectors.load(self.cfg.resolve(self.cfg.vectors[name]))
        n = min(most, len(vec))
        columns = {"row": list(range(n))}
        if vec.counts is not None:
            columns["count"] = [int(c) for c in vec.counts[:n]]
        return list(vec.index_to_key[:n]), np.asarray(vec.vectors[:n], dtype=np.float32), columns

    def start(self, source: str, method: str, dims: int, limit: int) -> Job:
        """The job of this projection: a running or finished one, else a new one."""
        key = (source, method, dims, limit)
        with self._lock:
            job = self._by_key.get(key)
            if job is not None and job.error is None:
                return job
            job = Job(uuid.uuid4().hex[:12], source, method, dims, limit)
            self._jobs[job.id] = self._by_key[key] = job
        threading.Thread(target=self._run, args=(job,), daemon=True, name="projection").start()
        return job

    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def _run(self, job: Job) -> None:
        from ..viz.projection import project

        try:
            ids, matrix, all_columns = self.data(job.source)
            n = min(job.limit, len(ids))
            x = matrix[:n]
            coords = _fit_box(project(x, job.method, dims=job.dims))  # type: ignore[arg-type]
            columns = {k: v[:n] for k, v in all_columns.items()}
            columns["cluster"] = self._clusters(x)
            job.result = {
                "ids": ids[:n],
                "coords": base64.b64encode(coords.astype("<f4").tobytes()).decode("ascii"),
                "columns": columns,
            }
        except Exception as e:  # the page shows the reason; the server goes on
            job.error = f"{type(e).__name__}: {e}"
        finally:
            job.finished = time.monotonic()

    def _clusters(self, x: np.ndarray) -> list[int]:
        from ..optional import require

        cluster = require("sklearn.cluster", "viz", "clusters in the projector")
        k = min(self.clusters, len(x))
        km = cluster.MiniBatchKMeans(n_clusters=k, random_state=0, n_init=3, batch_size=4096)
        return [int(c) for c in km.fit_predict(normalized(x))]

    def neighbours(self, source: str, key: str, k: int) -> list[tuple[str, float]]:
        """``key``'s ``k`` nearest keys by cosine over every row of the original vectors."""
        ids, matrix, _ = self.data(source)
        with self._lock:
            if source not in self._index:
                self._index[source] = ({i: n for n, i in enumerate(ids)}, normalized(matrix))
            index, unit = self._index[source]
        if key not in index:
            raise ParameterError(f"{key!r} is not in {source!r}")
        sims = unit @ unit[index[key]]
        sims[index[key]] = -np.inf
        k = min(k, len(ids) - 1)
        top = np.argpartition(-sims, k - 1)[:k] if k < len(ids) - 1 else np.arange(len(ids))
        top = top[np.argsort(-sims[top], kind="stable")][:k]
        return [(ids[int(i)], float(sims[i])) for i in top]


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _fit_box(coords: np.ndarray) -> np.ndarray:
    """Centred, and scaled so the farthest point is at distance 1 (what the page draws)."""
    out = coords - coords.mean(axis=0)
    reach = float(np.abs(out).max()) or 1.0
    return np.asarray(out / reach, dtype=np.float32)
