"""Batch embedding on a Ray started in this process with 2 CPUs (``ray.init``): dense, sparse and
static encoders give what in-process encoding gives; a rerun skips; a killed actor is replaced and
every id is written once; the CLI's ``embed --ray``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("torch")

from test_shards import corpus, reference  # noqa: E402

from clirun import run  # noqa: E402
from embedlab.distributed import EncoderSpec, embed_dataset  # noqa: E402
from embedlab.distributed.shards import text_sha1  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Any:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    import sys

    from ray import cloudpickle  # workers cannot import this test module: send its classes whole

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from encoders.conftest import _make_bert  # the tiny random BERT the encoder tests use

    folder = tmp_path_factory.mktemp("ray_bert")
    _make_bert(folder)
    return folder


def shards_of(out: Path) -> Any:
    return pa.concat_tables([pq.read_table(f) for f in sorted(out.glob("part-*.parquet"))])


def test_dense_shards_equal_in_process_encoding_and_a_rerun_skips(
    tmp_path: Path, tiny_bert: Path
) -> None:
    from embedlab.encoders import load_encoder

    src = corpus(tmp_path / "in")
    out = tmp_path / "out"
    result = embed_dataset(src, EncoderSpec(str(tiny_bert), batch_size=4), out, shard_rows=5)
    assert (result.shards, result.embedded_shards, result.skipped_shards) == (6, 6, 0)
    assert result.rows == result.embedded_rows == 23 and len(result.nodes) == 1
    ids, texts = reference(src)
    got = shards_of(out)
    assert got.column("id").to_pylist() == ids
    assert got.column("text_sha1").to_pylist() == [text_sha1(t) for t in texts]
    vectors = np.asarray(got.column("embedding").to_pylist(), np.float32)
    expected = load_encoder(str(tiny_bert)).encode(texts)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    stamps = {f.name: f.stat().st_mtime_ns for f in out.glob("part-*")}
    again = embed_dataset(src, EncoderSpec(str(tiny_bert), batch_size=4), out, shard_rows=5)
    assert (again.embedded_shards, again.skipped_shards) == (0, 6)
    assert {f.name: f.stat().st_mtime_ns for f in out.glob("part-*")} == stamps
    with pytest.raises(Exception, match="another job's shards: the settings differ"):
        embed_dataset(src, EncoderSpec(str(tiny_bert), normalize=False), out)
    from embedlab.distributed.index import index_shards

    col = index_shards(out, tmp_path / "col")  # the job's own encoder answers its queries
    assert len(col) == 23 and col.get("b.csv:2").text == "csv 0"
    assert col.search("csv 0", 1, mode="sparse")[0].id == "b.csv:2"


def test_sparse_and_static_encoders_alike(tmp_path: Path, tiny_bert: Path) -> None:
    from embedlab.encoders import StaticEncoder
    from embedlab.encoders.sparse import SpladeEncoder
    from embedlab.io.tables import sparse_embeddings_table
    from embedlab.vectors import Vectors
    from encoders.test_sparse import _make_mlm

    src = corpus(tmp_path / "in")
    ids, texts = reference(src)
    mlm = _make_mlm(tmp_path / "mlm")
    embed_dataset(src, EncoderSpec(str(mlm), sparse=True), tmp_path / "sparse", shard_rows=9)
    splade = SpladeEncoder(str(mlm))
    expected = sparse_embeddings_table(ids, splade.encode(texts), splade.vocab)
    got = shards_of(tmp_path / "sparse")
    assert got.column("terms").to_pylist() == expected.column("terms").to_pylist()
    np.testing.assert_allclose(
        np.concatenate(got.column("weights").to_pylist()),
        np.concatenate(expected.column("weights").to_pylist()),
        atol=1e-6,
    )
    words = sorted({w for t in texts for w in t.lower().replace(",", " ").split()})
    table = np.random.default_rng(0).normal(size=(len(words), 8)).astype(np.float32)
    static = StaticEncoder(Vectors(words, table))
    static.save(tmp_path / "static")
    embed_dataset(src, str(tmp_path / "static"), tmp_path / "s_out", shard_rows=6)
    got = shards_of(tmp_path / "s_out")
    np.testing.assert_allclose(
        np.asarray(got.column("embedding").to_pylist(), np.float32), static.encode(texts), atol=1e-6
    )


def test_a_killed_actor_is_replaced_and_every_id_is_written_once(tmp_path: Path) -> None:
    src = corpus(tmp_path / "in")
    marker = tmp_path / "killed-once"

    class Crashing(Hashing):
        """The first actor to see 'csv 3' kills its own process, hard."""

        def encode(self, texts: list[str], **_: Any) -> np.ndarray:
            if "csv 3" in texts and not marker.exists():
                marker.write_text(str(os.getpid()))
                os.kill(os.getpid(), 9)
            return super().encode(texts)

    result = embed_dataset(src, Crashing, tmp_path / "out", shard_rows=3)
    assert marker.exists()  # an actor did die mid-job
    assert result.embedded_shards == result.shards == 9
    ids, texts = reference(src)
    got = shards_of(tmp_path / "out")
    assert got.column("id").to_pylist() == ids  # each once, in order
    np.testing.assert_array_equal(
        np.asarray(got.column("embedding").to_pylist(), np.float32),
        Crashing().encode(texts[:0] + texts),
    )


class Hashing:
    """Vectors from a text's length, spaces and characters: a stand-in model, quick to load."""

    name, dim, max_length = "hashing", 4, None

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        return np.array(
            [[len(t), t.count(" "), sum(map(ord, t)) % 97, 1] for t in texts], np.float32
        )


