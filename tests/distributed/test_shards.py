"""A job's plan without Ray: inputs, shard cutting, streaming records, verification, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from embedlab.distributed.shards import (  # noqa: E402
    JOB_FILE,
    Shard,
    ShardPlan,
    list_inputs,
    read_shard,
    text_sha1,
    write_shard,
)
from embedlab.errors import FormatError, ParameterError  # noqa: E402
from embedlab.io.tables import embeddings_table  # noqa: E402
from embedlab.records import count_records, iter_records, read_records  # noqa: E402


def corpus(folder: Path) -> Path:
    """Four formats, 23 records, ids of three kinds (field, line number, row number)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.jsonl").write_text(
        "\n".join(json.dumps({"id": f"j{i}", "text": f"json text {i}"}) for i in range(7)) + "\n"
    )
    (folder / "b.csv").write_text(
        'text,lang\n"a, quoted\nnewline",en\n' + "".join(f"csv {i},en\n" for i in range(4))
    )
    (folder / "c.txt").write_text("line one\n\nline three\nline four\n")
    pq.write_table(
        pa.table({"id": [f"p{i}" for i in range(8)], "text": [f"pq {i}" for i in range(8)]}),
        folder / "d.parquet",
    )
    (folder / "_SUCCESS").write_text("")
    (folder / ".hidden.jsonl").write_text("not json")
    return folder


def reference(folder: Path) -> tuple[list[str], list[str]]:
    """Every record of a job over ``folder``, read directly: ids numbered per file get the file's
    name in front, as a job over several files gives them."""
    ids: list[str] = []
    texts: list[str] = []
    for f in list_inputs([folder]):
        for key, text, _ in iter_records(f, number_prefix=f"{f.name}:"):
            ids.append(key)
            texts.append(text)
    return ids, texts


def test_inputs_walk_folders_in_order_and_skip_bookkeeping(tmp_path: Path) -> None:
    files = list_inputs([corpus(tmp_path / "in")])
    assert [f.name for f in files] == ["a.jsonl", "b.csv", "c.txt", "d.parquet"]
    assert all(f.is_absolute() for f in files)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="holds no record files"):
        list_inputs([tmp_path / "empty"])
    with pytest.raises(ParameterError, match="named twice"):
        list_inputs([tmp_path / "in", tmp_path / "in" / "a.jsonl"])
    with pytest.raises(FileNotFoundError, match="nope"):
        list_inputs([tmp_path / "nope"])


def test_streamed_records_are_the_read_ones(tmp_path: Path) -> None:
    for f in list_inputs([corpus(tmp_path / "in")]):
        ids, texts, _ = read_records(f)
        streamed = list(iter_records(f))
        assert [s[0] for s in streamed] == ids and [s[1] for s in streamed] == texts
        assert count_records(f) == len(ids)
    assert read_records(tmp_path / "in" / "c.txt")[0] == ["1", "3", "4"]  # line numbers
    assert read_records(tmp_path / "in" / "b.csv")[1][0] == "a, quoted\nnewline"


