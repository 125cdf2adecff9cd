"""A collection from a folder of embedding shards (no Ray needed): a job's folder gets its texts
back from the inputs (hash-checked), anyone's Parquet works with --model, refusals are clear."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("hnswlib")

from test_shards import corpus, reference  # noqa: E402

from clirun import run  # noqa: E402
from embedlab.distributed.index import index_shards  # noqa: E402
from embedlab.distributed.shards import ShardPlan, list_inputs, read_shard, text_sha1, write_shard  # noqa: E402
from embedlab.encoders import StaticEncoder  # noqa: E402
from embedlab.errors import FormatError, ParameterError  # noqa: E402
from embedlab.io.tables import embeddings_table  # noqa: E402
from embedlab.search import Collection  # noqa: E402
from embedlab.vectors import Vectors  # noqa: E402


def static_model(folder: Path, texts: list[str]) -> Path:
    words = sorted({w for t in texts for w in t.lower().replace(",", " ").split()})
    table = np.random.default_rng(1).normal(size=(len(words), 12)).astype(np.float32)
    StaticEncoder(Vectors(words, table)).save(folder)
    return folder


def fake_job(src: Path, out: Path, model: Path, shard_rows: int = 5) -> ShardPlan:
    """What embed_dataset writes, without Ray: the plan and every shard."""
    from embedlab.distributed import EncoderSpec
    from embedlab.encoders import load_encoder

    spec = EncoderSpec(str(model))
    files = list_inputs([src])
    plan = ShardPlan.make(
        files,
        {"encoder": spec.describe(), "field": "text", "id_field": "id"},
        shard_rows=shard_rows,
        field="text",
    )
    out.mkdir(parents=True)
    plan.save(out)
    enc = load_encoder(str(model))
    for shard in plan.shards:
        ids, texts = read_shard(shard, field="text", id_field="id")
        table = embeddings_table(ids, enc.encode(texts))
        write_shard(
            out,
            shard,
            table.add_column(1, "text_sha1", pa.array([text_sha1(t) for t in texts])),
            plan.key,
        )
    return plan


def test_a_jobs_folder_becomes_the_collection_its_records_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = corpus(tmp_path / "in")
    ids, texts = reference(src)
    model = static_model(tmp_path / "model", texts)
    fake_job(src, tmp_path / "shards", model)
    code, stdout, err = run(
        capsys, "index", "build", str(tmp_path / "shards"), "-o", str(tmp_path / "col")
    )
    assert code == 0, err
    assert "indexed 23 documents from 6 shard files" in stdout
    col = Collection.open(tmp_path / "col", StaticEncoder.load(model))
    direct = Collection.create(tmp_path / "direct", StaticEncoder.load(model))
    direct.add(ids, texts)
    assert (
        len(col) == 23
        and col.get("j3").text == "json text 3"
        and col.get("c.txt:3").text == "line three"
    )
    for query in ("json text", "csv 2", "a quoted newline", "line four"):
        for mode in ("dense", "sparse", "hybrid"):
            assert [d.id for d in col.search(query, 5, mode=mode)] == [
                d.id for d in direct.search(query, 5, mode=mode)
            ]  # type: ignore[arg-type]
    code, stdout, _ = run(capsys, "index", "search", str(tmp_path / "col"), "csv 2", "-k", "1")
    assert code == 0 and "csv 2" in stdout  # the recorded model answers queries


def test_metadata_comes_from_the_inputs_and_changed_inputs_are_named(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "docs.jsonl").write_text(
        "".join(
            json.dumps({"id": f"d{i}", "text": f"doc number {i}", "lang": "en" if i % 2 else "de"})
            + "\n"
            for i in range(12)
        )
    )
    model = static_model(tmp_path / "model", [f"doc number {i}" for i in range(12)])
    fake_job(src, tmp_path / "shards", model)
    col = index_shards(tmp_path / "shards", tmp_path / "col", meta_fields=["lang"])
    assert col.get("d3").metadata == {"lang": "en"}
    german = {d.id for d in col.search("doc number", 12, where={"lang": "de"})}
    assert german == {f"d{i}" for i in range(0, 12, 2)}
    lines = (src / "docs.jsonl").read_text().splitlines()
    lines[7] = json.dumps({"id": "d7", "text": "edited after embedding", "lang": "en"})
    (src / "docs.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(
        FormatError, match=r"docs.jsonl: record 8 is not the one part-00001.parquet embedded"
    ):
        index_shards(tmp_path / "shards", tmp_path / "col2")
    assert not (tmp_path / "col2").exists()  # the half-built collection is not left behind


def test_anyones_parquet_with_a_model_and_refusals(tmp_path: Path) -> None:
    texts = ["red apples", "green apples", "blue sky", "grey sky"]
    model = static_model(tmp_path / "model", texts)
    enc = StaticEncoder.load(model)
    folder = tmp_path / "theirs"
    folder.mkdir()
    vectors = enc.encode(texts)
    pq.write_table(
        pa.table({"id": ["a", "b"], "embedding": vectors[:2].tolist(), "text": texts[:2]}),
        folder / "0.parquet",
    )
    pq.write_table(
        pa.table({"id": ["c", "d"], "embedding": vectors[2:].tolist(), "text": texts[2:]}),
        folder / "1.parquet",
    )
    with pytest.raises(
        ParameterError, match="does not say which encoder made its vectors: give --model"
    ):
        index_shards(folder, tmp_path / "x")
    col = index_shards(folder, tmp_path / "col", model=str(model), index="exact")
    assert [d.id for d in col.search("blue sky", 2)] == ["c", "d"]
    assert col.search("apples", 2, mode="sparse")[0].text in texts[:2]
    pq.write_table(pa.table({"id": ["e"], "vector": [[1.0] * 12]}), folder / "2.parquet")
    with pytest.raises(FormatError, match=r"2.parquet: expected a column 'embedding'"):
        index_shards(folder, tmp_path / "col3", model=str(model))
    (folder / "2.parquet").unlink()
    pq.write_table(pa.table({"id": ["e"], "embedding": [[1.0] * 5]}), folder / "2.parquet")
    with pytest.raises(ParameterError, match="expected 12-dim vectors, got 5"):
        index_shards(folder, tmp_path / "col4", model=str(model))
    src = corpus(tmp_path / "in")
    plan = fake_job(src, tmp_path / "job", model)
    (tmp_path / "job" / plan.shards[2].name).unlink()
    with pytest.raises(ParameterError, match=r"unfinished job \(1 of 6 shards missing\)"):
        index_shards(tmp_path / "job", tmp_path / "col5")
