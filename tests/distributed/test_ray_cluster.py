"""A two-node Ray cluster on this machine (``ray start --head`` + ``ray start --address``), started
and stopped here: the job's actors land on both nodes and match in-process encoding; a driver killed
mid-job leaves whole shards that the rerun keeps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("torch")

from raycluster import ENV, LocalCluster  # noqa: E402
from test_ray_local import shards_of  # noqa: E402
from test_shards import corpus, reference  # noqa: E402

from embedlab.distributed import embed_dataset  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    if ray.is_initialized():  # another module's local Ray
        ray.shutdown()
    c = LocalCluster(cpus=[1, 1])
    try:
        yield c
    finally:
        c.stop()
    assert not c.alive()


def test_actors_land_on_both_nodes_and_match_in_process(
    tmp_path: Path, cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from embedlab.encoders import load_encoder
    from encoders.conftest import _make_bert

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    _make_bert(tmp_path / "bert")
    src = corpus(tmp_path / "in")
    result = embed_dataset(
        src, str(tmp_path / "bert"), tmp_path / "out", address=cluster.address, actors=2,
        threads=1, shard_rows=2,
    )  # fmt: skip
    assert not ray.is_initialized()  # the job disconnected; the cluster lives on
    assert cluster.alive()
    assert result.embedded_shards == result.shards == 13
    assert len(result.nodes) == 2  # one actor per node: each node has one CPU
    ids, texts = reference(src)
    got = shards_of(tmp_path / "out")
    assert got.column("id").to_pylist() == ids
    np.testing.assert_allclose(
        np.asarray(got.column("embedding").to_pylist(), np.float32),
        load_encoder(str(tmp_path / "bert")).encode(texts),
        atol=1e-6,
    )


DRIVER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import numpy as np
    from embedlab.distributed import embed_dataset

    src, out, address, gate = sys.argv[1:5]

    class Gated:
        '''Hash vectors; with the gate file absent, calls after the second never finish.'''

        name, dim, max_length = "gated", 3, None
        calls = 0

        def encode(self, texts, **_):
            Gated.calls += 1
            if not Path(gate).exists() and Gated.calls > 2:
                time.sleep(3600)
            return np.array([[len(t), t.count(" "), 1] for t in texts], np.float32)

    r = embed_dataset(src, Gated, out, address=address, actors=1, threads=1, shard_rows=3)
    print("embedded", r.embedded_shards, "skipped", r.skipped_shards, flush=True)
    """
)


def test_a_killed_driver_leaves_whole_shards_and_the_rerun_embeds_the_rest(
    tmp_path: Path, cluster: LocalCluster
) -> None:
    src = corpus(tmp_path / "in")
    out = tmp_path / "out"
    gate = tmp_path / "gate"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    cmd = [sys.executable, str(script), str(src), str(out), cluster.address, str(gate)]
    driver = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while len(list(out.glob("part-*.parquet"))) < 2 and time.monotonic() < deadline:
        assert driver.poll() is None, driver.stdout.read().decode()[-3000:]  # type: ignore[union-attr]
        time.sleep(0.1)
    time.sleep(0.5)  # the third call is stuck in the actor
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    driver.stdout.close()  # type: ignore[union-attr]
    first = sorted(out.glob("part-*.parquet"))
    assert len(first) == 2
    kept = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in first}
    gate.write_text("open")
    rerun = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "embedded 7 skipped 2" in rerun.stdout
    assert {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in first} == kept
    ids, texts = reference(src)
    got = shards_of(out)
    assert got.column("id").to_pylist() == ids  # complete, each id once
    np.testing.assert_array_equal(
        np.asarray(got.column("embedding").to_pylist(), np.float32),
        np.array([[len(t), t.count(" "), 1] for t in texts], np.float32),
    )
