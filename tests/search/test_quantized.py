"""Int8 and binary indexes: codes in memory, float rows mapped from disk for rescoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import FormatError, ParameterError
from embedlab.rows import normalized
from embedlab.search import BinaryIndex, ExactIndex, Int8Index


def _data(n: int = 3000, dim: int = 64) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(0)
    docs = normalized(rng.normal(size=(n, dim)))
    queries = normalized(docs[:100] + 0.3 * rng.normal(size=(100, dim)) / np.sqrt(dim))
    return docs, queries, [f"d{i}" for i in range(n)]


@pytest.mark.parametrize("kind", [Int8Index, BinaryIndex])
def test_rescored_results_match_exact_search(kind: type) -> None:
    docs, queries, ids = _data()
    exact, small = ExactIndex(64), kind(64)
    exact.add(ids, docs)
    small.add(ids, docs)
    want, got = exact.search(queries, k=10), small.search(queries, k=10)
    recall = np.mean([len(set(a.ids) & set(b.ids)) / 10 for a, b in zip(want, got, strict=True)])
    # random 64-d rows: neighbours 2-10 are near-ties, and 64 sign bits rank them coarsely
    assert recall >= (0.95 if kind is Int8Index else 0.3)
    assert all(g.ids[0] == f"d{i}" for i, g in enumerate(got))  # the planted neighbour first
    for a, b in zip(want, got, strict=True):  # scores are the float dot products
        common = set(a.ids) & set(b.ids)
        sa, sb = dict(a), dict(b)
        assert all(abs(sa[c] - sb[c]) < 1e-5 for c in common)


def test_more_rescoring_finds_more_of_the_exact_neighbours() -> None:
    docs, queries, ids = _data()
    exact = ExactIndex(64)
    exact.add(ids, docs)
    want = exact.search(queries, k=10)
    recalls = []
    for rescore in (1, 4, 16):
        index = BinaryIndex(64, rescore=rescore)
        index.add(ids, docs)
        got = index.search(queries, k=10)
        recalls.append(
            np.mean([len(set(a.ids) & set(b.ids)) for a, b in zip(want, got, strict=True)])
        )
    assert recalls[0] < recalls[1] < recalls[2]


@pytest.mark.parametrize("kind", [Int8Index, BinaryIndex])
def test_saved_index_maps_its_rows_and_stays_updatable(kind: type, tmp_path: Path) -> None:
    docs, queries, ids = _data(n=500)
    index = kind(64, rescore=2)
    index.add(ids, docs)
    before = index.search(queries[:5], k=5)
    index.save(tmp_path / "ix")
    back = kind.load(tmp_path / "ix")
    assert isinstance(back._matrix, np.memmap) and back.rescore == 2 and len(back) == 500
    assert [h.ids for h in back.search(queries[:5], k=5)] == [h.ids for h in before]
    back.add(["d0"], -docs[0])  # an update of a mapped row copies the rows first
    back.remove(["d1"])
    hit = back.search(queries[1], k=3)
    assert "d1" not in hit.ids and "d0" not in back.search(docs[0], k=3).ids
    allowed = back.search(queries[2], k=3, allowed={"d7", "d8"})
    assert set(allowed.ids) <= {"d7", "d8"}


def test_int8_ranges_are_kept_and_errors_are_clear(tmp_path: Path) -> None:
    docs, _, ids = _data(n=300)
    index = Int8Index(64)
    index.add(ids, docs)
    index.save(tmp_path / "ix")
    back = Int8Index.load(tmp_path / "ix")
    np.testing.assert_array_equal(back.ranges_, index.ranges_)
    np.save(tmp_path / "ix" / "ranges.npy", np.zeros((3, 64), np.float32))
    with pytest.raises(FormatError, match=r"ranges\.npy: expected shape \(2, 64\)"):
        Int8Index.load(tmp_path / "ix")
    with pytest.raises(ParameterError, match="cosine or dot, not l2"):
        BinaryIndex(8, metric="l2")
    with pytest.raises(ParameterError, match="rescore must be an int >= 1"):
        Int8Index(8, rescore=0)
