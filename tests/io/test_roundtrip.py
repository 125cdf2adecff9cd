"""Hypothesis round-trips for every writable format: unicode keys, extreme floats, 0/1-row files."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedlab import Vectors, load_vectors, save_vectors

# keys a whitespace-separated format can hold: no whitespace, separators or control characters
PLAIN_KEY = st.text(
    st.characters(exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=12
).filter(lambda k: not any(ch.isspace() for ch in k))
ANY_KEY = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
FLOAT32 = st.floats(width=32, allow_nan=True, allow_infinity=True)


@st.composite
def vectors(draw: st.DrawFn, keys: st.SearchStrategy[str]) -> Vectors:
    n = draw(st.integers(0, 6))
    dim = draw(st.integers(1, 5))
    ks = draw(st.lists(keys, min_size=n, max_size=n, unique=True))
    values = draw(st.lists(FLOAT32, min_size=n * dim, max_size=n * dim))
    counts = draw(st.one_of(st.none(), st.lists(st.integers(0, 2**62), min_size=n, max_size=n)))
    return Vectors(ks, np.array(values, dtype=np.float32).reshape(n, dim), counts)


def _same(a: Vectors, b: Vectors, *, dim_known: bool = True, counts: bool = False) -> None:
    assert list(b.index_to_key) == list(a.index_to_key)
    if not len(a) and not dim_known:  # a 0-row GloVe or projector file cannot carry the dimension
        assert b.vectors.shape[0] == 0
    else:
        assert b.vectors.shape == a.vectors.shape
        np.testing.assert_array_equal(b.vectors, a.vectors)  # NaN == NaN here, bit-exact otherwise
        finite = ~np.isnan(a.vectors)  # -0.0 keeps its sign; a NaN's sign is not data
        assert np.array_equal(np.signbit(b.vectors)[finite], np.signbit(a.vectors)[finite])
    if counts:
        assert (b.counts is None) == (a.counts is None)
        if a.counts is not None:
            np.testing.assert_array_equal(b.counts, a.counts)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(v=vectors(PLAIN_KEY), name=st.sampled_from(["v.txt", "v.vec", "v.txt.gz", "v.vec.bz2"]))
def test_word2vec_text(v: Vectors, name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        save_vectors(v, Path(d) / name)
        _same(v, load_vectors(Path(d) / name))


@SETTINGS
@given(v=vectors(PLAIN_KEY), name=st.sampled_from(["v.bin", "v.bin.gz"]))
def test_word2vec_binary(v: Vectors, name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        save_vectors(v, Path(d) / name)
        _same(v, load_vectors(Path(d) / name))


@SETTINGS
@given(v=vectors(PLAIN_KEY))
def test_glove(v: Vectors) -> None:
    with tempfile.TemporaryDirectory() as d:
        save_vectors(v, Path(d) / "g.txt", format="glove")
        _same(v, load_vectors(Path(d) / "g.txt", format="glove"), dim_known=False)


@SETTINGS
@given(v=vectors(ANY_KEY), storage=st.sampled_from(["safetensors", "npy"]), mmap=st.booleans())
def test_native(v: Vectors, storage: str, mmap: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        save_vectors(v, Path(d) / "v", storage=storage)
        back = load_vectors(Path(d) / "v", mmap=mmap)
        _same(v, back, counts=True)
        for i, key in enumerate(v.index_to_key):  # the binary-search key index finds every key
            assert back.key_to_index[key] == i and key in back
        assert "\x00never a key" not in back


@SETTINGS
@given(v=vectors(PLAIN_KEY))
def test_projector_and_keras(v: Vectors) -> None:
    with tempfile.TemporaryDirectory() as d:
        save_vectors(v, Path(d) / "p", format="projector")
        _same(v, load_vectors(Path(d) / "p"), dim_known=False, counts=True)
        save_vectors(v, Path(d) / "k", format="keras")
        _same(v, load_vectors(Path(d) / "k"))


def test_native_float16_storage_halves_size_and_widens_on_load(tmp_path: Path) -> None:
    v = Vectors(["a", "b"], [[0.5, -2.0], [1e-3, 65504.0]])
    save_vectors(v, tmp_path / "h", dtype="float16")
    back = load_vectors(tmp_path / "h")
    assert back.vectors.dtype == np.float32
    np.testing.assert_array_equal(back.vectors, v.vectors.astype(np.float16).astype(np.float32))
