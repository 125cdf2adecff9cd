"""Encoders in their own process (server.worker) and the micro-batcher's waiting rules."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab.server.batcher import MicroBatcher

TEXTS = ["the river bank was muddy", "a man is playing a guitar", "stock markets fell"]


class Recording:
    """Remembers each call's texts; the first call waits until ``release`` is set."""

    dim = 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.batch_sizes: list[int] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def encode(
        self, texts: list[str], batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        self.calls.append(list(texts))
        self.batch_sizes.append(batch_size)
        if len(self.calls) == 1:
            self.started.set()
            self.release.wait(10)
        return np.full((len(texts), self.dim), len(self.calls), np.float32)


def test_requests_queued_during_a_call_share_the_next_one() -> None:
    enc = Recording()

    async def run() -> list[np.ndarray]:
        b = MicroBatcher(enc, max_wait=0.05, max_gap=0.05)
        await b.start()
        first = asyncio.ensure_future(b.embed(["a"]))
        await asyncio.to_thread(enc.started.wait, 10)
        rest = [asyncio.ensure_future(b.embed([t])) for t in ("b", "c", "d")]
        await asyncio.sleep(0.01)
        enc.release.set()
        out = await asyncio.gather(first, *rest)
        await b.stop()
        return out

    out = asyncio.run(run())
    assert enc.calls == [["a"], ["b", "c", "d"]]
    assert enc.batch_sizes == [1, 3]  # a call runs as one batch where the encoder can
    assert [float(o[0, 0]) for o in out] == [1.0, 2.0, 2.0, 2.0]  # each got its own call's rows


def test_a_lone_request_does_not_wait_out_max_wait() -> None:
    """max_wait is a ceiling: with no second request arriving, the gap rule starts the call."""
    enc = Recording()
    enc.release.set()

    async def run() -> np.ndarray:
        b = MicroBatcher(enc, max_wait=120.0, max_gap=0.01)
        await b.start()
        out = await asyncio.wait_for(b.embed(["alone"]), 60)  # would time out at max_wait
        await b.stop()
        return out

    assert asyncio.run(run()).shape == (1, 4)


# -- an encoder in its own process --------------------------------------------------------------

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from encoders.conftest import _make_bert  # the tiny random BERT the encoder tests use

    folder = tmp_path_factory.mktemp("worker_bert")
    _make_bert(folder)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0); its state says it is gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return True


def test_encoder_process_matches_in_process_and_survives_errors_and_kills(tiny_bert: Path) -> None:
    from embedlab.encoders import load_encoder
    from embedlab.server.worker import EncoderProcess, WorkerDied

    want = load_encoder(str(tiny_bert)).encode(TEXTS)
    with EncoderProcess(str(tiny_bert)) as worker:
        first = worker.pid
        assert worker.dim == 32 and first is not None and first != os.getpid() and worker.alive
        np.testing.assert_allclose(worker.encode(TEXTS), want, atol=1e-5)
        assert worker.encode([]).shape == (0, 32)
        np.testing.assert_allclose(worker.encode(TEXTS, batch_size=1), want, atol=1e-5)
        with pytest.raises(RuntimeError, match="ParameterError: The 'batch_size' parameter"):
            worker.encode(TEXTS, batch_size=0)  # the batch size reaches the child's encoder
        with pytest.raises(RuntimeError, match="Error"):  # the child's error, by type and message
            worker.encode([123])  # type: ignore[list-item]
        np.testing.assert_allclose(worker.encode(TEXTS[:1]), want[:1], atol=1e-5)  # still serving
        os.kill(first, signal.SIGINT)  # Ctrl-C reaches the whole group: the server decides
        np.testing.assert_allclose(worker.encode(TEXTS[:1]), want[:1], atol=1e-5)
        assert worker.pid == first
        os.kill(first, signal.SIGKILL)
        for _ in range(200):  # until the kernel has finished it (all of its threads)
            if not worker.alive:
                break
            time.sleep(0.05)
        assert not worker.alive
        np.testing.assert_allclose(worker.encode(TEXTS), want, atol=1e-5)  # a new child
        assert worker.pid not in (None, first)
        second = worker.pid
    assert second is not None and not _alive(second)  # close() reaped it
    assert issubclass(WorkerDied, RuntimeError)


def test_a_model_that_does_not_load_says_why(tmp_path: Path, tiny_bert: Path) -> None:
    from embedlab.server.worker import EncoderProcess, WorkerDied

    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(RuntimeError, match=r"loading .* failed: \w+"):
        EncoderProcess(str(tmp_path))
    with pytest.raises(WorkerDied, match="did not start in 0 s"):
        EncoderProcess(str(tiny_bert), timeout=0.01)
    assert not [p for p in mp.active_children() if p.name.startswith("embedlab-encoder")]


def test_a_script_without_a_main_guard_is_told_what_to_do(tmp_path: Path, tiny_bert: Path) -> None:
    """Spawn re-runs the script's top level in the child, which then fails to start its own
    child; the parent's error names the cure."""
    import subprocess
    import sys

    script = tmp_path / "serve.py"
    script.write_text(
        "from embedlab.server.worker import EncoderProcess\n"
        f"EncoderProcess({str(tiny_bert)!r}).close()\n"
        "print('started')\n"
    )
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert run.returncode != 0 and "started" not in run.stdout
    assert "exited while loading" in run.stderr
    assert "if __name__ == '__main__':" in run.stderr


