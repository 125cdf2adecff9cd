"""Format specifics: detection, limits, compression, fastText .bin exactness, errors that say where."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from embedlab import SubwordVectors, Vectors, load_vectors, save_vectors
from embedlab.errors import FormatError, ParameterError
from embedlab.io import detect_format, export_keras, export_projector
from embedlab.subword import ngram_ids


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.fixture
def small() -> Vectors:
    return Vectors(
        ["the", "cat", "été"], [[0.5, -1.0, 2.0], [0.0, 1e-30, -3.5], [1.0, 2.0, 3.0]], [9, 5, 1]
    )


# ------------------------------------------------------------------------- detection and reading
def test_detection_by_suffix_and_content(tmp_path: Path, small: Vectors) -> None:
    for name, fmt, expected in [
        ("a.txt", None, "word2vec"),
        ("a.vec", None, "fasttext-vec"),
        ("a.bin", None, "word2vec-binary"),
        ("g.txt", "glove", "glove"),
        ("nat", None, "native"),
        ("p", "projector", "projector"),
        ("k", "keras", "keras"),
        ("a.bin.gz", None, "word2vec-binary"),
    ]:
        save_vectors(small, tmp_path / name, fmt)  # type: ignore[arg-type]
        assert detect_format(tmp_path / name) == expected, name
    # no suffix: content decides
    (tmp_path / "a.bin").rename(tmp_path / "noext1")
    (tmp_path / "a.txt").rename(tmp_path / "noext2")
    assert detect_format(tmp_path / "noext1") == "word2vec-binary"
    assert detect_format(tmp_path / "noext2") == "word2vec"
    assert detect_format(tmp_path / "../" / tmp_path.name / "g.txt") == "glove"
    assert (
        detect_format(Path(__file__).parent.parent / "data" / "tiny_fasttext.bin") == "fasttext-bin"
    )


def test_glove_infers_dimension_and_reads_keys_with_spaces(tmp_path: Path) -> None:
    p = write(tmp_path / "g.txt", "the 0.1 0.2 0.3\n. . . 1 2 3\nat name@x.com 4 5 6\n")
    v = load_vectors(p)
    assert v.dim == 3 and v.index_to_key == ["the", ". . .", "at name@x.com"]
    np.testing.assert_array_equal(v["at name@x.com"], [4, 5, 6])


def test_text_reader_accepts_tabs_crlf_and_trailing_blank_lines(tmp_path: Path) -> None:
    p = write(tmp_path / "w.txt", "2 2\r\na\t1 2 \r\nb 3\t4\r\n\r\n\n")
    v = load_vectors(p)
    assert v.index_to_key == ["a", "b"] and v.vectors.tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("name", ["v.txt", "v.bin", "v.txt.gz", "v.bin.bz2", "nat"])
def test_limit_reads_only_first_rows(tmp_path: Path, small: Vectors, name: str) -> None:
    save_vectors(small, tmp_path / name)
    v = load_vectors(tmp_path / name, limit=2)
    assert (
        v.index_to_key == ["the", "cat"]
        if name != "nat"
        else list(v.index_to_key) == ["the", "cat"]
    )
    np.testing.assert_array_equal(v.vectors, small.vectors[:2])
    assert len(load_vectors(tmp_path / name, limit=0)) == 0


def test_compressed_files_are_really_compressed(tmp_path: Path, small: Vectors) -> None:
    save_vectors(small, tmp_path / "a.txt.gz")
    save_vectors(small, tmp_path / "a.bin.bz2")
    assert gzip.decompress((tmp_path / "a.txt.gz").read_bytes()).startswith(b"3 3\nthe ")
    assert bz2.decompress((tmp_path / "a.bin.bz2").read_bytes()).startswith(b"3 3\nthe ")


def test_word2vec_binary_layout_golden(tmp_path: Path) -> None:
    save_vectors(Vectors(["ab"], [[1.0, -2.0]]), tmp_path / "v.bin")
    assert (tmp_path / "v.bin").read_bytes() == b"1 2\nab " + np.array(
        [1, -2], "<f4"
    ).tobytes() + b"\n"


def test_text_precision_option(tmp_path: Path) -> None:
    save_vectors(Vectors(["a"], [[0.1, 1 / 3]]), tmp_path / "v.txt", precision=3)
    assert (tmp_path / "v.txt").read_text() == "1 2\na 0.1 0.333\n"
    with pytest.raises(ParameterError, match=r"\['dtype'\] do not apply to the word2vec format"):
        save_vectors(Vectors(["a"], [[0.1]]), tmp_path / "v.txt", dtype="float16")


def test_writers_refuse_keys_their_format_cannot_hold(tmp_path: Path) -> None:
    v = Vectors(["new york"], [[1.0]])
    with pytest.raises(ParameterError, match=r"'new york' at row 0 .* save to the native format"):
        save_vectors(v, tmp_path / "v.txt")
    assert not (tmp_path / "v.txt").exists()
    with pytest.raises(ParameterError, match="cannot be written"):
        save_vectors(v, tmp_path / "m.bin", format="fasttext-bin")
    with pytest.raises(ParameterError, match=r"cannot tell the format from the suffix '\.xyz'"):
        save_vectors(v, tmp_path / "v.xyz")


def test_failed_write_keeps_the_old_file(
    tmp_path: Path, small: Vectors, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "v.txt"
    save_vectors(small, target)
    before = target.read_bytes()
    import embedlab.io.text as text_mod

    def boom(*a: object, **k: object) -> list[str]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(text_mod, "format_rows", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        save_vectors(small.subset(["cat"]), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.txt"]  # no temp file left behind


def test_native_opens_lazily_with_mmap(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    keys = [f"w{i}" for i in range(5000)] + ["a\nb", "back\\slash", "", "北京"]
    v = Vectors(keys, rng.normal(size=(len(keys), 8)), counts=np.arange(len(keys)))
    save_vectors(v, tmp_path / "n")
    back = load_vectors(tmp_path / "n")
    assert back.is_mmap and "mmap" in repr(back)
    assert back.key_to_index["a\nb"] == 5000 and back.index_to_key[5003] == "北京"
    assert back["w4321"].tolist() == v["w4321"].tolist()
    assert "w5000" not in back and back.most_similar("w1", topn=1) == v.most_similar("w1", topn=1)
    header = json.loads((tmp_path / "n" / "header.json").read_text())
    assert (
        header["format_version"] == 1
        and header["shape"] == [5004, 8]
        and header["dtype"] == "float32"
    )
    assert (tmp_path / "n" / "keys.txt").read_text(encoding="utf-8").splitlines()[5000:] == [
        "a\\nb",
        "back\\\\slash",
        "",
        "北京",
    ]


def test_exports_layout(tmp_path: Path, small: Vectors) -> None:
    export_projector(small, tmp_path / "p")
    assert (tmp_path / "p" / "metadata.tsv").read_text(
        encoding="utf-8"
    ) == "key\tcount\nthe\t9\ncat\t5\nété\t1\n"
    assert (tmp_path / "p" / "vectors.tsv").read_text().splitlines()[0] == "0.5\t-1\t2"
    assert 'tensor_path: "vectors.tsv"' in (tmp_path / "p" / "projector_config.pbtxt").read_text()
    export_keras(small, tmp_path / "k")
    m = np.load(tmp_path / "k" / "embedding_matrix.npy")
    assert m.shape == (5, 3) and not m[0].any()
    np.testing.assert_allclose(m[1], small.vectors.mean(axis=0))
    np.testing.assert_array_equal(m[2:], small.vectors)
    assert (tmp_path / "k" / "vocab.txt").read_text(encoding="utf-8") == "the\ncat\nété\n"


# ------------------------------------------------------------------------- fastText .bin
def test_fasttext_bin_matches_fasttext_for_known_and_unknown_words(data_dir: Path) -> None:
    expected = json.loads((data_dir / "tiny_fasttext_expected.json").read_text(encoding="utf-8"))
    v = load_vectors(data_dir / "tiny_fasttext.bin")
    assert isinstance(v, SubwordVectors)
    assert len(v) == expected["nwords"] and list(v.index_to_key[:20]) == expected["first_words"]
    assert (v.minn, v.maxn, v.bucket) == (3, 6, 3000) and v.ngram_vectors.shape == (3000, 8)
    for word, vec in expected["known"].items():
        assert word in v
        np.testing.assert_array_equal(v[word], np.array(vec, dtype=np.float32), err_msg=word)
    for word, vec in expected["oov"].items():
        np.testing.assert_array_equal(v[word], np.array(vec, dtype=np.float32), err_msg=word)
    assert "北京城" not in v and v.counts is not None and v.counts[0] >= v.counts[1]
    assert load_vectors(data_dir / "tiny_fasttext.bin", mmap=False)[
        "cafés"
    ].tolist() == pytest.approx(expected["oov"]["cafés"])


def _reference_fnv1a(data: bytes) -> int:
    """fastText's Dictionary::hash, written out plainly: bytes are sign-extended int8."""
    h = 2166136261
    for byte in data:
        h ^= byte if byte < 128 else byte | 0xFFFFFF00
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def test_fasttext_ngram_hash_golden() -> None:
    assert _reference_fnv1a(b"<a") == 0x68F6DC6E  # standard 32-bit FNV-1a of ASCII "<a"
    grams = ["<ét", "<été", "été", "été>", "té>"]  # n = 3..4 over the characters of "<été>"
    want = [_reference_fnv1a(g.encode()) % 2_000_000 for g in grams]
    assert ngram_ids("été", minn=3, maxn=4, bucket=2_000_000) == want
    # single characters at the word boundary ("<", ">") are never n-grams; inner ones are
    assert ngram_ids("ab", minn=1, maxn=1, bucket=97, nwords=5) == [
        5 + _reference_fnv1a(b"a") % 97,
        5 + _reference_fnv1a(b"b") % 97,
    ]


