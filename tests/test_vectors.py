from __future__ import annotations

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.errors import KeyNotFoundError, ParameterError


def test_gensim_surface(planted: Vectors) -> None:
    v = planted
    assert len(v) == 51 and v.dim == 16
    assert "king" in v and "emperor" not in v and 3 not in v
    assert v.key_to_index["queen"] == 4 and v.index_to_key[4] == "queen"
    np.testing.assert_array_equal(v["queen"], v.vectors[4])
    assert v[["man", "woman"]].shape == (2, 16)
    assert v.counts is not None and v.counts[0] == 510
    assert list(v)[:3] == ["the", "man", "woman"]
    assert repr(v) == "Vectors(51 keys x 16 dims, float32, memory)"


def test_rows_are_read_only_and_inputs_not_mutated(planted: Vectors) -> None:
    with pytest.raises(ValueError, match="read-only"):
        planted["king"][0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        planted.vectors[0, 0] = 1.0
    before = planted.vectors.copy()
    planted.normalized()
    planted.subset(["king"])
    planted.add(["emperor"], np.ones((1, 16)), counts=[1])
    np.testing.assert_array_equal(planted.vectors, before)


def test_unknown_key_error_names_the_key(planted: Vectors) -> None:
    with pytest.raises(KeyNotFoundError, match="'emperor' is not in the vocabulary \\(51 keys\\)"):
        planted["emperor"]
    with pytest.raises(KeyError):
        planted.similarity("emperor", "king")


def test_similarity_golden() -> None:
    v = Vectors(["a", "b", "c"], [[1, 0], [1, 1], [0, -2]])
    assert v.similarity("a", "b") == pytest.approx(1 / np.sqrt(2), abs=1e-7)
    assert v.similarity("a", "c") == pytest.approx(0.0, abs=1e-7)
    assert v.similarity("b", "c") == pytest.approx(-1 / np.sqrt(2), abs=1e-7)


def test_most_similar_finds_planted_neighbour_and_excludes_query(planted: Vectors) -> None:
    best = planted.most_similar("cat", topn=3)
    assert best[0][0] == "kitten" and best[0][1] > 0.99
    assert all(k != "cat" for k, _ in best) and len(best) == 3
    assert [
        k for k, _ in planted.most_similar(positive=["king", "woman"], negative=["man"], topn=1)
    ] == ["queen"]
    # a raw vector query is accepted too
    assert planted.most_similar([planted["cat"]], topn=1)[0][0] == "cat"


def test_restrict_vocab_limits_the_search(planted: Vectors) -> None:
    got = planted.most_similar("cat", topn=5, restrict_vocab=5)
    assert {k for k, _ in got} <= {"the", "man", "woman", "king", "queen"}
    with pytest.raises(ParameterError, match="restrict_vocab"):
        planted.most_similar("cat", restrict_vocab=0)


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_analogy_methods_solve_planted_analogies(planted: Vectors, method: str) -> None:
    assert planted.analogy("man", "king", "woman", method=method)[0][0] == "queen"  # type: ignore[arg-type]
    assert planted.analogy("france", "paris", "italy", method=method)[0][0] == "rome"  # type: ignore[arg-type]


def test_analogy_rejects_unknown_method(planted: Vectors) -> None:
    with pytest.raises(ParameterError, match="'3cosadd', '3cosmul'"):
        planted.analogy("a", "b", "c", method="cosine")  # type: ignore[arg-type]


def test_3cosmul_golden() -> None:
    v = Vectors(["a", "b", "c", "x", "y"], [[1, 0], [0, 1], [1, 1], [-1, 2], [2, -1]])
    scores = {}
    unit = v.vectors / np.linalg.norm(v.vectors, axis=1, keepdims=True)
    for i, k in enumerate(["x", "y"]):
        cos = unit @ unit[3 + i]
        scores[k] = ((1 + cos[1]) / 2) * ((1 + cos[2]) / 2) / ((1 + cos[0]) / 2 + 1e-6)
    got = dict(v.analogy("a", "b", "c", method="3cosmul", topn=2))
    assert got == pytest.approx(scores, rel=1e-5)


def test_nearest_matches_brute_force(planted: Vectors) -> None:
    rng = np.random.default_rng(0)
    q = rng.normal(size=(2500, 16)).astype(np.float32)  # more than one BLAS block
    idx, scores = planted.nearest(q, k=4)
    unit = planted.vectors / np.linalg.norm(planted.vectors, axis=1, keepdims=True)
    qs = q / np.linalg.norm(q, axis=1, keepdims=True)
    brute = qs @ unit.T
    np.testing.assert_array_equal(idx, np.argsort(-brute, axis=1)[:, :4])
    np.testing.assert_allclose(scores, np.sort(brute, axis=1)[:, ::-1][:, :4], atol=1e-5)
    idx1, _ = planted.nearest(q[0], k=100)
    assert idx1.shape == (1, 51)


def test_normalized_subset_add(planted: Vectors) -> None:
    n = planted.normalized()
    np.testing.assert_allclose(np.linalg.norm(n.vectors, axis=1), 1.0, rtol=1e-6)
    s = planted.subset(["queen", "king"])
    assert s.index_to_key == ["queen", "king"]
    assert s.counts is not None and list(s.counts) == [470, 480]
    a = planted.add(["emperor"], np.ones((1, 16)), counts=[3])
    assert len(a) == 52 and a.index_to_key[-1] == "emperor" and a.counts is not None
    with pytest.raises(ParameterError, match="already present; pass replace=True"):
        planted.add(["king"], np.ones((1, 16)), counts=[1])
    r = planted.add(["king"], np.ones((1, 16)), counts=[1], replace=True)
    assert len(r) == 51 and r["king"].tolist() == [1.0] * 16


def test_constructor_validates() -> None:
    with pytest.raises(ParameterError, match="duplicate key 'a' at rows 0 and 1"):
        Vectors(["a", "a"], np.zeros((2, 2)))
    with pytest.raises(ParameterError, match="2 keys but the matrix has 3 rows"):
        Vectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(ParameterError, match="2-D"):
        Vectors(["a"], np.zeros(3))
    v = Vectors([], np.zeros((0, 5)))
    assert len(v) == 0 and v.dim == 5
