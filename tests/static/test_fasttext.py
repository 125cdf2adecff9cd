"""FastText on planted topics; OOV vectors; determinism; agreement with fastText's formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from planted import topic_accuracy, topic_corpus

from embedlab import SubwordVectors, load_vectors, save_vectors
from embedlab.static import FastText

SMALL = dict(dim=24, min_count=1, epochs=5, seed=2, bucket=5000, show_progress=False)


def test_planted_topics_recovered_by_skipgram_and_cbow() -> None:
    for sg in (True, False):
        model = FastText(**SMALL, sg=sg).fit(topic_corpus())  # type: ignore[arg-type]
        assert topic_accuracy(model) >= 0.9, sg
        assert model.loss_history_[-1] < model.loss_history_[0]


def test_oov_words_get_vectors_from_their_ngrams() -> None:
    model = FastText(**SMALL).fit(topic_corpus())  # type: ignore[arg-type]
    v = model.vectors_
    assert isinstance(v, SubwordVectors) and v.bucket == 5000 and (v.minn, v.maxn) == (3, 6)
    assert "t3_99" not in v
    oov = v["t3_99"]  # shares the n-grams "<t3", "<t3_", "t3_" ... with topic 3
    assert oov.shape == (24,) and np.isfinite(oov).all()
    # a known word's vector is the mean of its own row and its n-gram rows (fastText's formula)
    from embedlab.subword import ngram_ids

    w = "t0_1"
    rows = [v.key_to_index[w], *ngram_ids(w, minn=3, maxn=6, bucket=5000, nwords=len(v))]
    np.testing.assert_allclose(v[w], v._input[rows].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_deterministic_mode() -> None:
    corpus = topic_corpus(sentences=500)
    a = FastText(**SMALL, workers=1).fit(corpus)  # type: ignore[arg-type]
    b = FastText(**SMALL, workers=1).fit(corpus)  # type: ignore[arg-type]
    assert np.array_equal(a.vectors_.ngram_vectors, b.vectors_.ngram_vectors)


def test_native_format_keeps_the_ngram_matrix(tmp_path: Path) -> None:
    model = FastText(**SMALL).fit(topic_corpus(sentences=500))  # type: ignore[arg-type]
    save_vectors(model.vectors_, tmp_path / "ft")
    back = load_vectors(tmp_path / "ft")
    assert isinstance(back, SubwordVectors)
    np.testing.assert_array_equal(back["t2_7"], model.vectors_["t2_7"])
    np.testing.assert_array_equal(back["unseen_t2"], model.vectors_["unseen_t2"])
    save_vectors(model.vectors_, tmp_path / "ft.vec")
    assert load_vectors(tmp_path / "ft.vec").dim == 24


def test_continue_training_a_fasttext_bin() -> None:
    data = Path(__file__).parent.parent / "data" / "tiny_fasttext.bin"
    model = FastText.from_fasttext_bin(data, epochs=1, workers=1, show_progress=False)
    assert (model.dim, model.window, model.bucket, model.minn, model.maxn) == (8, 5, 3000, 3, 6)
    before = load_vectors(data)
    np.testing.assert_array_equal(model.vectors_["the"], before["the"])
    corpus = [["the", "night", "was", "dark", "and", "the", "sea", "was", "calm"]] * 200
    model.continue_training(corpus)
    after = model.vectors_
    assert len(after) == len(before) and list(after.index_to_key) == list(before.index_to_key)
    assert not np.array_equal(after["night"], before["night"])  # trained words moved
    assert len(model.loss_history_) == 1 and np.isfinite(after["unseenword"]).all()
    import pytest

    from embedlab.errors import ParameterError

    with pytest.raises(ParameterError, match="none of the corpus's words"):
        model.continue_training([["zzzq", "qqqz"]])
