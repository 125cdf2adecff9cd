"""PCA and product quantization on planted structure: low rank, clusters, saved state, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab.compress import PCA, ProductQuantizer
from embedlab.errors import FormatError, NotFittedError, ParameterError
from embedlab.rows import normalized


def _low_rank(n: int = 600, dim: int = 24, rank: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(rank, dim))
    return (
        (rng.normal(size=(n, rank)) * [5.0, 3.0, 2.0][:rank]) @ basis
        + 0.01 * rng.normal(size=(n, dim))
        + 4.0
    )


def test_pca_finds_a_planted_rank_3_subspace() -> None:
    x = _low_rank()
    pca = PCA(3, normalize=False).fit(x)
    assert pca.explained_variance_ratio_.sum() > 0.999
    assert (np.diff(pca.explained_variance_) <= 0).all()
    np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(3), atol=1e-5)
    back = pca.inverse_transform(pca.transform(x))
    assert np.abs(back - x).max() < 0.1  # only the noise is lost


def test_pca_matches_scikit_learn_up_to_sign() -> None:
    sklearn = pytest.importorskip("sklearn.decomposition")
    x = _low_rank(rank=3, seed=1)
    ours = PCA(3, normalize=False).fit_transform(x)
    theirs = sklearn.PCA(3).fit_transform(x)
    signs = np.sign((ours * theirs).sum(axis=0))
    np.testing.assert_allclose(ours, theirs * signs, atol=1e-3)


def test_pca_normalizes_by_default_and_is_deterministic() -> None:
    x = _low_rank(seed=2)
    a, b = PCA(2).fit_transform(x), PCA(2).fit_transform(x.copy())
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(a, b)


def test_pca_save_and_load_round_trip(tmp_path: Path) -> None:
    x = _low_rank(seed=3)
    pca = PCA(3).fit(x)
    path = pca.save(tmp_path / "pca.safetensors")
    back = PCA.load(path)
    assert back.n_components == 3 and back.normalize
    np.testing.assert_array_equal(back.transform(x), pca.transform(x))
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(
        FormatError, match=r"junk\.safetensors.*safetensors file written by PCA\.save"
    ):
        PCA.load(tmp_path / "junk.safetensors")


def test_pca_errors() -> None:
    with pytest.raises(NotFittedError):
        PCA(2).transform(np.zeros((1, 4)))
    with pytest.raises(ParameterError, match=r"n_components must be an int in \[1, 4\]"):
        PCA(5).fit(np.zeros((10, 4)))
    with pytest.raises(ParameterError, match="more sample rows than components"):
        PCA(3).fit(np.zeros((3, 4)))
    with pytest.raises(ParameterError, match="dimension 5 given to a PCA fitted on 24"):
        PCA(2).fit(_low_rank()).transform(np.zeros((1, 5)))


def test_pq_codes_rebuild_rows_and_search_finds_neighbours() -> None:
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 32))
    x = normalized(centres[rng.integers(40, size=3000)] + 0.6 * rng.normal(size=(3000, 32)))
    pq = ProductQuantizer(m=8, nbits=8, seed=0).fit(x[:2000])
    codes = pq.transform(x)
    assert codes.shape == (3000, 8) and codes.dtype == np.uint8 and pq.code_size == 8
    assert pq.centroids_.shape == (8, 256, 4)
    rebuilt = pq.inverse_transform(codes)
    assert np.mean(np.sum(rebuilt * x, axis=1)) > 0.9  # cosine with the original
    queries = normalized(x[:100] + 0.05 * rng.normal(size=(100, 32)))
    ids, scores = pq.search(queries, codes, k=10)
    exact_top1 = np.argmax(queries @ x.T, axis=1)
    assert np.mean([exact_top1[i] in ids[i] for i in range(100)]) >= 0.9  # 1-recall@10
    np.testing.assert_allclose(
        scores[:, 0], np.sum(rebuilt[ids[:, 0]] * queries, axis=1), atol=1e-4
    )
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    small = ProductQuantizer(m=4, nbits=4, seed=0).fit(x[:500])
    assert small.transform(x).shape == (3000, 2)  # 4 x 4 bits packed into 2 bytes


def test_pq_is_deterministic_for_a_seed() -> None:
    pytest.importorskip("faiss")
    x = normalized(np.random.default_rng(1).normal(size=(600, 16)))
    a = ProductQuantizer(m=4, nbits=6, seed=3).fit(x).transform(x)
    b = ProductQuantizer(m=4, nbits=6, seed=3).fit(x).transform(x)
    np.testing.assert_array_equal(a, b)


def test_pq_errors() -> None:
    pytest.importorskip("faiss")
    with pytest.raises(ParameterError, match="must divide the dimension 10"):
        ProductQuantizer(m=3).fit(np.zeros((300, 10)))
    with pytest.raises(ParameterError, match="nbits must be in"):
        ProductQuantizer(m=2, nbits=17).fit(np.zeros((600, 10)))
    with pytest.raises(NotFittedError):
        ProductQuantizer().transform(np.zeros((1, 48)))
    with pytest.raises(ParameterError, match="at least 2\\*\\*nbits=256 sample rows"):
        ProductQuantizer(m=2).fit(np.zeros((100, 4)))
