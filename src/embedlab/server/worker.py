"""An encoder in its own process, for the server's micro-batcher.

A neural encoder on a small CPU machine wants every core for its matrix products; the HTTP side
(parsing, validation, serializing) wants a little CPU at unpredictable moments. In one process
they also share the GIL: the encoder thread re-takes it between every operator, and each time the
event loop holds it the encoder's cores wait. :class:`EncoderProcess` loads the model in a child
process (``spawn``, so no state is shared) and answers ``encode`` calls over a pipe, so the two
sides only meet at the operating system's scheduler. The messages are plain bytes: JSON for the
texts (and the batch size), little-endian int32 token counts and float32 rows back — nothing is
pickled. The child also reports the model's dimension, name and maximum length when it is ready,
and counts each text's ``usage`` tokens with the model's tokenizer, so the server's process holds
no copy of the model at all.

The child is started again on the next call if it dies (out of memory, killed); the call that was
running when it died fails with :class:`WorkerDied` and the server answers 500 for it. A call not
answered within ``call_timeout`` seconds kills the child (:class:`WorkerTimeout`): a stuck model
costs one restart, not a server that waits forever.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing as mp
import os
import signal
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import WorkerDied, WorkerTimeout

logger = logging.getLogger(__name__)

__all__ = [
    "EncoderProcess",
    "WorkerDied",
    "WorkerTimeout",
    "cap_onednn_caches",
    "keep_freed_memory",
]

_READY, _VECTORS, _ERROR = b"R", b"V", b"E"


def _serve(conn: Any, source: str | None, options: dict[str, Any]) -> None:  # pragma: no cover
    """The child: load the encoder, then answer until an empty message (or the pipe closes).

    (Runs in the child process, where coverage is not collected; the tests exercise it.)
    """
    # Ctrl-C in a terminal reaches the whole process group; the server decides when this child
    # stops (it finishes the queued work first), so the child ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a call's few dozen texts tokenize faster on one thread than on a pool that wakes a thread
    # per core, spins after its work and takes those cores from the model (unless the user chose)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # a server's calls all differ in token count: oneDNN's per-shape caches would only grow
    cap_onednn_caches()
    try:
        from ..encoders import load_encoder
        from .usage import count_tokens, token_counter

        enc = load_encoder(source, **options)
        enc.encode(["warm up"], show_progress=False)
        counter = token_counter(enc)
        length = getattr(enc, "max_length", None)
        meta = {
            "dim": int(enc.dim),
            "name": str(getattr(enc, "name", source)),
            "max_length": None if length is None else int(length),
            "kind": type(enc).__name__,
        }
        conn.send_bytes(_READY + json.dumps(meta).encode())
    except BaseException as e:  # report why the model did not load, then stop
        conn.send_bytes(_ERROR + json.dumps({"type": type(e).__name__, "message": str(e)}).encode())
        return
    memory = _Heap()
    while True:
        try:
            if not conn.poll(_IDLE_S):
                memory.trim()  # nothing to do: give the freed memory back
            msg = conn.recv_bytes()
        except EOFError:  # the server went away
            return
        if not msg:
            return
        try:
            call = json.loads(msg)
            texts = call["texts"]
            size = call["batch_size"]
            if call.get("count") and hasattr(enc, "encode_counted"):  # one tokenization for both
                vectors, counts = enc.encode_counted(texts, batch_size=size)
            else:
                vectors = enc.encode(texts, batch_size=size, show_progress=False)
                counts = count_tokens(counter, texts) if call.get("count") else []
            rows = np.ascontiguousarray(np.asarray(vectors, dtype="<f4")).tobytes()
            conn.send_bytes(_VECTORS + np.asarray(counts, dtype="<i4").tobytes() + rows)
            memory.check()
        except Exception as e:  # the caller gets the error; the worker keeps serving
            err = {"type": type(e).__name__, "message": str(e)}
            conn.send_bytes(_ERROR + json.dumps(err).encode())


_IDLE_S = 1.0  # seconds without a call after which the child returns freed memory
_HEADROOM_MB = 256  # growth past the warmed-up size that triggers a trim under steady load
_KEEP_MB = 256  # freed memory glibc keeps for the next call instead of returning it at once
_ONEDNN_CACHES = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")
_CACHE_ENTRIES = 32


def cap_onednn_caches() -> None:
    """Cap oneDNN's and ideep's primitive caches at a few entries, in a process of our own that
    runs a transformer on ever-new shapes (before torch runs its first oneDNN op; a setting the
    user made wins). Each distinct token count builds a primitive (~0.6 MB) that is kept, up to
    1,024 of each cache, and almost never hit again: memory and page faults, no speed."""
    for name in _ONEDNN_CACHES:
        os.environ.setdefault(name, str(_CACHE_ENTRIES))


def keep_freed_memory(megabytes: int = 256) -> Any:
    """Let glibc keep up to ``megabytes`` of freed memory for the next allocation instead of
    returning it at once (``mallopt``), so a process that frees and re-allocates its working set
    call after call does not fault it back in every time. Returns ``malloc_trim`` (None where
    glibc is not the allocator). For processes of our own (the server's model worker, a Ray
    actor), never a user's."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        keep = megabytes * 2**20
        libc.mallopt(_M_TRIM_THRESHOLD, keep)
        libc.mallopt(_M_MMAP_THRESHOLD, min(keep, 32 * 2**20))  # glibc's largest
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


