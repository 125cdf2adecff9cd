"""Cross-lingual alignment on planted rotations: Procrustes, CSLS against hubs, refinement, errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.align import (
    Aligner,
    csls_neighbours,
    identical_pairs,
    procrustes,
    read_lexicon,
    split_by_source,
    translation_accuracy,
)
from embedlab.errors import FormatError, ParameterError
from embedlab.rows import normalized


def _rotation(dim: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q


def _languages(n: int = 400, dim: int = 24, noise: float = 0.05, shared: int = 0) -> tuple:
    """Source words s0.. and target words t0.. whose vectors are a rotation of the source's (plus
    noise); the first ``shared`` words are spelled the same in both (like numerals)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, dim))
    y = x @ _rotation(dim, 1) + noise * rng.normal(size=(n, dim))
    src_words = [f"w{i}" if i < shared else f"s{i}" for i in range(n)]
    tgt_words = [f"w{i}" if i < shared else f"t{i}" for i in range(n)]
    pairs = list(zip(src_words, tgt_words, strict=True))
    return Vectors(src_words, x), Vectors(tgt_words, y), pairs


def test_procrustes_recovers_a_rotation_and_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 16))
    r = _rotation(16, 3)
    w = procrustes(x, x @ r)
    np.testing.assert_allclose(w, r, atol=1e-5)
    linalg = pytest.importorskip("scipy.linalg")
    y = x @ r + 0.3 * rng.normal(size=x.shape)
    np.testing.assert_allclose(procrustes(x, y), linalg.orthogonal_procrustes(x, y)[0], atol=1e-5)


def test_supervised_alignment_translates_held_out_words() -> None:
    src, tgt, pairs = _languages()
    train, test = pairs[:200], pairs[200:]
    aligner = Aligner(refine=0).fit(src, tgt, train)
    for method in ("csls", "nn"):
        acc = translation_accuracy(aligner, test, method=method)
        assert acc["p@1"] == 100.0 and acc["coverage"] == 1.0 and acc["words"] == 200
    assert aligner.translate(["s250"], topn=3)[0][0][0] == "t250"
    mapped = aligner.transform(src)
    np.testing.assert_allclose(np.linalg.norm(mapped.vectors, axis=1), 1.0, atol=1e-5)


def test_refinement_grows_a_small_seed_dictionary() -> None:
    src, tgt, pairs = _languages(noise=0.3)
    seed, test = pairs[:12], pairs[200:]  # fewer pairs than dimensions: underdetermined
    plain = translation_accuracy(Aligner(refine=0).fit(src, tgt, seed), test)["p@1"]
    refined_aligner = Aligner(refine=3).fit(src, tgt, seed)
    refined = translation_accuracy(refined_aligner, test)["p@1"]
    assert refined_aligner.history_[0] == 12 and refined_aligner.history_[-1] > 300
    assert refined > plain and refined >= 95.0


def test_without_a_dictionary_identical_strings_seed_the_map() -> None:
    src, tgt, pairs = _languages(shared=40)
    assert len(identical_pairs(src, tgt)) == 40
    aligner = Aligner(refine=2).fit(src, tgt)
    assert aligner.seed_pairs_ == 40
    assert translation_accuracy(aligner, pairs[100:])["p@1"] >= 95.0


def test_csls_scores_are_the_formula_and_can_reorder_neighbours() -> None:
    rng = np.random.default_rng(4)
    targets, queries = normalized(rng.normal(size=(30, 8))), normalized(rng.normal(size=(12, 8)))
    k = 3
    cos = queries @ targets.T
    r_s = np.sort(cos, axis=1)[:, -k:].mean(axis=1)  # each query's k nearest targets
    r_t = np.sort(cos.T, axis=1)[:, -k:].mean(axis=1)  # each target's k nearest queries
    want = 2 * cos - r_s[:, None] - r_t[None, :]
    ids, scores = csls_neighbours(queries, targets, k=k, topn=30, sources=queries)
    np.testing.assert_allclose(scores, np.take_along_axis(want, ids, axis=1), atol=1e-5)
    assert (ids[:, 0] == want.argmax(axis=1)).all()
    nn, _ = csls_neighbours(queries, targets, method="nn", topn=1)
    assert (nn[:, 0] == cos.argmax(axis=1)).all()
    assert (nn[:, 0] != ids[:, 0]).any()  # the penalty for crowded targets changes answers