def test_fasttext_limit_keeps_oov_vectors_exact(data_dir: Path) -> None:
    expected = json.loads((data_dir / "tiny_fasttext_expected.json").read_text(encoding="utf-8"))
    v = load_vectors(data_dir / "tiny_fasttext.bin", limit=10)
    assert len(v) == 10
    np.testing.assert_array_equal(v["cafés"], np.array(expected["oov"]["cafés"], dtype=np.float32))


# ------------------------------------------------------------------------- errors say where and what
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("2 3\na 1 2 3\nb 1 2\n", r"line 3: expected 3 floats after the key, found 2"),
        ("2 3\na 1 2 3\nb 1 x 3\n", r"line 3: expected a float in column 3, found b'x'"),
        ("3 2\na 1 2\nb 1 2\n", r"line 4: the header declares 3 rows, found 2"),
        ("1 2\na 1 2\nb 1 2\n", r"line 3: the header declares 1 rows, found more"),
        ("2 2\na 1 2\na 3 4\n", r"line 3: duplicate key 'a' \(first seen at line 2\)"),
        ("a 1 2\n", r"line 1: expected a header 'ROWS DIM', found b'a 1 2\\n'"),
        ("2 2\na 1 2\n\nb 3 4\n", r"line 3: expected a row, found an empty line"),
        ("1 2\nnokey\n", r"line 2: expected 'KEY FLOAT \.\.\.', found b'nokey'"),
    ],
)
def test_word2vec_text_errors(tmp_path: Path, content: str, message: str) -> None:
    p = write(tmp_path / "v.txt", content)
    with pytest.raises(FormatError, match=message) as info:
        load_vectors(p, format="word2vec")
    assert str(p) in str(info.value)


