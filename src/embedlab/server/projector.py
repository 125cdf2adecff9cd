"""The projector's side on the server: vectors files opened once, projections computed once.

The web page's projector shows the vectors files named under ``"vectors"`` in the config (any
format :mod:`embedlab.io` reads). A projection (PCA, UMAP or t-SNE, 2D or 3D, of the first
``limit`` rows) runs as a job in a thread: UMAP and t-SNE take minutes on 100,000 points, so the
page starts one, polls it (state and seconds so far) and draws it when done; a finished job is
kept, and asking again for the same projection answers at once. With it come the columns the page
colours by: the row (frequency rank in frequency-ordered files), the count when the file has
counts, and a k-means cluster of the original vectors. Neighbours are always found in the
original space (cosine over every row), never in the projection.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
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

    def __init__(self, cfg: ServerConfig, clusters: int = 12) -> None:
        self.cfg, self.clusters = cfg, clusters
        self._vectors: dict[str, Any] = {}
        self._jobs: dict[str, Job] = {}
        self._by_key: dict[tuple[str, str, int, int], Job] = {}
        self._lock = threading.Lock()

    def sources(self) -> list[str]:
        return sorted(self.cfg.vectors)

    def vectors(self, name: str) -> Any:
        """The vectors file served as ``name``, read on first use."""
        if name not in self.cfg.vectors:
            raise KeyError(name)
        with self._lock:
            if name not in self._vectors:
                from ..vectors import Vectors

                self._vectors[name] = Vectors.load(self.cfg.resolve(self.cfg.vectors[name]))
            return self._vectors[name]

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
            vec = self.vectors(job.source)
            n = min(job.limit, len(vec))
            x = np.asarray(vec.vectors[:n], dtype=np.float32)
            coords = project(x, job.method, dims=job.dims)  # type: ignore[arg-type]
            coords = _fit_box(coords)
            columns: dict[str, list[Any]] = {"row": list(range(n))}
            if vec.counts is not None:
                columns["count"] = [int(c) for c in vec.counts[:n]]
            columns["cluster"] = self._clusters(x)
            job.result = {
                "ids": list(vec.index_to_key[:n]),
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
        vec = self.vectors(source)
        if key not in vec:
            raise ParameterError(f"{key!r} is not in {source!r}")
        return [(w, float(s)) for w, s in vec.most_similar(key, topn=k)]


def _fit_box(coords: np.ndarray) -> np.ndarray:
    """Centred, and scaled so the farthest point is at distance 1 (what the page draws)."""
    out = coords - coords.mean(axis=0)
    reach = float(np.abs(out).max()) or 1.0
    return np.asarray(out / reach, dtype=np.float32)