def test_lexicon_reading_and_splitting(tmp_path: Path) -> None:
    path = tmp_path / "d.txt"
    path.write_text("cat\tchat\ncat chatte\n\ndog\tchien\nbird\toiseau\n")
    pairs = read_lexicon(path)
    assert pairs == [("cat", "chat"), ("cat", "chatte"), ("dog", "chien"), ("bird", "oiseau")]
    train, test = split_by_source(pairs, 0.34, seed=0)
    assert {s for s, _ in train}.isdisjoint({s for s, _ in test}) and len(train) + len(test) == 4
    (tmp_path / "bad.txt").write_text("cat\tchat\nonlyone\n")
    with pytest.raises(FormatError, match=r"bad\.txt, line 2: expected 'source<TAB>target'"):
        read_lexicon(tmp_path / "bad.txt")


def test_errors_are_clear() -> None:
    src, tgt, _ = _languages()
    with pytest.raises(ParameterError, match="none of the 2 dictionary pairs has both words"):
        Aligner().fit(src, tgt, [("cat", "chat"), ("dog", "chien")])
    small = Vectors(["a", "b"], np.eye(2, 8, dtype=np.float32))
    with pytest.raises(ParameterError, match="vectors of one dimension; got 24 and 8"):
        Aligner().fit(src, small, [("s1", "a")])
    with pytest.raises(ParameterError, match="not in the source vocabulary"):
        Aligner(refine=0).fit(src, tgt, [("s1", "t1"), ("s2", "t2")]).translate(["nope"])


def test_rcsls_gradient_matches_finite_differences_and_lowers_the_loss() -> None:
    from embedlab.align.rcsls import _loss_grad, rcsls, rcsls_loss

    rng = np.random.default_rng(5)
    x = normalized(rng.normal(size=(60, 8))).astype(np.float32)
    y = normalized(x @ rng.normal(size=(8, 8)) + 0.2 * rng.normal(size=(60, 8))).astype(np.float32)
    w = procrustes(x, y)
    loss, grad = _loss_grad(x, y, x, y, w, 3, 16)
    assert loss == pytest.approx(rcsls_loss(x, y, w, x, y, k=3))
    eps = 1e-3
    for i, j in ((0, 0), (2, 5), (7, 3)):
        step = np.zeros_like(w)
        step[i, j] = eps
        up = rcsls_loss(x, y, w + step, x, y, k=3)
        down = rcsls_loss(x, y, w - step, x, y, k=3)
        assert (up - down) / (2 * eps) == pytest.approx(grad[i, j], abs=2e-3)
    fitted, losses = rcsls(x, y, w, x, y, k=3, steps=20)
    assert losses[0] == pytest.approx(loss) and losses[-1] < losses[0] - 0.05
    assert all(b <= a for a, b in itertools.pairwise(losses))
    assert rcsls_loss(x, y, fitted, x, y, k=3) == pytest.approx(losses[-1], abs=1e-5)


def test_rcsls_fits_a_map_that_is_not_a_rotation() -> None:
    """Target vectors a stretched rotation of the source's: the orthogonal map cannot follow the
    stretch, the RCSLS finish can, and held-out words translate better."""
    rng = np.random.default_rng(0)
    n, dim = 600, 16
    x = rng.normal(size=(n, dim))
    stretch = np.diag(np.linspace(0.2, 3.0, dim))
    y = x @ _rotation(dim, 1) @ stretch + 1.5 * rng.normal(size=(n, dim))
    src = Vectors([f"s{i}" for i in range(n)], x)
    tgt = Vectors([f"t{i}" for i in range(n)], y)
    pairs = [(f"s{i}", f"t{i}") for i in range(n)]
    train, test = pairs[:300], pairs[300:]
    orthogonal = Aligner(refine=0, objective="procrustes").fit(src, tgt, train)
    fitted = Aligner(refine=0, objective="rcsls", rcsls_steps=30).fit(src, tgt, train)
    assert fitted.losses_[-1] < fitted.losses_[0] and orthogonal.losses_ == []
    before = translation_accuracy(orthogonal, test)["p@1"]
    after = translation_accuracy(fitted, test)["p@1"]
    assert after >= before + 4, (before, after)  # 51.3 -> 57.3