def test_non_utf8_key_and_encoding_errors_option(tmp_path: Path) -> None:
    p = write(tmp_path / "v.txt", b"2 1\ncaf\xe9 1\nok 2\n")
    with pytest.raises(
        FormatError,
        match=r"line 2: key b'caf\\xe9' is not valid utf-8 \(byte 0xe9 at position 3\); "
        r"pass encoding_errors='replace' or 'ignore'",
    ):
        load_vectors(p)
    assert load_vectors(p, encoding_errors="replace").index_to_key == ["caf\ufffd", "ok"]
    assert load_vectors(p, encoding_errors="ignore").index_to_key == ["caf", "ok"]
    assert load_vectors(p, encoding="latin-1").index_to_key == ["café", "ok"]
    with pytest.raises(ParameterError, match="encoding_errors"):
        load_vectors(p, encoding_errors="skip")  # type: ignore[arg-type]


def test_binary_errors(tmp_path: Path) -> None:
    good = b"2 2\na " + np.ones(2, "<f4").tobytes() + b"\nb " + np.ones(2, "<f4").tobytes() + b"\n"
    p = write(tmp_path / "v.bin", good[:-5])
    with pytest.raises(
        FormatError, match=r"byte \d+: truncated: the header declares 2 rows of 2 floats"
    ):
        load_vectors(p)
    p = write(tmp_path / "t.bin.gz", gzip.compress(good[:-5]))
    with pytest.raises(FormatError, match=r"truncated: expected 2 rows, the file ends in row 2"):
        load_vectors(p)
    p = write(tmp_path / "d.bin", good.replace(b"b ", b"a "))
    with pytest.raises(FormatError, match=r"byte 15: duplicate key 'a' \(first seen at byte 4\)"):
        load_vectors(p)
    p = write(tmp_path / "x.bin", good + b"junk")
    with pytest.raises(FormatError, match="expected the end of the file after 2 rows"):
        load_vectors(p)