def test_plan_cuts_each_file_into_shards(tmp_path: Path) -> None:
    files = list_inputs([corpus(tmp_path / "in")])
    plan = ShardPlan.make(files, {"encoder": "x"}, shard_rows=3, field="text")
    assert [(Path(s.path).name, s.start, s.stop) for s in plan.shards] == [
        ("a.jsonl", 0, 3), ("a.jsonl", 3, 6), ("a.jsonl", 6, 7),
        ("b.csv", 0, 3), ("b.csv", 3, 5),
        ("c.txt", 0, 3),
        ("d.parquet", 0, 3), ("d.parquet", 3, 6), ("d.parquet", 6, 8),
    ]  # fmt: skip
    assert [s.name for s in plan.shards][:2] == ["part-00000.parquet", "part-00001.parquet"]
    assert plan.total_rows == 23
    ids, texts = read_shard(plan.shards[4], field="text", id_field="id")
    assert ids == ["b.csv:4", "b.csv:5"] and texts == ["csv 2", "csv 3"]  # numbers run on
    assert read_shard(plan.shards[5], field="text", id_field="id")[0] == [
        "c.txt:1", "c.txt:3", "c.txt:4"
    ]  # fmt: skip
    single = ShardPlan.make(files[1:2], {}, shard_rows=3, field="text")
    assert read_shard(single.shards[0], field="text", id_field="id")[0] == ["1", "2", "3"]
    assert read_shard(plan.shards[8], field="text", id_field="id") == (
        ["p6", "p7"],
        ["pq 6", "pq 7"],
    )
    with pytest.raises(ParameterError, match="shard_rows must be >= 1"):
        ShardPlan.make(files, {}, shard_rows=0, field="text")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"body": "no text"}\n')
    with pytest.raises(FormatError, match=r"bad.jsonl, line 2: expected a string field 'text'"):
        ShardPlan.make([bad], {}, shard_rows=3, field="text")


def test_plan_round_trips_and_knows_its_job(tmp_path: Path) -> None:
    files = list_inputs([corpus(tmp_path / "in")])
    out = tmp_path / "out"
    out.mkdir()
    plan = ShardPlan.make(files, {"encoder": {"model": "m"}}, shard_rows=4, field="text")
    plan.save(out)
    back = ShardPlan.load(out)
    assert back is not None and back.shards == plan.shards and back.key == plan.key
    assert back.same_job(files, {"encoder": {"model": "m"}}) is None
    assert "settings differ (encoder)" in str(back.same_job(files, {"encoder": {"model": "n"}}))
    assert back.same_job(files[:2], {"encoder": {"model": "m"}}) == "the input files differ"
    (tmp_path / "in" / "c.txt").write_text("line one\nline two changed\n")
    assert "c.txt changed since the job began" in str(
        back.same_job(files, {"encoder": {"model": "m"}})
    )
    (out / JOB_FILE).write_text("{not json")
    with pytest.raises(FormatError, match="not an embedlab job plan"):
        ShardPlan.load(out)


def test_only_whole_shards_of_this_job_count_as_done(tmp_path: Path) -> None:
    files = list_inputs([corpus(tmp_path / "in")])
    out = tmp_path / "out"
    plan = ShardPlan.make(files, {"encoder": "x"}, shard_rows=4, field="text")
    first, second, third = plan.shards[:3]

    def table(shard: Shard, rows: int | None = None) -> object:
        ids, texts = read_shard(shard, field="text", id_field="id")
        n = rows if rows is not None else len(ids)
        t = embeddings_table(ids[:n], np.ones((n, 3), np.float32))
        return t.add_column(1, "text_sha1", pa.array([text_sha1(x) for x in texts[:n]]))

    write_shard(out, first, table(first), plan.key)
    write_shard(out, second, table(second, rows=2), plan.key)  # short: embedded again
    write_shard(out, third, table(third), "another-job")  # another job's: embedded again
    (out / plan.shards[3].name).write_bytes(b"PAR1 not really")  # damaged: embedded again
    assert plan.done(out) == {first.name}
    got = pq.read_table(out / first.name)
    assert got.column_names == ["id", "text_sha1", "embedding"]
    assert got.column("id").to_pylist() == ["j0", "j1", "j2", "j3"]
    assert got.column("text_sha1")[0].as_py() == text_sha1("json text 0")


def test_a_file_shortened_after_planning_is_named(tmp_path: Path) -> None:
    files = list_inputs([corpus(tmp_path / "in")])
    plan = ShardPlan.make(files, {}, shard_rows=4, field="text")
    (tmp_path / "in" / "a.jsonl").write_text(json.dumps({"text": "only one"}) + "\n")
    with pytest.raises(FormatError, match=r"a.jsonl: expected records 5-7, found 0 of them"):
        read_shard(plan.shards[1], field="text", id_field="id")
