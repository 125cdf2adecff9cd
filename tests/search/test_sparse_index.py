"""The sparse (SPLADE) inverted index: planted matches, shared terms only, save/load, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from embedlab.errors import FormatError, ParameterError
from embedlab.search import SparseIndex


def _rows(pairs: list[dict[int, float]], vocab: int = 50) -> sparse.csr_matrix:
    dense = np.zeros((len(pairs), vocab), np.float32)
    for r, terms in enumerate(pairs):
        for t, w in terms.items():
            dense[r, t] = w
    return sparse.csr_matrix(dense)


def test_dot_product_ranking_over_shared_terms() -> None:
    index = SparseIndex()
    index.add(["a", "b", "c"], _rows([{1: 1.0, 2: 0.5}, {2: 2.0}, {9: 3.0}]))
    index.add(["d"], _rows([{1: 0.2, 3: 1.0}]))
    assert len(index) == 4 and "d" in index and index.vocab_size == 50
    (hits,) = index.search(_rows([{1: 1.0, 2: 1.0}]), k=10)
    assert hits.ids == ["b", "a", "d"]  # 2.0, 1.5, 0.2; "c" shares no term
    np.testing.assert_allclose(hits.scores, [2.0, 1.5, 0.2])
    two = index.search(_rows([{9: 1.0}, {3: 1.0}]), k=1)
    assert [h.ids for h in two] == [["c"], ["d"]]


def test_replacing_removing_and_filtering() -> None:
    index = SparseIndex()
    index.add(["a", "b", "c"], _rows([{1: 1.0}, {1: 2.0}, {1: 3.0}]))
    index.add(["a"], _rows([{1: 9.0}]))  # an update
    index.remove(["b"])
    (hits,) = index.search(_rows([{1: 1.0}]), k=5)
    assert hits.ids == ["a", "c"] and len(index) == 2 and "b" not in index
    (only,) = index.search(_rows([{1: 1.0}]), k=5, allowed={"c", "b"})
    assert only.ids == ["c"]


def test_save_and_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    dense = rng.random((30, 40)) * (rng.random((30, 40)) < 0.1)
    index = SparseIndex()
    index.add([f"doc{i}" for i in range(30)], dense)
    index.remove(["doc3"])
    index.save(tmp_path / "sp")
    back = SparseIndex.load(tmp_path / "sp")
    q = rng.random((3, 40)) * (rng.random((3, 40)) < 0.3)
    for a, b in zip(index.search(q, 5), back.search(q, 5), strict=True):
        assert a.ids == b.ids and np.allclose(a.scores, b.scores)
    (tmp_path / "sp" / "sparse.json").write_text('{"kind": "embedlab.sparse", "version": 9}')
    with pytest.raises(FormatError, match="expected version 1, found 9"):
        SparseIndex.load(tmp_path / "sp")


def test_errors() -> None:
    index = SparseIndex()
    index.add(["a"], _rows([{1: 1.0}]))
    with pytest.raises(ParameterError, match="unknown ids"):
        index.remove(["zz"])
    with pytest.raises(ParameterError, match="vocabulary of 60 added to an index of 50"):
        index.add(["b"], _rows([{1: 1.0}], vocab=60))
    with pytest.raises(ParameterError, match="queries over a vocabulary of 60"):
        index.search(_rows([{1: 1.0}], vocab=60))
    assert SparseIndex().search(_rows([{1: 1.0}]))[0].ids == []
