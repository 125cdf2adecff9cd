"""Micro-batching: requests that arrive together share one encoder call.

Each model gets one :class:`MicroBatcher`. ``await batcher.embed(texts)`` queues the texts; a
single worker task takes everything queued (waiting up to ``max_wait`` seconds for more, up to
``max_batch`` texts), runs ``encoder.encode`` once in a worker thread, and hands each request its
rows. The queue is bounded: beyond ``max_pending`` queued texts ``embed`` raises
:class:`QueueFull` at once (the server answers 503) instead of letting latency grow without bound.
This module knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = ["MicroBatcher", "QueueFull"]


class QueueFull(RuntimeError):
    """Too many texts are already waiting for this model."""


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future[npt.NDArray[np.float32]] = field(repr=False)


class MicroBatcher:
    """Collects concurrent requests for one encoder into batched ``encode`` calls."""

    def __init__(
        self, encoder: Any, *, max_batch: int = 64, max_wait: float = 0.005, max_pending: int = 4096
    ) -> None:
        self.encoder = encoder
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_pending = max_pending
        self._queue: asyncio.Queue[_Job] | None = None
        self._pending = 0
        self._worker: asyncio.Task[None] | None = None
        self.calls = 0  # encoder calls made, for tests and metrics

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Finish what is queued, then stop the worker."""
        if self._queue is not None:
            await self._queue.join()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if self._queue is None:
            raise RuntimeError("the batcher is not started")
        if self._pending + len(texts) > self.max_pending:
            raise QueueFull(f"{self._pending} texts are waiting; the limit is {self.max_pending}")
        loop = asyncio.get_running_loop()
        job = _Job(list(texts), loop.create_future())
        self._pending += len(texts)
        await self._queue.put(job)
        return await job.future

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            first = await queue.get()
            jobs = [first]
            size = len(first.texts)
            deadline = asyncio.get_running_loop().time() + self.max_wait
            while size < self.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                jobs.append(job)
                size += len(job.texts)
            await self._serve(jobs)
            for _ in jobs:
                queue.task_done()

    async def _serve(self, jobs: list[_Job]) -> None:
        texts = [t for job in jobs for t in job.texts]
        try:
            self.calls += 1
            vectors = await asyncio.to_thread(self.encoder.encode, texts, show_progress=False)
            matrix = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        except Exception as e:  # every waiting request learns of the failure
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(e)
        else:
            start = 0
            for job in jobs:
                rows = matrix[start : start + len(job.texts)]
                start += len(job.texts)
                if not job.future.done():
                    job.future.set_result(rows)
        finally:
            self._pending -= len(texts)
