from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.encoders import StaticEncoder
from embedlab.errors import FormatError, NotFittedError, ParameterError
from embedlab.text import Tokenizer


@pytest.fixture
def toy() -> Vectors:
    keys = ["cat", "dog", "sat", "the", "猫", "喜欢", "鱼"]
    m = np.array(
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [2, 0, 0], [0, 2, 0], [0, 0, 2]],
        dtype=np.float32,
    )
    return Vectors(keys, m, counts=[10, 10, 20, 60, 5, 5, 5])


def test_mean_of_known_words_unknown_skipped_empty_is_zero(toy: Vectors) -> None:
    enc = StaticEncoder(toy, normalize=False)
    out = enc.encode(["The cat sat!", "zebra", "", "cat cat dog"])
    np.testing.assert_allclose(out[0], [2 / 3, 1 / 3, 2 / 3])  # (the + cat + sat) / 3
    np.testing.assert_array_equal(out[1], [0, 0, 0])
    np.testing.assert_array_equal(out[2], [0, 0, 0])
    np.testing.assert_allclose(out[3], [2 / 3, 1 / 3, 0])
    assert enc.encode("cat").shape == (3,)
    unit = StaticEncoder(toy).encode(["the cat sat", "zebra"])
    np.testing.assert_allclose(np.linalg.norm(unit[0]), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(unit[1], [0, 0, 0])


def test_chinese_text_is_segmented_with_jieba(toy: Vectors) -> None:
    pytest.importorskip("jieba")
    out = StaticEncoder(toy, normalize=False).encode("猫喜欢鱼")
    np.testing.assert_allclose(out, [2 / 3, 2 / 3, 2 / 3])


def test_sif_weights_and_common_component_removal(toy: Vectors) -> None:
    a = 0.1
    enc = StaticEncoder(toy, weighting="sif", sif_a=a, remove_components=0, normalize=False)
    p = np.array([10, 10, 20, 60, 5, 5, 5]) / 115
    w = a / (a + p)
    want = (w[3] * np.array([1, 1, 1]) + w[0] * np.array([1, 0, 0])) / 2
    np.testing.assert_allclose(enc.encode("the cat"), want, rtol=1e-6)
    texts = ["the cat sat", "the dog sat", "the cat", "the dog", "cat dog sat"]
    fitted = StaticEncoder(toy, weighting="sif", sif_a=a, normalize=False).fit(texts)
    assert fitted.components_ is not None and fitted.components_.shape == (1, 3)
    u = fitted.components_[0]
    out = fitted.encode(texts)
    np.testing.assert_allclose(out @ u, 0.0, atol=1e-6)  # nothing left along the component
    raw = StaticEncoder(toy, weighting="sif", sif_a=a, remove_components=0, normalize=False)
    first = raw.encode(texts)
    np.testing.assert_allclose(out, first - np.outer(first @ u, u), atol=1e-6)


def test_sif_needs_fit_and_learns_frequencies_when_vectors_have_none(toy: Vectors) -> None:
    bare = Vectors(toy.index_to_key, toy.vectors)
    enc = StaticEncoder(bare, weighting="sif", remove_components=0)
    with pytest.raises(NotFittedError, match=r"call fit\(texts\) on a sample"):
        enc.encode("the cat")
    enc.fit(["the the the cat", "the dog"])
    assert enc.word_weights_ is not None
    assert enc.word_weights_[toy.get_index("the")] < enc.word_weights_[toy.get_index("cat")]


def test_save_load_round_trip(toy: Vectors, tmp_path: Path) -> None:
    tok = Tokenizer(lowercase=False, stopwords={"sat"})
    enc = StaticEncoder(toy, weighting="sif", tokenizer=tok, name="toy").fit(
        ["the cat sat", "the dog", "cat dog"]
    )
    folder = enc.save(tmp_path / "enc")
    back = StaticEncoder.load(folder)
    assert back.name == "toy" and back.weighting == "sif"
    assert back.tokenizer.options() == tok.options()  # stop words travel with the encoder
    assert back.tokenizer("the cat sat") == ["the", "cat"]
    texts = ["the cat sat", "The cat", "dog"]
    np.testing.assert_array_equal(back.encode(texts), enc.encode(texts))
    (folder / "static_encoder.json").write_text('{"format_version": 99}')
    with pytest.raises(FormatError, match=r"format_version 99 is not 1"):
        StaticEncoder.load(folder)
    with pytest.raises(FormatError, match=r"not a StaticEncoder folder"):
        StaticEncoder.load(tmp_path)


def test_bad_parameters(toy: Vectors) -> None:
    with pytest.raises(ParameterError, match=r"'weighting' parameter of StaticEncoder"):
        StaticEncoder(toy, weighting="idf")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"StaticEncoder takes a Vectors"):
        StaticEncoder(np.zeros((2, 2)))  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"'remove_components' parameter"):
        StaticEncoder(toy, remove_components=4)
