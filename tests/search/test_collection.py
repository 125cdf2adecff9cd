"""Persistent collections: search modes, filters, updates, reopen, wrong encoder, crash safety."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab.errors import KeyNotFoundError, ParameterError
from embedlab.search import Collection
from toyencoders import ToySplade, WordHash

pytest.importorskip("hnswlib")

DOCS = {
    "pw": ("How do I reset my password?", {"lang": "en", "topic": "account"}),
    "pw2": ("Change the password in the security settings", {"lang": "en", "topic": "account"}),
    "parcel": ("Track your parcel with the tracking number", {"lang": "en", "topic": "shipping"}),
    "pay": ("We accept cards and bank transfers for payment", {"lang": "en", "topic": "billing"}),
    "zh": ("如何修改登录密码", {"lang": "zh", "topic": "account"}),
}


def build(folder: Path, index: str = "hnsw") -> Collection:
    col = Collection.create(folder, WordHash(), index=index)  # type: ignore[arg-type]
    col.add(list(DOCS), [t for t, _ in DOCS.values()], [m for _, m in DOCS.values()])
    return col


@pytest.mark.parametrize("index", ["hnsw", "exact", "int8", "binary"])
def test_search_modes_filters_and_reopen(tmp_path: Path, index: str) -> None:
    col = build(tmp_path / "c", index)
    assert len(col) == 5 and "pw" in col
    dense = col.search("reset my password", k=2)
    assert dense[0].id == "pw" and dense[0].metadata["topic"] == "account"
    sparse = col.search("tracking number", k=3, mode="sparse")
    assert [d.id for d in sparse] == ["parcel"]
    hybrid = col.search("password settings", k=3, mode="hybrid")
    assert {d.id for d in hybrid[:2]} == {"pw", "pw2"}
    only_billing = col.search("password", k=5, where={"topic": "billing"})
    assert [d.id for d in only_billing] == ["pay"]
    chinese = col.search("密码", k=1, mode="sparse")
    assert chinese[0].id == "zh"
    col.close()
    again = Collection.open(tmp_path / "c", WordHash())
    assert [d.id for d in again.search("reset my password", k=2)] == [d.id for d in dense]
    np.testing.assert_allclose(
        again.vectors(["pw"])[0], WordHash().encode(DOCS["pw"][0]), atol=1e-6
    )


def test_update_and_delete_are_incremental(tmp_path: Path) -> None:
    col = build(tmp_path / "c")
    col.add(["pay"], ["Track the parcel of your payment"], [{"lang": "en", "topic": "shipping"}])
    assert len(col) == 5 and col.get("pay").metadata["topic"] == "shipping"
    assert {d.id for d in col.search("track parcel", k=2, mode="sparse")} == {"parcel", "pay"}
    col.delete(["parcel"])
    assert "parcel" not in col and all(d.id != "parcel" for d in col.search("track parcel", k=5))
    with pytest.raises(KeyNotFoundError, match="not in the collection"):
        col.delete(["parcel"])
    gen = col.generation
    col.close()
    reopened = Collection.open(tmp_path / "c", WordHash())
    assert reopened.generation == gen and len(reopened) == 4
    assert sorted(
        p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(("dense", "bm25"))
    ) == [f"bm25-{gen:06d}", f"dense-{gen:06d}"]  # old index snapshots are gone


def test_the_wrong_encoder_cannot_query(tmp_path: Path) -> None:
    build(tmp_path / "c").close()
    with pytest.raises(
        ParameterError,
        match="built with encoder 'wordhash' \\(32 dims\\); it cannot be queried with 'other'",
    ):
        Collection.open(tmp_path / "c", WordHash("other"))
    with pytest.raises(ParameterError, match="already holds a collection"):
        Collection.create(tmp_path / "c", WordHash())


def test_a_crash_before_the_commit_leaves_the_previous_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    col = build(tmp_path / "c")
    before = [d.id for d in col.search("password", k=5)]
    gen = col.generation

    class Crash(RuntimeError):
        pass

    def crash(self: Collection, *a: Any, **k: Any) -> None:
        # the new segment is written; the indexes too; then the process dies before SQLite commits
        self._dense.save(self.folder / f"dense-{gen + 1:06d}")
        raise Crash("power cut")

    monkeypatch.setattr(Collection, "_commit", crash)
    with pytest.raises(Crash):
        col.add(["new"], ["a brand new password document"])
    monkeypatch.undo()
    col.close()
    assert (tmp_path / "c" / f"seg-{gen + 1:06d}.npy").exists()  # left behind by the crash
    back = Collection.open(tmp_path / "c", WordHash())
    assert back.generation == gen and "new" not in back and len(back) == 5
    assert [d.id for d in back.search("password", k=5)] == before
    assert (tmp_path / "c" / f"seg-{gen + 1:06d}.npy").exists()  # a reader deletes nothing
    back.delete(["pay"])  # the next writer sweeps what the state names as pending
    assert not (tmp_path / "c" / f"seg-{gen + 1:06d}.npy").exists()
    back.add(["new"], ["a brand new password document"])
    assert "new" in back and len(back) == 5


def test_a_failed_sqlite_commit_rolls_back(tmp_path: Path) -> None:
    col = build(tmp_path / "c")
    con = sqlite3.connect(tmp_path / "c" / "collection.sqlite")
    con.execute("BEGIN EXCLUSIVE")  # another writer holds the lock: the commit cannot happen
    col._con.execute("PRAGMA busy_timeout = 10")
    with pytest.raises(sqlite3.OperationalError):
        col.add(["x"], ["x"])
    con.execute("ROLLBACK")
    con.close()
    col.close()
    back = Collection.open(tmp_path / "c", WordHash())
    assert "x" not in back and len(back) == 5


def test_a_splade_index_is_kept_searched_and_fused(tmp_path: Path) -> None:
    col = Collection.create(
        tmp_path / "c", WordHash(), index="exact", sparse_encoder=ToySplade(), sparse_source="toy"
    )
    col.add(list(DOCS), [t for t, _ in DOCS.values()], [m for _, m in DOCS.values()])
    assert [d.id for d in col.search("tracking number", k=3, mode="splade")] == ["parcel"]
    hybrid = col.search("password settings", k=2, mode="hybrid", fusion="weighted",
                        weights={"dense": 1.0, "bm25": 0.1, "splade": 0.5})  # fmt: skip
    assert {d.id for d in hybrid} == {"pw", "pw2"}
    col.delete(["parcel"])
    assert col.search("tracking number", k=3, mode="splade") == []
    col.close()
    assert Collection.recorded_source(tmp_path / "c", sparse=True) == "toy"
    again = Collection.open(tmp_path / "c", WordHash(), sparse_encoder=ToySplade())
    assert [d.id for d in again.search("payment cards", k=1, mode="splade")] == ["pay"]
    again.close()
    plain = Collection.open(tmp_path / "c", WordHash())  # without it: no SPLADE, no adding
    with pytest.raises(ParameterError, match="keeps SPLADE vectors: open it with sparse_encoder"):
        plain.search("payment", mode="splade")
    with pytest.raises(ParameterError, match="keeps SPLADE vectors"):
        plain.add(["new"], ["new text"])
    assert [d.id for d in plain.search("card payment", k=1, mode="hybrid")] == ["pay"]
    plain.close()
    names = sorted(p.name for p in (tmp_path / "c").iterdir() if p.name.startswith("splade-"))
    assert names == ["splade-000002"]  # the old generation's index was swept
