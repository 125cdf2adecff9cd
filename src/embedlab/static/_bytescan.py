"""Whitespace tokens of raw UTF-8 lines, numbered by a compiled hash table.

A corpus of pre-tokenized lines (``Corpus(tokenizer=str.split)``, what word2vec C, fastText and
gensim's ``corpus_file`` read) cost its scan in Python: decoding each line, ``str.split`` and a dict
lookup per token, about 2.4 s of a one-epoch skip-gram's 11 s on 10.6M tokens. :class:`ByteVocab`
does the same in one compiled pass over the bytes (:func:`_scan`): a token's FNV-1a hash while it
is read, an open-addressing table of word ids (linear probing, at most half full), the words' bytes
kept once in an arena. New words get the next id, in order of first appearance, exactly as the
Python scan numbers them, so everything after the scan is unchanged.

The tokens are ``str.split``'s exactly: whitespace is the ASCII set Python uses (``\\t \\n \\x0b
\\x0c \\r \\x1c-\\x1f`` and space) and the 19 other Unicode spaces, matched as their UTF-8 bytes;
a line ends at ``\\n`` only, as a binary file's lines do; lines without tokens are skipped. The
bytes must be valid UTF-8 (``Corpus.line_blocks`` checks), so every token is whole characters.

This module does not read files (``text.corpus``) or keep counts and work items (``_encode``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

_OFFSET = np.uint64(14695981039346656037)  # FNV-1a 64
_PRIME = np.uint64(1099511628211)
_EMPTY = np.int32(-1)
# what a byte may be: 0 part of a token, 1 an ASCII space (not newline), 2 the first byte of a
# multi-byte space, 3 the newline
_KIND = np.zeros(256, dtype=np.uint8)
_KIND[[0x09, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]] = 1
_KIND[[0xC2, 0xE1, 0xE2, 0xE3]] = 2
_KIND[0x0A] = 3


@njit(cache=True, inline="always")
def _space(buf: np.ndarray, i: int, n: int) -> int:  # pragma: no cover - compiled
    """Length in bytes of the multi-byte space at ``buf[i]`` (a byte of _KIND 2), 0 if it is none."""
    b = buf[i]
    if b == 0xC2:  # U+0085, U+00A0
        return 2 if i + 1 < n and (buf[i + 1] == 0x85 or buf[i + 1] == 0xA0) else 0
    if b < 0xE1 or b > 0xE3 or i + 2 >= n:
        return 0
    c = buf[i + 1]
    d = buf[i + 2]
    if b == 0xE1:  # U+1680
        return 3 if c == 0x9A and d == 0x80 else 0
    if b == 0xE3:  # U+3000
        return 3 if c == 0x80 and d == 0x80 else 0
    if c == 0x80:  # U+2000-U+200A, U+2028, U+2029, U+202F
        return 3 if (0x80 <= d <= 0x8A or d == 0xA8 or d == 0xA9 or d == 0xAF) else 0
    return 3 if c == 0x81 and d == 0x9F else 0  # U+205F


@njit(cache=True)
def _scan(
    buf: np.ndarray,  # uint8, whole lines
    pos: int,  # where to start (0, or where a call that ran out of room stopped)
    line_tokens: int,  # tokens of the current line read before pos
    n_ids: int,
    n_lines: int,
    ids: np.ndarray,  # int32 out: the block's token ids
    lines: np.ndarray,  # int64 out: tokens per non-empty line
    table: np.ndarray,  # int32 [2^k] word ids, -1 = empty
    tags: np.ndarray,  # uint64 [2^k] the hash of the word in each slot
    hashes: np.ndarray,  # uint64 per word
    starts: np.ndarray,  # int64 per word: its bytes in arena
    lengths: np.ndarray,  # int32 per word
    arena: np.ndarray,  # uint8
    n_words: int,
    used: int,  # bytes of arena in use
) -> tuple[int, int, int, int, int, int, bool]:  # pragma: no cover - compiled
    """Tokenize and number ``buf[pos:]``; return ``(pos, line_tokens, n_ids, n_lines, n_words,
    used, done)``. ``done`` is False when a new word found no room (table half full, word
    arrays or arena full): the caller grows them and calls again from the returned state."""
    n = buf.shape[0]
    mask = np.uint64(table.shape[0] - 1)
    room = min(table.shape[0] // 2, hashes.shape[0])
    i = pos
    while i < n:
        if buf[i] == 0x0A:  # a line's end (_KIND 3)
            if line_tokens:
                lines[n_lines] = line_tokens
                n_lines += 1
                line_tokens = 0
            i += 1
            continue
        c = _KIND[buf[i]]
        if c == 1:
            i += 1
            continue
        if c == 2:
            k = _space(buf, i, n)
            if k:
                i += k
                continue
        start = i
        h = _OFFSET
        while i < n:
            b = buf[i]
            c = _KIND[b]
            if c & 1 or (c == 2 and _space(buf, i, n)):  # a space or the newline
                break
            h = (h ^ np.uint64(b)) * _PRIME
            i += 1
        size = i - start
        slot = (h ^ (h >> np.uint64(29))) & mask
        while True:
            w = table[slot]
            if w == _EMPTY:
                break
            if tags[slot] == h and lengths[w] == size:
                at = starts[w]
                same = True
                for j in range(size):
                    if arena[at + j] != buf[start + j]:
                        same = False
                        break
                if same:
                    break
            slot = (slot + np.uint64(1)) & mask
        if w == _EMPTY:  # a new word
            if n_words >= room or used + size > arena.shape[0]:
                return start, line_tokens, n_ids, n_lines, n_words, used, False
            w = np.int32(n_words)
            table[slot] = w
            tags[slot] = h
            hashes[w] = h
            starts[w] = used
            lengths[w] = size
            arena[used : used + size] = buf[start:i]
            used += size
            n_words += 1
        ids[n_ids] = w
        n_ids += 1
        line_tokens += 1
    if line_tokens:  # a block that does not end with a newline ends its line anyway
        lines[n_lines] = line_tokens
        n_lines += 1
        line_tokens = 0
    return i, line_tokens, n_ids, n_lines, n_words, used, True


@njit(cache=True)
def _rehash(
    table: np.ndarray, tags: np.ndarray, hashes: np.ndarray, n_words: int
) -> None:  # pragma: no cover - compiled
    mask = np.uint64(table.shape[0] - 1)
    for w in range(n_words):
        h = hashes[w]
        slot = (h ^ (h >> np.uint64(29))) & mask
        while table[slot] != _EMPTY:
            slot = (slot + np.uint64(1)) & mask
        table[slot] = w
        tags[slot] = h


def compiles() -> bool:
    """True when this process's first scan will compile the scanner (not in numba's cache)."""
    from ..fitting.jit import compiling

    return compiling(_scan)


class ByteVocab:
    """The words seen so far (``words``, ids in order of first appearance) and the compiled table
    that numbers the tokens of further blocks."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        self.words: list[str] = []
        self._table = np.full(2 * capacity, _EMPTY, dtype=np.int32)
        self._tags = np.zeros(2 * capacity, dtype=np.uint64)
        self._hashes = np.zeros(capacity, dtype=np.uint64)
        self._starts = np.zeros(capacity, dtype=np.int64)
        self._lengths = np.zeros(capacity, dtype=np.int32)
        self._arena = np.zeros(8 * capacity, dtype=np.uint8)
        self._used = 0

    def scan(self, block: bytes) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """The token ids of ``block`` (whole lines of valid UTF-8) and the number of tokens of each
        of its lines that has any."""
        buf = np.frombuffer(block, dtype=np.uint8)
        most = len(block) // 2 + 1  # a token and its separator take two bytes at least
        ids = np.empty(most, dtype=np.int32)
        lines = np.empty(most, dtype=np.int64)
        before = n_words = len(self.words)
        pos = line_tokens = n_ids = n_lines = 0
        while True:
            pos, line_tokens, n_ids, n_lines, n_words, self._used, done = _scan(
                buf, pos, line_tokens, n_ids, n_lines, ids, lines, self._table, self._tags, self._hashes,
                self._starts, self._lengths, self._arena, n_words, self._used,
            )  # fmt: skip
            if done:
                break
            self._grow(n_words, len(block))
        arena = self._arena
        self.words.extend(
            arena[s : s + n].tobytes().decode("utf-8")
            for s, n in zip(
                self._starts[before:n_words].tolist(), self._lengths[before:n_words].tolist()
            )
        )
        return ids[:n_ids], lines[:n_lines]

    def _grow(self, n_words: int, block: int) -> None:
        """Twice the room for words and the table (rehashed) when they are full; room for a whole
        block's bytes more in the arena."""
        if n_words >= self._hashes.shape[0]:
            size = 2 * self._hashes.shape[0]
            for name in ("_hashes", "_starts", "_lengths"):
                old = getattr(self, name)
                new = np.zeros(size, dtype=old.dtype)
                new[: old.shape[0]] = old
                setattr(self, name, new)
            self._table = np.full(2 * size, _EMPTY, dtype=np.int32)
            self._tags = np.zeros(2 * size, dtype=np.uint64)
            _rehash(self._table, self._tags, self._hashes, n_words)
        if self._used + block > self._arena.shape[0]:
            arena = np.zeros(max(2 * self._arena.shape[0], self._used + block), dtype=np.uint8)
            arena[: self._used] = self._arena[: self._used]
            self._arena = arena
