"""The projector's side on the server: sources opened once, projections computed once.

The web page's projector shows the sources named under ``"vectors"`` in the config: vectors
files (any format :mod:`embedlab.io` reads) and ``embed`` outputs (``.npy`` + ids, ``.parquet``),
with a metadata file's columns when the config names one and with thumbnails when it names the
folder of the images the ids are (``embed`` of a folder of photos); and the served search
collections (as ``collection:NAME``: their stored vectors, ids, texts and metadata). A
projection (PCA, UMAP or t-SNE, 2D or 3D, of the first ``limit`` rows) runs as a job in a
thread: UMAP and t-SNE take minutes on 100,000 points, so the page starts one, polls it (state
and seconds so far) and draws it when done; a finished job is kept, and asking again for the
same projection answers at once. With it come the columns the page colours by: the row
(frequency rank in frequency-ordered files), the count when the file has counts, a metadata
file's or a collection's scalar fields (TSV numbers as numbers), and a k-means cluster of the
original vectors. Neighbours are always found in the original space (cosine over every row),
never in the projection. A thumbnail is read only from inside the source's images folder, for
an id the source holds.
"""

from __future__ import annotations

import base64
import io
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..io.tables import is_scalar, read_embeddings, read_metadata
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
        self._index: dict[str, tuple[dict[str, int], np.ndarray | None]] = {}
        self._thumbs: OrderedDict[tuple[str, str], bytes] = OrderedDict()
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
            fields = {k for d in docs for k, v in d.metadata.items() if is_scalar(v)}
            for key in sorted(fields):
                columns[key] = [d.metadata.get(key) if is_scalar(d.metadata.get(key)) else None
                                for d in docs]  # fmt: skip
            return ids, np.asarray(col.vectors(ids), dtype=np.float32), columns
        from ..vectors import Vectors

        path = self.cfg.resolve(self.cfg.vectors[name])
        if path.suffix.lower() in (".npy", ".parquet"):
            ids, matrix, columns = read_embeddings(path)
            ids, matrix = ids[:most], matrix[:most]
            columns = {"row": list(range(len(ids))), **{k: v[:most] for k, v in columns.items()}}
        else:
            vec = Vectors.load(path)
            n = min(most, len(vec))
            ids, matrix = list(vec.index_to_key[:n]), vec.vectors[:n]
            columns = {"row": list(range(n))}
            if vec.counts is not None:
                columns["count"] = [int(c) for c in vec.counts[:n]]
        if name in self.cfg.metadata:
            extra = read_metadata(self.cfg.resolve(self.cfg.metadata[name]), ids)
            columns.update({k: _typed(v) for k, v in extra.items()})
        return ids, np.asarray(matrix, dtype=np.float32), columns

    def thumbnail(self, source: str, key: str, size: int = 128) -> bytes:
        """A JPEG of at most ``size`` pixels a side of the image ``key`` names in ``source``'s
        images folder (never a file outside it); the last 4,096 are kept."""
        from ..imagefiles import IMAGE_SUFFIXES, load_image

        if source not in self.cfg.images:
            raise ParameterError(f"{source!r} has no images folder")
        ids, _, _ = self.data(source)
        with self._lock:
            if (source, key) in self._thumbs:
                self._thumbs.move_to_end((source, key))
                return self._thumbs[(source, key)]
        root = self.cfg.resolve(self.cfg.images[source]).resolve()
        path = (root / key).resolve()
        if Path(key).suffix.lower() not in IMAGE_SUFFIXES or not path.is_relative_to(root):
            raise ParameterError(f"{key!r} is not an image in the images folder of {source!r}")
        if key not in self._keys(source, ids):
            raise ParameterError(f"{key!r} is not in {source!r}")
        image = load_image(path, max_pixels=self.cfg.limits.max_image_pixels)
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85)
        with self._lock:
            self._thumbs[(source, key)] = out.getvalue()
            while len(self._thumbs) > 4096:
                self._thumbs.popitem(last=False)
        return out.getvalue()

    def _keys(self, source: str, ids: list[str]) -> dict[str, int]:
        with self._lock:
            if source not in self._index:
                self._index[source] = ({i: n for n, i in enumerate(ids)}, None)
            return self._index[source][0]

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
                "images": job.source in self.cfg.images,
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
        index = self._keys(source, ids)
        with self._lock:
            unit = self._index[source][1]
            if unit is None:
                unit = normalized(matrix)
                self._index[source] = (index, unit)
        if key not in index:
            raise ParameterError(f"{key!r} is not in {source!r}")
        sims = unit @ unit[index[key]]
        sims[index[key]] = -np.inf
        k = min(k, len(ids) - 1)
        top = np.argpartition(-sims, k - 1)[:k] if k < len(ids) - 1 else np.arange(len(ids))
        top = top[np.argsort(-sims[top], kind="stable")][:k]
        return [(ids[int(i)], float(sims[i])) for i in top]


def _typed(values: list[Any]) -> list[Any]:
    """A column read as text (TSV, CSV) as numbers when every value that is there is one."""
    if not any(isinstance(v, str) for v in values):
        return values
    try:
        numbers = [None if v is None or v == "" else float(v) for v in values]
    except (TypeError, ValueError):
        return values
    if any(x is not None and not np.isfinite(x) for x in numbers):
        return values
    whole = all(x is None or x.is_integer() for x in numbers)
    return [None if x is None else int(x) if whole else x for x in numbers]


def _fit_box(coords: np.ndarray) -> np.ndarray:
    """Centred, and scaled so the farthest point is at distance 1 (what the page draws)."""
    out = coords - coords.mean(axis=0)
    reach = float(np.abs(out).max()) or 1.0
    return np.asarray(out / reach, dtype=np.float32)