def test_inputs_named_by_url_are_read_by_the_actors(tmp_path: Path) -> None:
    """A folder served over HTTP (fsspec's http store) gives the shards the same folder on disk
    gives: the driver lists and counts through the URL, the actors read their slices from it."""
    import functools
    import http.server
    import threading

    pytest.importorskip("aiohttp")  # fsspec's http store
    src = corpus(tmp_path / "www" / "docs")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/docs/"
        result = embed_dataset(url, Hashing, tmp_path / "out", shard_rows=3)
    finally:
        server.shutdown()
        server.server_close()
    embed_dataset(src, Hashing, tmp_path / "local", shard_rows=3)
    assert result.shards == 9 and result.rows == 23
    got, local = shards_of(tmp_path / "out"), shards_of(tmp_path / "local")
    assert got.column("id").to_pylist() == local.column("id").to_pylist() == reference(src)[0]
    assert got.column("text_sha1").equals(local.column("text_sha1"))
    assert got.column("embedding").equals(local.column("embedding"))


def test_cli_embed_on_ray(
    tmp_path: Path, tiny_bert: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = corpus(tmp_path / "in")
    out = tmp_path / "out"
    argv = ["embed", str(src), "-o", str(out), "--ray", "-m", str(tiny_bert), "--shard-rows", "10"]
    code, stdout, err = run(capsys, *argv)
    assert code == 0, err
    assert "texts:   23 in 4 shards" in stdout and "on 1 node(s)" in stdout
    assert len(list(out.glob("part-*.parquet"))) == 4
    code, stdout, _ = run(capsys, *argv)  # the same job again
    assert code == 0 and "skipped: 4 shards already written and verified" in stdout
    code, _, err = run(
        capsys, "embed", str(src / "a.jsonl"), "-o", str(tmp_path / "x.npy"), "--actors", "2"
    )
    assert code != 0 and "--actors and --shard-rows are for --ray jobs" in err


def test_served_replicas_answer_as_embedlab_serve_does(tmp_path: Path, tiny_bert: Path) -> None:
    serve = pytest.importorskip("ray.serve")
    httpx = pytest.importorskip("httpx")
    import socket

    from embedlab.distributed.replicas import serve_replicas, stop_replicas
    from embedlab.encoders import load_encoder
    from embedlab.server.config import ServerConfig

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = ServerConfig(models={"tiny": str(tiny_bert)}, isolate=False)
    ready: list[str] = []
    url = serve_replicas(
        cfg, replicas=2, threads=1, port=port, blocking=False, on_ready=ready.append
    )
    assert ready == [url]
    try:
        running = serve.status().applications["embedlab"].deployments["embedlab"]
        assert running.replica_states.get("RUNNING") == 2
        texts = ["the river bank", "a man is playing a guitar", "stock markets fell"]
        with httpx.Client(base_url=url, timeout=60) as client:
            answers = [
                client.post("/v1/embeddings", json={"model": "tiny", "input": texts[i:]})
                for i in range(3)
            ]
            assert client.get("/v1/models").json()["data"][0]["id"] == "tiny"
        expected = load_encoder(str(tiny_bert)).encode(texts)
        for i, r in enumerate(answers):
            assert r.status_code == 200, r.text
            got = np.array([d["embedding"] for d in r.json()["data"]], np.float32)
            np.testing.assert_allclose(got, expected[i:], atol=1e-5)
            assert r.json()["usage"]["prompt_tokens"] > 0
    finally:
        stop_replicas()