class _Heap:
    """Keeps the child's resident memory bounded without paying for it on every call.

    A call frees its activations and the next allocates as much again in other shapes. glibc
    returns freed memory to the system at once by default (the top of its heap, and blocks it
    mapped on their own), so every call faulted its working set back in: 3,000-20,000 page faults
    a call, 2-8% of the child's CPU in the kernel (measured under benchmarks/server_load.py). Here
    glibc keeps up to ``_KEEP_MB`` of it (``mallopt``), and what it keeps is returned when the
    child is idle (``trim``) or, under steady load, when the resident size passes ``limit``:
    ``_HEADROOM_MB`` past the size after warm-up at first. A trim that was needed because one
    call's working set is that large would be undone by the next call, so after a trim the limit
    becomes the larger of the size the trim found plus a quarter of the headroom and what it left
    plus the headroom: the child stays within the largest working set it has needed (plus the
    headroom) and trims again only when something new pushes well past it, a few times in a
    server's life. A no-op where glibc is not the allocator.
    """

    def __init__(self) -> None:
        self._trim: Any = keep_freed_memory(_KEEP_MB)
        self.trim()
        self.limit = _rss_mb() + _HEADROOM_MB

    def trim(self) -> None:
        if self._trim is not None:
            self._trim(0)

    def check(self) -> None:
        size = _rss_mb()
        if size > self.limit:
            self.trim()
            self.limit = max(size + _HEADROOM_MB / 4, _rss_mb() + _HEADROOM_MB)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class EncoderProcess:
    """``encode(texts)`` answered by a copy of ``load_encoder(source, **options)`` in a child process.

    One caller at a time (the micro-batcher's thread); a lock makes concurrent calls take turns.
    """

    def __init__(
        self,
        source: str | None,
        *,
        timeout: float = 600.0,
        call_timeout: float | None = 300.0,
        **options: Any,
    ) -> None:
        self.source = source
        self.options = options
        self.timeout = timeout
        self.call_timeout = call_timeout
        self.dim = 0
        self.name = str(source)
        self.max_length: int | None = None
        self.kind = ""
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Any = None
        self._start()

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_serve,
            args=(child, self.source, self.options),
            name=f"embedlab-encoder[{self.source or 'default'}]",
            daemon=True,
        )
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        try:
            ready = parent.poll(self.timeout)
            msg = parent.recv_bytes() if ready else b""
        except (EOFError, OSError) as e:
            self.close()
            raise WorkerDied(
                f"the encoder process for {self.source!r} exited while loading (started from a "
                "script? the process is spawned, which re-runs the script's top level: put the "
                "server start under `if __name__ == '__main__':`)"
            ) from e
        if not ready:
            self.close()  # stops (or kills) the stuck child
            raise WorkerDied(f"the encoder process did not start in {self.timeout:.0f} s")
        if msg[:1] == _ERROR:
            err = json.loads(msg[1:])
            self.close()
            raise RuntimeError(f"loading {self.source!r} failed: {err['type']}: {err['message']}")
        meta = json.loads(msg[1:])
        self.dim, self.name = int(meta["dim"]), str(meta["name"])
        self.max_length, self.kind = meta.get("max_length"), str(meta.get("kind", ""))
        logger.info("encoder %s runs in process %s", self.name, proc.pid)

    @property
    def alive(self) -> bool:
        """Whether the child is running (a killed one stops counting once it has been reaped)."""
        return self._proc is not None and bool(self._proc.is_alive())

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else int(self._proc.pid)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> npt.NDArray[np.float32]:
        """Vectors for ``texts``, one row each, as the child's encoder returns them."""
        del show_progress  # the child never shows one
        return self._call(list(texts), batch_size, count=False)[0]

    def encode_counted(
        self, texts: Sequence[str], *, batch_size: int = 32
    ) -> tuple[npt.NDArray[np.float32], list[int]]:
        """Vectors and each text's ``usage`` tokens, both counted in the child (the server's
        process holds no copy of the model, not even its tokenizer)."""
        return self._call(list(texts), batch_size, count=True)

    def _call(
        self, texts: list[str], batch_size: int, *, count: bool
    ) -> tuple[npt.NDArray[np.float32], list[int]]:
        message = json.dumps({"texts": texts, "batch_size": batch_size, "count": count}).encode()
        with self._lock:
            if not self.alive:
                logger.warning("the encoder process is gone; starting a new one")
                self.close()
                self._start()
            try:
                self._conn.send_bytes(message)
                if self.call_timeout is not None and not self._conn.poll(self.call_timeout):
                    self._kill()  # stuck: the next call starts a fresh child
                    raise WorkerTimeout(
                        f"the encoder process did not answer in {self.call_timeout:g} s; "
                        "it was stopped and will be restarted"
                    )
                msg = self._conn.recv_bytes()
            except (EOFError, OSError) as e:
                code = self._proc.exitcode if self._proc is not None else None
                self.close()
                raise WorkerDied(
                    f"the encoder process died during a call (exit code {code})"
                ) from e
        if msg[:1] == _ERROR:
            err = json.loads(msg[1:])
            raise RuntimeError(f"{err['type']}: {err['message']}")
        n = len(texts) if count else 0
        counts = np.frombuffer(msg, dtype="<i4", count=n, offset=1).tolist()
        rows = np.frombuffer(msg, dtype="<f4", offset=1 + 4 * n)
        return rows.reshape(len(texts), self.dim).astype(np.float32), counts  # a writable copy

    def _kill(self) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if proc is not None:
            proc.kill()
            proc.join(10)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Ask the child to stop (it finishes the call it is on), then reap it."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send_bytes(b"")
            conn.close()
        if proc is not None:
            proc.join(10)
            if proc.is_alive():  # pragma: no cover - a stuck child
                proc.kill()
                proc.join(5)

    def __enter__(self) -> EncoderProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
