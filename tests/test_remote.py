"""Record files named by URLs (fsspec's in-memory store here): the same records as the same
files on disk, skipping, errors that name the URL, and a job plan over a remote folder."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

fsspec = pytest.importorskip("fsspec")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from embedlab.distributed.shards import ShardPlan, list_inputs, read_shard  # noqa: E402
from embedlab.errors import FormatError, MissingDependencyError, ParameterError  # noqa: E402
from embedlab.records import count_records, iter_records, read_columns  # noqa: E402
from embedlab.remote import RemoteFile, is_url, locate  # noqa: E402


def _parquet_bytes() -> bytes:
    table = pa.table({"id": [f"p{i}" for i in range(10)], "text": [f"pq {i}" for i in range(10)]})
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=3)  # four row groups: skipping passes over some
    return sink.getvalue()


FILES = {
    "a.jsonl": "\n".join(
        json.dumps({"text": f"json {i}", "lang": "en"}) for i in range(5)
    ).encode(),
    "b.csv.gz": gzip.compress(b'text,score\n"a, quoted\nnewline",1\n' + b"csv 1,2\ncsv 2,3\n"),
    "c.txt.bz2": bz2.compress(b"line one\n\nline three\n"),
    "d.parquet": _parquet_bytes(),
    "_SUCCESS": b"",
}


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The same files in a fresh memory:// folder and on disk."""
    fs = fsspec.filesystem("memory")
    root = f"memory://test-{uuid.uuid4().hex}/docs"
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
        with fs.open(f"{root}/{name}", "wb") as f:
            f.write(data)
    yield root, tmp_path
    fs.rm(root, recursive=True)


def test_urls_are_told_from_paths() -> None:
    assert is_url("s3://bucket/docs/") and is_url("memory://x") and is_url("https://a.b/c.csv")
    assert not is_url("docs/a.jsonl") and not is_url("C:/data/a.csv") and not is_url(Path("a"))
    assert isinstance(locate("a/b.csv"), Path) and isinstance(locate("memory://b/x"), RemoteFile)


@pytest.mark.parametrize("name", ["a.jsonl", "b.csv.gz", "c.txt.bz2", "d.parquet"])
def test_a_url_gives_the_records_its_file_gives(remote: tuple[str, Path], name: str) -> None:
    url, local = remote[0] + "/" + name, remote[1] / name
    expected = list(iter_records(local))
    assert list(iter_records(url)) == expected and len(expected) >= 2
    assert count_records(url) == len(expected)
    for skip in (1, 3, len(expected)):  # parquet: past whole row groups, then inside one
        assert list(iter_records(url, skip=skip)) == expected[skip:]
        assert list(iter_records(local, skip=skip)) == expected[skip:]


def test_columns_from_a_url(remote: tuple[str, Path]) -> None:
    url = remote[0] + "/b.csv.gz"
    got = read_columns(url, {"text": "text", "score": "score"}, numeric=["score"])
    assert got == {"text": ["a, quoted\nnewline", "csv 1", "csv 2"], "score": [1.0, 2.0, 3.0]}


def test_errors_name_the_url(remote: tuple[str, Path]) -> None:
    root = remote[0]
    fs = fsspec.filesystem("memory")
    with fs.open(f"{root}/bad.jsonl", "wb") as f:
        f.write(b'{"text": "fine"}\n{"text": oops}\n')
    with fs.open(f"{root}/broken.jsonl.gz", "wb") as f:
        f.write(gzip.compress(b'{"text": "x"}\n' * 50)[:40])
    with pytest.raises(FormatError, match=rf"^{root}/bad.jsonl, line 2: "):
        list(iter_records(f"{root}/bad.jsonl"))
    with pytest.raises(FormatError, match=rf"^{root}/broken.jsonl.gz, byte \d+: corrupt gz"):
        list(iter_records(f"{root}/broken.jsonl.gz"))
    with pytest.raises(FormatError, match=rf"^{root}/d.parquet: expected a column 'body'"):
        list(iter_records(f"{root}/d.parquet", field="body"))
    with pytest.raises(FileNotFoundError, match=rf"no such file: {root}/nope.jsonl"):
        list(iter_records(f"{root}/nope.jsonl"))
    with pytest.raises(ParameterError, match=r"cannot read nosuchstore://x/a\.jsonl: Protocol not"):
        list(iter_records("nosuchstore://x/a.jsonl"))


def test_a_store_whose_driver_is_missing_says_what_to_install() -> None:
    try:
        import s3fs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("s3fs is installed here")
    with pytest.raises(MissingDependencyError, match=r"cannot read s3://bucket/a.jsonl: .*s3fs"):
        list(iter_records("s3://bucket/a.jsonl"))


def test_a_job_plan_over_a_remote_folder(remote: tuple[str, Path]) -> None:
    root = remote[0]
    files = list_inputs([root + "/"])
    assert [f.name for f in files] == ["a.jsonl", "b.csv.gz", "c.txt.bz2", "d.parquet"]
    assert all(str(f).startswith("memory://") for f in files)
    plan = ShardPlan.make(files, {"model": "m"}, shard_rows=4, field="text")
    assert [s.rows for s in plan.shards] == [4, 1, 3, 2, 4, 4, 2]
    assert plan.shards[2].id_prefix == "b.csv.gz:"  # relative to the inputs' common folder
    ids, texts = read_shard(plan.shards[5], field="text", id_field="id")
    assert ids == ["p4", "p5", "p6", "p7"] and texts == ["pq 4", "pq 5", "pq 6", "pq 7"]
    ids, _ = read_shard(plan.shards[2], field="text", id_field="id")
    assert ids == ["b.csv.gz:1", "b.csv.gz:2", "b.csv.gz:3"]
    assert plan.same_job(files, {"model": "m"}) is None
    with fsspec.open(f"{root}/a.jsonl", "wb") as f:  # rewritten: another version
        f.write(FILES["a.jsonl"])
    assert plan.same_job(files, {"model": "m"}) == f"{files[0]} changed since the job began"
    bookkeeping = f"memory://test-{uuid.uuid4().hex}/only"
    fsspec.filesystem("memory").pipe(f"{bookkeeping}/_SUCCESS", b"")
    with pytest.raises(ParameterError, match=f"{bookkeeping} holds no record files"):
        list_inputs([bookkeeping])
    with pytest.raises(FileNotFoundError, match="no such file or folder: memory://"):
        list_inputs([root + "/missing.jsonl"])


def test_cli_embeds_a_url(
    remote: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    from clirun import run
    from embedlab.encoders import StaticEncoder
    from embedlab.vectors import Vectors

    words = ["json", "0", "1", "2", "3", "4"]
    table = np.random.default_rng(0).normal(size=(len(words), 8)).astype(np.float32)
    StaticEncoder(Vectors(words, table)).save(tmp_path / "static")
    url = remote[0] + "/a.jsonl"
    code, out, err = run(
        capsys, "embed", url, "-o", str(tmp_path / "v.npy"), "-m", str(tmp_path / "static")
    )
    assert code == 0, err
    assert f"texts:   5 from {url}" in out
    expected = StaticEncoder.load(tmp_path / "static").encode([f"json {i}" for i in range(5)])
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), expected, atol=1e-6)
