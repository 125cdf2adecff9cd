"""Dense indexes (one conformance suite for exact and HNSW), BM25, and fusion."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import KeyNotFoundError, ParameterError
from embedlab.search import BM25Index, ExactIndex, Hits, HNSWIndex, rrf, weighted

pytest.importorskip("hnswlib")

KINDS: dict[str, Callable[..., ExactIndex | HNSWIndex]] = {
    "exact": lambda dim, metric: ExactIndex(dim, metric=metric),
    "hnsw": lambda dim, metric: HNSWIndex(dim, metric=metric, ef=200),
}
LOADERS = {"exact": ExactIndex.load, "hnsw": HNSWIndex.load}


def data(n: int = 300, dim: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def brute(x: np.ndarray, q: np.ndarray, metric: str, k: int) -> list[int]:
    if metric == "cosine":
        s = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))
    elif metric == "dot":
        s = x @ q
    else:
        s = -((x - q) ** 2).sum(axis=1)
    return list(np.argsort(-s, kind="stable")[:k])


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_search_matches_brute_force_and_scores_are_the_metric(kind: str, metric: str) -> None:
    x = data()
    ids = [f"d{i}" for i in range(len(x))]
    index = KINDS[kind](12, metric)
    index.add(ids, x)
    q = data(5, seed=9)
    found = index.search(q, k=5)
    assert isinstance(found, list) and len(found) == 5
    for row, hits in zip(q, found):
        assert hits.ids == [ids[i] for i in brute(x, row, metric, 5)]
        top = x[int(hits.ids[0][1:])]
        want = {
            "cosine": top @ row / np.linalg.norm(top) / np.linalg.norm(row),
            "dot": top @ row,
            "l2": -((top - row) ** 2).sum(),
        }[metric]
        assert float(hits.scores[0]) == pytest.approx(float(want), rel=1e-4, abs=1e-4)
    one = index.search(q[0], k=3)
    assert isinstance(one, Hits) and one.ids == found[0].ids[:3]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_update_remove_filter_and_round_trip(kind: str, tmp_path: Path) -> None:
    x = data(200)
    ids = [f"d{i}" for i in range(200)]
    index = KINDS[kind](12, "cosine")
    index.add(ids, x)
    q = x[7]
    assert index.search(q, k=1).ids == ["d7"]
    index.add(["d7"], [-q])  # update in place
    assert len(index) == 200 and index.search(q, k=1).ids != ["d7"]
    index.remove(["d3", "d4"])
    assert len(index) == 198 and "d3" not in index
    assert "d3" not in index.search(x[3], k=10).ids
    allowed = {"d10", "d11", "d12"}
    assert set(index.search(q, k=10, allowed=allowed).ids) == allowed
    assert index.search(q, k=5, allowed=set()).ids == []
    with pytest.raises(KeyNotFoundError, match="unknown ids"):
        index.remove(["nope"])
    index.add(["new"], [q])  # a removed slot is reused
    assert index.search(q, k=1).ids == ["new"]
    back = LOADERS[kind](index.save(tmp_path / kind))
    assert len(back) == len(index)
    for row in data(4, seed=3):
        assert back.search(row, k=5).ids == index.search(row, k=5).ids


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_bad_input_is_refused(kind: str) -> None:
    index = KINDS[kind](4, "cosine")
    with pytest.raises(ParameterError, match="holds 4-dimensional vectors; got 3"):
        index.add(["a"], [[1, 2, 3]])
    with pytest.raises(ParameterError, match="got the id 'a' twice"):
        index.add(["a", "a"], np.ones((2, 4)))
    with pytest.raises(ParameterError, match="must be finite"):
        index.add(["a"], [[1, np.nan, 0, 0]])
    with pytest.raises(ParameterError, match="'k' parameter"):
        index.search(np.ones(4), k=0)
    assert index.search(np.ones(4), k=3).ids == []


def test_hnsw_recall_on_clustered_vectors() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, 32))
    x = (centres[rng.integers(0, 50, 5000)] + 0.5 * rng.normal(size=(5000, 32))).astype(np.float32)
    q = (centres[rng.integers(0, 50, 100)] + 0.5 * rng.normal(size=(100, 32))).astype(np.float32)
    ids = [str(i) for i in range(5000)]
    exact, ann = ExactIndex(32), HNSWIndex(32, ef=64)
    exact.add(ids, x)
    ann.add(ids, x)
    recall = np.mean(
        [len(set(a.ids) & set(b.ids)) / 10 for a, b in zip(exact.search(q, 10), ann.search(q, 10))]
    )
    assert recall >= 0.95


def test_exact_index_handles_many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    import embedlab.search.exact as ex

    monkeypatch.setattr(ex, "_ROW_BLOCK", 37)
    monkeypatch.setattr(ex, "_QUERY_BLOCK", 3)
    x = data(500)
    index = ExactIndex(12, metric="dot")
    index.add([str(i) for i in range(500)], x)
    q = data(10, seed=5)
    for row, hits in zip(q, index.search(q, k=8)):
        assert hits.ids == [str(i) for i in brute(x, row, "dot", 8)]


# -- BM25 -------------------------------------------------------------------------------------
def test_bm25_matches_the_lucene_formula() -> None:
    docs = {"a": "the cat sat on the mat", "b": "the dog sat", "c": "cats and dogs and cats"}
    index = BM25Index(k1=1.2, b=0.75)
    index.add(list(docs), list(docs.values()))
    s = index.scores("cat sat")
    lengths = {"a": 6, "b": 3, "c": 5}
    avg = sum(lengths.values()) / 3

    def term(tf: int, df: int, length: int) -> float:
        idf = math.log(1 + (3 - df + 0.5) / (df + 0.5))
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / avg))

    assert s[0] == pytest.approx(term(1, 1, 6) + term(1, 2, 6), rel=1e-5)
    assert s[1] == pytest.approx(term(1, 2, 3), rel=1e-5)
    assert s[2] == 0.0  # "cats" is not "cat": no stemming
    hits = index.search("cat sat", k=5)
    assert hits.ids == ["a", "b"]  # zero-score documents are not returned
    index.remove(["a"])
    assert index.search("cat", k=5).ids == []


def test_bm25_segments_chinese_and_round_trips(tmp_path: Path) -> None:
    pytest.importorskip("jieba")
    index = BM25Index()
    index.add(["q1", "q2"], ["如何修改登录密码", "快递什么时候到"])
    assert index.search("忘记密码怎么办", k=2).ids == ["q1"]
    back = BM25Index.load(index.save(tmp_path / "bm25"))
    np.testing.assert_array_equal(back.scores("密码"), index.scores("密码"))


# -- fusion -----------------------------------------------------------------------------------
def test_rrf_and_weighted_fusion() -> None:
    dense = Hits(["a", "b", "c"], np.array([0.9, 0.8, 0.1], np.float32))
    sparse = Hits(["b", "c"], np.array([7.0, 1.0], np.float32))
    fused = rrf([dense, sparse], k=60, top=3)
    assert fused.ids == ["b", "c", "a"]
    assert float(fused.scores[0]) == pytest.approx(1 / 62 + 1 / 61)
    w = weighted([dense, sparse], [0.5, 0.5], top=3)
    assert w.ids == ["b", "a", "c"] and float(w.scores[0]) == pytest.approx(0.5 * 0.875 + 0.5)
    with pytest.raises(ParameterError, match="2 rankings but 1 weights"):
        weighted([dense, sparse], [1.0])


def test_hnsw_load_trusts_no_size_from_its_files(tmp_path: Path) -> None:
    """A header claiming 2**40 elements is refused before hnswlib allocates for them."""
    import json
    import struct

    from embedlab.errors import FormatError

    rng = np.random.default_rng(0)
    index = HNSWIndex(8)
    index.add([f"d{i}" for i in range(20)], rng.normal(size=(20, 8)).astype(np.float32))
    index.remove(["d3"])
    good = index.save(tmp_path / "good")
    assert len(HNSWIndex.load(good)) == 19

    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    header = json.loads((bad / "index.json").read_text())
    (bad / "index.json").write_text(json.dumps({**header, "next": 2**40}))
    with pytest.raises(FormatError, match="expected 'next' = 19 ids \\+ 1 free labels"):
        HNSWIndex.load(bad)

    shutil.rmtree(bad)
    shutil.copytree(good, bad)
    graph = bytearray((bad / "graph.bin").read_bytes())
    graph[16:24] = struct.pack("<Q", 2**40)  # hnswlib's own element count
    (bad / "graph.bin").write_bytes(bytes(graph))
    with pytest.raises(FormatError, match="expected 20 elements"):
        HNSWIndex.load(bad)