def test_fasttext_bin_errors(tmp_path: Path, data_dir: Path) -> None:
    data = (data_dir / "tiny_fasttext.bin").read_bytes()
    with pytest.raises(FormatError, match="truncated: the input matrix needs"):
        load_vectors(write(tmp_path / "t.bin", data[: len(data) // 2]))
    with pytest.raises(FormatError, match="expected fastText format version 11 or 12, found 99"):
        load_vectors(write(tmp_path / "v.bin", data[:4] + (99).to_bytes(4, "little") + data[8:]))


def test_native_errors(tmp_path: Path, small: Vectors) -> None:
    save_vectors(small, tmp_path / "n")
    header = json.loads((tmp_path / "n" / "header.json").read_text())
    header["format_version"] = 7
    (tmp_path / "n" / "header.json").write_text(json.dumps(header))
    with pytest.raises(FormatError, match="expected format_version 1, found 7"):
        load_vectors(tmp_path / "n")
    (tmp_path / "e").mkdir()
    with pytest.raises(FormatError, match="expected a native, projector or Keras folder"):
        load_vectors(tmp_path / "e")


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        load_vectors(tmp_path / "nope.txt")


def test_subword_vectors_answer_queries_about_unknown_words(data_dir: Path) -> None:
    v = load_vectors(data_dir / "tiny_fasttext.bin")
    assert "cafés" not in v
    near = v.most_similar("cafés", topn=3)
    assert len(near) == 3 and all(k in v for k, _ in near)
    assert v.similarity("cafés", "café") == pytest.approx(
        float(np.dot(v.get_vector("cafés", norm=True), v.get_vector("café", norm=True))), abs=1e-6
    )
    plain = Vectors(["a"], [[1.0]])
    with pytest.raises(KeyError):
        plain.most_similar("b")


def test_glove_row_without_floats(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="line 1: expected floats after the key, found none"):
        load_vectors(write(tmp_path / "g.txt", "word \nother 1\n"), format="glove")


def test_values_beyond_float32_become_inf_quietly(tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = load_vectors(write(tmp_path / "a.txt", "1 2\na 1e39 -1e39\n"))
        # a GloVe key with a space sends the block through the line-by-line parser
        slow = load_vectors(write(tmp_path / "g.txt", "b 1 2\na b 1e39 -1e39\n"), format="glove")
    assert fast.vectors.tolist() == [[np.inf, -np.inf]] == slow.vectors[1:].tolist()
    assert slow.index_to_key == ["b", "a b"]


def test_keras_export_of_non_finite_rows_is_quiet(tmp_path: Path) -> None:
    import warnings

    v = Vectors(["a", "b"], [[np.inf, 3e38], [-np.inf, 3e38]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export_keras(v, tmp_path / "k")
    m = np.load(tmp_path / "k" / "embedding_matrix.npy")
    assert np.isnan(m[1, 0]) and m[1, 1] == np.float32(3e38)
