"""The Encoder contract, run against every encoder embedlab ships."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.encoders import Encoder, StaticEncoder, TransformerEncoder, distill
from embedlab.errors import ParameterError

from .conftest import SENTENCES

FACTORIES: dict[str, Callable[[dict[str, Path]], Encoder]] = {
    "bert-mean": lambda f: TransformerEncoder(f["bert"]),
    "st-cls-dense-normalize": lambda f: TransformerEncoder(f["st"]),
    "gpt2-lasttoken": lambda f: TransformerEncoder(f["gpt2"]),
    "bert-onnx": lambda f: TransformerEncoder(f["bert"], backend="onnx"),
    "static-words": lambda f: StaticEncoder(_word_vectors()),
    "static-distilled": lambda f: distill(TransformerEncoder(f["bert"]), dims=16),
}


def _word_vectors() -> Vectors:
    words = sorted({w for s in SENTENCES for w in s.split()})
    rng = np.random.default_rng(0)
    return Vectors(words, rng.normal(size=(len(words), 12)).astype(np.float32))


@pytest.fixture(params=sorted(FACTORIES))
def encoder(
    request: pytest.FixtureRequest,
    tiny_bert: Path,
    tiny_st: Path,
    tiny_gpt2: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Encoder:
    if request.param == "bert-onnx":
        pytest.importorskip("onnxruntime")
        monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    return FACTORIES[request.param]({"bert": tiny_bert, "st": tiny_st, "gpt2": tiny_gpt2})


def test_is_an_encoder_with_a_name_and_a_dim(encoder: Encoder) -> None:
    assert isinstance(encoder, Encoder)
    assert isinstance(encoder.name, str) and encoder.name
    assert isinstance(encoder.dim, int) and encoder.dim > 0
    assert encoder.max_length is None or encoder.max_length > 0


def test_shapes_dtype_and_single_string(encoder: Encoder) -> None:
    many = encoder.encode(SENTENCES[:5])
    assert many.shape == (5, encoder.dim) and many.dtype == np.float32
    one = encoder.encode(SENTENCES[0])
    assert one.shape == (encoder.dim,) and one.dtype == np.float32
    np.testing.assert_allclose(one, many[0], rtol=1e-4, atol=1e-5)
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_order_is_kept_and_batching_does_not_change_vectors(encoder: Encoder) -> None:
    forward = encoder.encode(SENTENCES, batch_size=3, normalize=True)
    backward = encoder.encode(SENTENCES[::-1], batch_size=5, normalize=True)
    np.testing.assert_allclose(backward[::-1], forward, rtol=1e-4, atol=1e-5)
    alone = np.stack([encoder.encode(s, normalize=True) for s in SENTENCES])
    assert np.sum(alone * forward, axis=1).min() >= 0.99999


def test_normalize_gives_unit_rows(encoder: Encoder) -> None:
    out = encoder.encode(SENTENCES, normalize=True)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_rejects_non_text_input(encoder: Encoder) -> None:
    with pytest.raises(ParameterError, match=r"takes a str or a sequence of str"):
        encoder.encode(42)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"item 0 is bytes"):
        encoder.encode([b"bytes"])  # type: ignore[list-item]


def test_attention_groups_cut_between_lengths_at_least_cost() -> None:
    from embedlab.encoders._packed import attention_groups

    assert attention_groups(np.array([9, 9, 8, 3, 3]), 4) == [3]
    assert attention_groups(np.array([9, 9, 8, 3, 3]), 0) == [2, 3]  # every length alone
    assert attention_groups(np.array([9, 9, 8, 3, 3]), 100) == []
    assert attention_groups(np.array([5]), 3) == []
    rng = np.random.default_rng(1)
    for _ in range(30):  # against every way of cutting between distinct lengths
        lengths = np.sort(rng.integers(1, 40, rng.integers(1, 8)))[::-1]
        overhead = float(rng.integers(0, 30))

        def cost(cuts: tuple[int, ...], lengths: np.ndarray, overhead: float) -> float:
            bounds = (0, *cuts, len(lengths))
            return sum(overhead + (b - a) * lengths[a] for a, b in itertools.pairwise(bounds))

        places = [i for i in range(1, len(lengths)) if lengths[i] != lengths[i - 1]]
        least = min(
            cost(c, lengths, overhead)
            for r in range(len(places) + 1)
            for c in itertools.combinations(places, r)
        )
        assert cost(tuple(attention_groups(lengths, overhead)), lengths, overhead) == least


def test_length_sorted_batches_split_at_least_cost() -> None:
    from embedlab.encoders.base import length_sorted_batches

    def cost(batches: list[list[int]], lengths: list[int], overhead: int, pad: float) -> float:
        return sum(
            overhead
            + pad * len(b) * max(lengths[i] for i in b)
            + (1 - pad) * sum(lengths[i] for i in b)
            for b in batches
        )

    assert [list(b) for b in length_sorted_batches([30, 9, 1, 8], 2, overhead=4)] == [
        [0],
        [1, 3],
        [2],
    ]
    assert [list(b) for b in length_sorted_batches([10] * 5, 2)] == [[0, 1], [2, 3], [4]]
    # a big per-call cost merges what a small one keeps apart
    assert len(list(length_sorted_batches([40, 20], 8, overhead=0))) == 2
    assert len(list(length_sorted_batches([40, 20], 8, overhead=30))) == 1
    # an unpadded forward pays little for padding: merging is worth even a small per-call cost
    assert len(list(length_sorted_batches([40, 20], 8, overhead=5))) == 2
    assert len(list(length_sorted_batches([40, 20], 8, overhead=5, padding_cost=0.1))) == 1
    # max_slots bounds a batch's padded size (memory); an item over it goes alone
    capped = length_sorted_batches([10] * 5, 8, overhead=100, max_slots=20)
    assert [list(b) for b in capped] == [[0, 1], [2, 3], [4]]
    assert [list(b) for b in length_sorted_batches([50, 10], 8, overhead=100, max_slots=20)] == [
        [0],
        [1],
    ]
    rng = np.random.default_rng(0)
    for _ in range(40):  # the least total against every way of cutting the sorted items
        lengths = rng.integers(1, 60, rng.integers(1, 9)).tolist()
        cap, overhead = int(rng.integers(1, 5)), int(rng.integers(0, 40))
        pad = float(rng.choice([1.0, 0.5, 0.1]))
        got = [
            list(b)
            for b in length_sorted_batches(lengths, cap, overhead=overhead, padding_cost=pad)
        ]
        assert sorted(i for b in got for i in b) == list(range(len(lengths)))
        assert all(len(b) <= cap for b in got)
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        least = min(
            cost(
                [order[a:b] for a, b in itertools.pairwise((0, *cuts, len(order)))],
                lengths,
                overhead,
                pad,
            )
            for k in range(len(order))
            for cuts in itertools.combinations(range(1, len(order)), k)
            if all(b - a <= cap for a, b in itertools.pairwise((0, *cuts, len(order))))
        )
        assert cost(got, lengths, overhead, pad) == pytest.approx(least)
