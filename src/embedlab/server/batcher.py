"""Micro-batching: requests that arrive together share one encoder call.

Each model gets one :class:`MicroBatcher` and one encoder thread. ``await batcher.embed(texts)``
queues the texts; the thread takes everything queued (up to ``max_batch`` texts), runs
``encoder.encode`` once, and hands each request its rows back on the event loop. Before a call
it waits for company: up to ``max_wait`` seconds, counted from the later of the oldest queued
request's arrival and the end of the previous call, but no longer than ``max_gap`` seconds after
the last arrival. Clients answered by one call come straight back; the short wait lets their next
requests join the next call (fewer, larger calls run faster per text), and the gap rule starts
the encoder as soon as the arrivals stop, so it idles little under load. The queue is bounded:
beyond ``max_pending`` queued texts ``embed`` raises :class:`QueueFull` at once (the server answers
503) instead of letting latency grow without bound. This module knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import QueueFull
from .usage import Counter, count_tokens

logger = logging.getLogger(__name__)

__all__ = ["MicroBatcher", "QueueFull"]

Matrix = npt.NDArray[np.float32]


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future[tuple[Matrix, int]] = field(repr=False)
    queued: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Collects concurrent requests for one encoder into batched ``encode`` calls."""

    def __init__(
        self,
        encoder: Any,
        *,
        counter: Counter | None = None,
        max_batch: int = 64,
        max_wait: float = 0.005,
        max_gap: float = 0.001,
        max_pending: int = 4096,
    ) -> None:
        self.encoder = encoder
        self.counter = counter
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_gap = max_gap
        self.max_pending = max_pending
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0  # texts queued or being encoded; changed on the event loop only
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.calls = 0  # encoder calls made, for tests and metrics
        self.busy = 0.0  # seconds spent inside encoder calls
        self._ended = 0.0  # when the last call finished

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="embedlab-encoder", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Finish what is queued, then stop the encoder thread."""
        if self._thread is not None:
            self._jobs.put(None)  # behind every queued job
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    async def embed(self, texts: Sequence[str]) -> Matrix:
        """The vectors of ``texts``, one row each."""
        return (await self.embed_counted(texts))[0]

    async def embed_counted(self, texts: Sequence[str]) -> tuple[Matrix, int]:
        """The vectors of ``texts`` and their ``usage`` tokens, counted off the event loop: by
        the encoder itself where it can (``encode_counted``: the encoder's process, a
        transformer's own tokenization) or with ``counter`` in the encoder thread."""
        if self._thread is None or self._loop is None:
            raise RuntimeError("the batcher is not started")
        if self._pending + len(texts) > self.max_pending:
            raise QueueFull(f"{self._pending} texts are waiting; the limit is {self.max_pending}")
        job = _Job(list(texts), self._loop.create_future())
        self._pending += len(texts)
        self._jobs.put(job)
        try:
            return await job.future
        finally:
            self._pending -= len(texts)

    # -- the encoder thread ---------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            jobs, size, stopping = [first], len(first.texts), False
            deadline = max(first.queued, self._ended) + self.max_wait
            while size < self.max_batch:
                left = deadline - time.perf_counter()
                try:
                    job = self._jobs.get(timeout=max(0.0, min(left, self.max_gap)))
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                jobs.append(job)
                size += len(job.texts)
            self._serve(jobs)
            if stopping:
                return

    def _serve(self, jobs: list[_Job]) -> None:
        jobs = [job for job in jobs if not job.future.done()]  # timed out or gone: skip the work
        if not jobs:
            return
        texts = [t for job in jobs for t in job.texts]
        start = time.perf_counter()
        self.calls += 1
        try:
            # one forward for the whole call where the encoder can (see encoders._packed: a
            # 76-text call ran 3% faster as one batch than cut at the default 32)
            size = max(1, len(texts))
            if hasattr(self.encoder, "encode_counted"):
                vectors, counts = self.encoder.encode_counted(texts, batch_size=size)
            else:
                vectors = self.encoder.encode(texts, batch_size=size, show_progress=False)
                counts = count_tokens(self.counter, texts) if self.counter else [0] * len(texts)
            if hasattr(vectors, "tocsr"):  # a sparse (SPLADE) model: rows stay sparse
                matrix = vectors.tocsr()
            else:
                matrix = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        except Exception as e:  # every waiting request learns of the failure
            for job in jobs:
                self._deliver(job, None, e)
        else:
            at = 0
            for job in jobs:
                end = at + len(job.texts)
                self._deliver(job, (matrix[at:end], int(sum(counts[at:end]))), None)
                at = end
        finally:
            self._ended = time.perf_counter()
            self.busy += self._ended - start

    def _deliver(self, job: _Job, rows: tuple[Matrix, int] | None, error: Exception | None) -> None:
        def settle() -> None:
            if job.future.done():  # the client went away
                return
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(rows)  # type: ignore[arg-type]

        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            logger.debug("event loop closed before a result could be delivered")