def test_server_runs_config_models_in_their_own_process(tiny_bert: Path) -> None:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from test_server import Running

    from embedlab.encoders import load_encoder
    from embedlab.server import ServerConfig
    from embedlab.server.app import create_app
    from embedlab.server.worker import EncoderProcess

    local = load_encoder(str(tiny_bert))
    want = local.encode(TEXTS)
    pieces = sum(len(x) for x in local.tokenizer(TEXTS)["input_ids"])  # type: ignore[attr-defined]
    for isolate in (True, False):
        app = create_app(ServerConfig(models={"tiny": str(tiny_bert)}, isolate=isolate))
        with Running(app) as url:
            r = httpx.post(f"{url}/v1/embeddings", json={"model": "tiny", "input": TEXTS})
            got = np.array([d["embedding"] for d in r.json()["data"]], np.float32)
            np.testing.assert_allclose(got, want, atol=1e-5)
            assert r.json()["usage"]["prompt_tokens"] == pieces  # with [CLS] and [SEP]
            worker: Any = app.state.embedlab.models["tiny"].encoder
            assert isinstance(worker, EncoderProcess) == isolate
            pid = worker.pid if isolate else None
        if pid is not None:  # shutting down stopped the child
            assert not _alive(pid)


def test_a_stuck_encoder_process_is_killed_and_restarted(tiny_bert: Path) -> None:
    from embedlab.server.worker import EncoderProcess, WorkerTimeout

    with EncoderProcess(str(tiny_bert), call_timeout=1.0) as worker:
        stuck = worker.pid
        assert stuck is not None
        os.kill(stuck, signal.SIGSTOP)  # the child stops answering, as a hung model would
        with pytest.raises(WorkerTimeout, match="did not answer in 1 s"):
            worker.encode(TEXTS)
        for _ in range(200):
            if not _alive(stuck):
                break
            time.sleep(0.05)
        assert not _alive(stuck)  # killed, not left behind
        assert worker.encode(TEXTS).shape == (3, 32) and worker.pid not in (None, stuck)


def test_the_worker_trims_its_heap_when_it_grows_past_the_headroom(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from embedlab.server import worker

    # after warm-up (limit 500 + 256); within it; past it (the trim leaves 700: limit
    # max(900 + 64, 700 + 256)); within the new limit (no trim); past it (the trim leaves 600:
    # limit 1000 + 64); within that
    sizes = iter([500.0, 600.0, 900.0, 700.0, 950.0, 1000.0, 600.0, 1060.0])
    monkeypatch.setattr(worker, "_rss_mb", lambda: next(sizes))
    heap = worker._Heap()
    trims: list[int] = []
    heap._trim = lambda pad: trims.append(pad)
    heap.check()
    assert trims == [] and heap.limit == 756.0
    heap.check()
    assert trims == [0] and heap.limit == 964.0
    heap.check()
    assert trims == [0]
    heap.check()
    assert trims == [0, 0] and heap.limit == 1064.0
    heap.check()
    assert trims == [0, 0]


_KEEPS = """
import ctypes
from embedlab.server import worker
libc = ctypes.CDLL("libc.so.6")
class Info(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(n, ctypes.c_size_t) for n in names.split()]
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if WITH_HEAP:
    worker._Heap()  # glibc's thresholds as the encoder process sets them
before = libc.mallinfo2().hblkhd  # bytes in blocks mapped on their own
block = libc.malloc(8 * 2**20)  # 8 MB: past glibc's default 128 kB mapping threshold
print(libc.mallinfo2().hblkhd - before)
libc.free(block)
"""


@pytest.mark.parametrize("with_heap", [False, True])
def test_the_worker_keeps_freed_memory_for_the_next_call(with_heap: bool) -> None:
    import ctypes
    import subprocess
    import sys

    try:
        ctypes.CDLL("libc.so.6").mallinfo2  # noqa: B018
    except (OSError, AttributeError):
        pytest.skip("glibc >= 2.33 is not the allocator here")
    code = _KEEPS.replace("WITH_HEAP", str(with_heap))  # in a process of its own: mallopt is global
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mapped = int(out.stdout.split()[-1])
    # glibc maps a fresh 8 MB block on its own (and unmaps it when freed: faulted in again on
    # every call); with the worker's settings it comes from the heap and stays there
    assert mapped == 0 if with_heap else mapped >= 8 * 2**20


def test_an_isolated_model_is_loaded_only_in_its_own_process(
    tiny_bert: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from test_server import Running

    import embedlab.encoders
    from embedlab.server import ServerConfig
    from embedlab.server.app import create_app

    def not_here(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the server's process loaded the model")

    monkeypatch.setattr(embedlab.encoders, "load_encoder", not_here)  # the spawned child is fresh
    app = create_app(ServerConfig(models={"tiny": str(tiny_bert)}, isolate=True))
    with Running(app) as url:
        r = httpx.post(f"{url}/v1/embeddings", json={"model": "tiny", "input": TEXTS})
        assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] > len(TEXTS)
        models = httpx.get(f"{url}/v1/models").json()["data"]
        assert models[0]["id"] == "tiny" and models[0]["dimensions"] == 32
