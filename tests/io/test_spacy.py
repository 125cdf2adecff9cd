"""spaCy vectors tables read without spaCy: its string hash, the msgpack map, shared rows."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from embedlab import load_vectors
from embedlab.errors import FormatError
from embedlab.io import detect_format
from embedlab.io.spacy import murmurhash64a


def test_the_hash_is_spacys() -> None:
    # golden values from spacy.strings.hash_string (spaCy 3.8)
    assert murmurhash64a(b"chat") == 704948410345888657
    assert murmurhash64a(b"le") == 13361843836202591494
    assert murmurhash64a("été".encode()) == 416107850921971791
    assert murmurhash64a(b"") == 14313749767032693980
    assert murmurhash64a(b"a longer string of text!") == 16481646787468883066


def _msgpack_map(items: list[tuple[int, int]]) -> bytes:
    def uint(v: int) -> bytes:
        if v < 128:
            return bytes([v])
        if v < 1 << 16:
            return b"\xcd" + struct.pack(">H", v)
        return b"\xcf" + struct.pack(">Q", v)

    return b"\xdf" + struct.pack(">I", len(items)) + b"".join(uint(k) + uint(v) for k, v in items)


def _pipeline(root: Path) -> Path:
    """A package folder as pip installs a spaCy model: pkg/pkg-1.0/vocab/..."""
    vocab = root / "xx_test_md" / "xx_test_md-1.0" / "vocab"
    vocab.mkdir(parents=True)
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4)
    with open(vocab / "vectors", "wb") as f:
        np.save(f, matrix, allow_pickle=False)
    words = ["le", "chat", "chats", "été", "Chat", "unrelated"]
    rows = [("le", 0), ("chat", 1), ("été", 2), ("chats", 1), ("Chat", 1)]  # own word first
    h = {w: murmurhash64a(w.encode()) for w in words}
    (vocab / "key2row").write_bytes(_msgpack_map([(h[w], r) for w, r in rows]))
    (vocab / "strings.json").write_text(json.dumps(words, ensure_ascii=False))
    return root / "xx_test_md"


def test_a_pipeline_package_reads_as_one_word_a_row(tmp_path: Path) -> None:
    package = _pipeline(tmp_path)
    assert detect_format(package) == "spacy"
    v = load_vectors(package)
    assert v.index_to_key == ["le", "chat", "été"] and v.dim == 4
    np.testing.assert_array_equal(v["chat"], [4, 5, 6, 7])
    assert load_vectors(package, limit=2).index_to_key == ["le", "chat"]
    assert load_vectors(package / "xx_test_md-1.0" / "vocab").index_to_key == v.index_to_key


def test_broken_tables_are_format_errors(tmp_path: Path) -> None:
    vocab = _pipeline(tmp_path) / "xx_test_md-1.0" / "vocab"
    (vocab / "key2row").write_bytes(b"\x93\x01\x02\x03")  # a msgpack array, not a map
    with pytest.raises(FormatError, match=r"key2row.*expected a msgpack map"):
        load_vectors(vocab)
    (vocab / "key2row").write_bytes(_msgpack_map([(1, 0)]))
    with pytest.raises(FormatError, match="no row of the vectors table has a word"):
        load_vectors(vocab)
