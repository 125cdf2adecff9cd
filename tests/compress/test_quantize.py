"""Scalar and binary quantization: golden codes, sentence-transformers' codes, search with rescoring."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.compress import (
    ScalarQuantizer,
    binarize,
    hamming_distances,
    quantize_embeddings,
    search_binary,
    unbinarize,
)
from embedlab.errors import NotFittedError, ParameterError
from embedlab.rows import normalized


def _unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return normalized(np.random.default_rng(seed).normal(size=(n, dim)))


def test_int8_golden_codes_and_bucket_centres() -> None:
    sample = np.array([[0.0, -1.0], [2.55, 1.0]], dtype=np.float32)
    q = ScalarQuantizer().fit(sample)
    np.testing.assert_allclose(q.ranges_, [[0.0, -1.0], [2.55, 1.0]])
    codes = q.transform(np.array([[0.0, 0.0], [1.0, 5.0], [-3.0, -1.0]], dtype=np.float32))
    # dim 0: step 0.01 -> bucket floor(100) = 100 -> -28; values beyond the range clip
    assert codes.dtype == np.int8
    assert codes.tolist() == [[-128, -1], [-28, 127], [-128, -128]]
    back = q.inverse_transform(codes)
    np.testing.assert_allclose(back[1, 0], 1.005, atol=1e-5)  # the bucket's centre
    uint = ScalarQuantizer("uint8").fit(sample).transform(np.array([[1.0, 0.0]], np.float32))
    assert uint.dtype == np.uint8 and uint.tolist() == [[100, 127]]


def test_int8_round_trip_error_is_at_most_half_a_step() -> None:
    x = _unit_rows(500, 32)
    q = ScalarQuantizer().fit(x)
    step = (q.ranges_[1] - q.ranges_[0]) / 255
    err = np.abs(q.inverse_transform(q.transform(x)) - x)
    assert (err <= step / 2 + 1e-6).all()


def test_binary_packs_signs_eight_to_a_byte() -> None:
    x = np.array([[1, -1, 1, -1, 1, -1, 1, -1, 0.5, 0.5]], dtype=np.float32)
    u = binarize(x, signed=False)
    assert u.dtype == np.uint8 and u.tolist() == [[0b10101010, 0b11000000]]
    s = binarize(x)
    assert s.dtype == np.int8 and s.tolist() == [[0b10101010 - 128, 0b11000000 - 128]]
    np.testing.assert_array_equal(unbinarize(s, 10), np.where(x > 0, 1.0, -1.0))
    np.testing.assert_array_equal(unbinarize(u, 10), unbinarize(s, 10))


def test_hamming_distance_counts_differing_signs() -> None:
    x = _unit_rows(50, 64, seed=1)
    codes = binarize(x)
    d = hamming_distances(codes[:3], codes)
    expected = ((x[:3, None, :] > 0) != (x[None, :, :] > 0)).sum(axis=2)
    np.testing.assert_array_equal(d, expected)
    assert (np.diag(d[:, :3]) == 0).all()
    with pytest.raises(ParameterError, match="codes do not match"):
        hamming_distances(codes[0], binarize(x, signed=False))


def test_binary_search_with_float_rescoring_finds_planted_neighbours() -> None:
    rng = np.random.default_rng(3)
    docs = _unit_rows(2000, 128, seed=2)
    pick = rng.choice(2000, 100, replace=False)
    queries = normalized(docs[pick] + rng.normal(scale=0.03, size=(100, 128)))
    codes = binarize(docs)
    ids, scores = search_binary(queries, codes, k=5, vectors=docs, rescore=4)
    assert ids.shape == (100, 5) and (ids[:, 0] == pick).all()
    np.testing.assert_allclose(scores[:, 0], (docs[pick] * queries).sum(axis=1), rtol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    # without float rows the +-1 signs rescore: coarser, but the planted row still wins
    ids_signs, _ = search_binary(queries, codes, k=5)
    assert (ids_signs[:, 0] == pick).mean() >= 0.95


def test_quantize_embeddings_matches_sentence_transformers() -> None:
    st = pytest.importorskip("sentence_transformers.quantization")
    x = _unit_rows(300, 48, seed=4)
    calib = _unit_rows(1000, 48, seed=5)
    for precision in ("int8", "uint8", "binary", "ubinary"):
        ours = quantize_embeddings(x, precision, calibration=calib)  # type: ignore[arg-type]
        theirs = st.quantize_embeddings(x, precision=precision, calibration_embeddings=calib)
        assert ours.dtype == theirs.dtype, precision
        np.testing.assert_array_equal(ours, theirs, err_msg=precision)
    half = quantize_embeddings(x, "float16")
    assert half.dtype == np.float16 and np.abs(half - x).max() < 1e-3


def test_errors_are_clear() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        ScalarQuantizer().transform(np.zeros((2, 3), np.float32))
    with pytest.raises(ParameterError, match="2 or more rows"):
        ScalarQuantizer().fit(np.zeros((1, 3), np.float32))
    with pytest.raises(ParameterError, match="dimension 4 given to a quantizer fitted on 3"):
        ScalarQuantizer().fit(np.eye(3, dtype=np.float32)).transform(np.zeros((1, 4), np.float32))
    with pytest.raises(ParameterError, match="float vectors"):
        binarize(np.array([[1, 2]], dtype=np.int8))
    with pytest.raises(ParameterError, match="'precision'"):
        quantize_embeddings(np.zeros((2, 2), np.float32), "int4")  # type: ignore[arg-type]


def test_int8_scores_equal_dot_products_with_the_decoded_rows() -> None:
    x, queries = _unit_rows(700, 24, seed=6), _unit_rows(5, 24, seed=7)
    for precision in ("int8", "uint8"):
        q = ScalarQuantizer(precision).fit(x)  # type: ignore[arg-type]
        codes = q.transform(x)
        np.testing.assert_allclose(
            q.scores(queries, codes, chunk=256), queries @ q.inverse_transform(codes).T, atol=1e-5
        )
