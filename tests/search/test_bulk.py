"""Bulk loading (Collection.add_batches): the same collection as add(), one commit, refusals, and
a stream that fails half-way leaves the last commit as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import ParameterError
from embedlab.search import Collection
from toyencoders import WordHash

pytest.importorskip("hnswlib")

WORDS = [
    "password",
    "parcel",
    "payment",
    "refund",
    "invoice",
    "login",
    "account",
    "tracking",
    "shipping",
    "card",
    "bank",
]


def docs(n: int) -> tuple[list[str], list[str], list[dict[str, str]]]:
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 6)))) for _ in range(n)]
    return [f"d{i}" for i in range(n)], texts, [{"half": str(i % 2)} for i in range(n)]


def batches(ids: list[str], texts: list[str], metas: list[dict[str, str]], size: int):  # type: ignore[no-untyped-def]
    enc = WordHash()
    for lo in range(0, len(ids), size):
        sl = slice(lo, lo + size)
        yield ids[sl], texts[sl], metas[sl], enc.encode(texts[sl])


@pytest.mark.parametrize("index", ["hnsw", "exact"])
def test_batches_make_the_collection_add_makes(tmp_path: Path, index: str) -> None:
    ids, texts, metas = docs(230)
    one = Collection.create(tmp_path / "one", WordHash(), index=index)  # type: ignore[arg-type]
    one.add(ids, texts, metas)
    bulk = Collection.create(tmp_path / "bulk", WordHash(), index=index)  # type: ignore[arg-type]
    assert bulk.add_batches(batches(ids, texts, metas, 50), chunk_rows=17) == 230
    assert len(bulk) == 230 and bulk.generation == 1  # one commit
    assert bulk.info()["segments"] == 5
    for query in ("refund payment", "login password account", "tracking"):
        for mode in ("dense", "sparse", "hybrid"):
            a = [(d.id, round(d.score, 5)) for d in one.search(query, 10, mode=mode)]  # type: ignore[arg-type]
            b = [(d.id, round(d.score, 5)) for d in bulk.search(query, 10, mode=mode)]  # type: ignore[arg-type]
            assert a == b
    assert bulk.get("d7") == one.get("d7")
    assert [d.id for d in bulk.search("card", 5, where={"half": "1"})] == [
        d.id for d in one.search("card", 5, where={"half": "1"})
    ]
    np.testing.assert_allclose(bulk.vectors(["d199"]), one.vectors(["d199"]), atol=1e-7)
    bulk.close()
    again = Collection.open(tmp_path / "bulk", WordHash())
    assert (
        len(again) == 230 and again.search("tracking", 3)[0].id == one.search("tracking", 3)[0].id
    )
    # a second bulk load updates and adds, as add() does
    again.add_batches(
        [
            (
                ["d0", "new"],
                ["zebra quokka", "brand new invoice"],
                None,
                WordHash().encode(["zebra quokka", "brand new invoice"]),
            )
        ]
    )
    assert len(again) == 231 and again.get("d0").text == "zebra quokka"
    assert again.search("zebra quokka", 1)[0].id == "d0"


def test_repeated_ids_and_wrong_widths_are_refused_and_change_nothing(tmp_path: Path) -> None:
    ids, texts, metas = docs(40)
    col = Collection.create(tmp_path / "c", WordHash())  # type: ignore[arg-type]
    col.add(ids[:10], texts[:10], metas[:10])
    twice = [
        *batches(ids[10:30], texts[10:30], metas[10:30], 10),
        *batches(ids[20:22], texts[20:22], metas[20:22], 10),
    ]
    with pytest.raises(
        ParameterError, match="batch 3: the id 'd20' appears in an earlier batch too"
    ):
        col.add_batches(twice)
    same = [(["a", "a"], ["x", "y"], None, WordHash().encode(["x", "y"]))]
    with pytest.raises(ParameterError, match="batch 1: the id 'a' appears twice"):
        col.add_batches(same)
    with pytest.raises(ParameterError, match="batch 1: expected 32-dim vectors, got 8"):
        col.add_batches([(["a"], ["x"], None, np.ones((1, 8), np.float32))])
    assert len(col) == 10 and col.generation == 1
    col.add_batches(batches(ids[10:], texts[10:], metas[10:], 15))
    assert len(col) == 40 and col.generation == 2
    leftovers = sorted(p.name for p in (tmp_path / "c").glob("seg-*"))
    assert leftovers == ["seg-000001.npy", "seg-000002-00000.npy", "seg-000002-00001.npy"]


def test_a_stream_that_fails_half_way_leaves_the_last_commit(tmp_path: Path) -> None:
    ids, texts, metas = docs(60)
    col = Collection.create(tmp_path / "c", WordHash())  # type: ignore[arg-type]
    col.add(ids[:10], texts[:10], metas[:10])

    def broken():  # type: ignore[no-untyped-def]
        yield from batches(ids[10:40], texts[10:40], metas[10:40], 10)
        raise OSError("the shard folder went away")

    with pytest.raises(OSError, match="went away"):
        col.add_batches(broken())
    assert len(col) == 10 and "d15" not in col and col.generation == 1
    other = Collection.open(tmp_path / "c", WordHash())  # a reader sees the last commit only
    assert len(other) == 10 and other.search("refund", 40, mode="sparse")[-1].id in ids[:10]
    col.add_batches(batches(ids[10:], texts[10:], metas[10:], 25))  # sweeps the half-written ones
    assert len(col) == 60
    names = sorted(p.name for p in (tmp_path / "c").glob("seg-*"))
    assert names == ["seg-000001.npy", "seg-000002-00000.npy", "seg-000002-00001.npy"]
