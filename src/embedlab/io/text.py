"""word2vec text, fastText ``.vec`` and GloVe text: one ``key v1 v2 ... vd`` line per row.

word2vec text and ``.vec`` start with a ``ROWS DIM`` header; GloVe has none and the dimension is
inferred from the first row. Keys are bytes up to the first space; the floats of a block of rows are
parsed by numpy in one call and only a block that fails is re-read line by line to name the bad line.
GloVe keys that hold spaces (``". . ."`` in glove.840B) are recovered by counting from the right.

This module does not detect formats (``registry``) and does not handle compression (``_files``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import FormatError
from ..files import atomic_file, compression_of, open_read
from ..vectors import Vectors
from ._keys import KeyDecoder, check_plain_keys

logger = logging.getLogger(__name__)

_BLOCK = 8192  # rows parsed per numpy call
MAX_LINE = 1 << 26  # bytes in one row: 64 MiB, a million floats at full precision


def parse_header(line: bytes) -> tuple[int, int] | None:
    """``b"3000 300\\n" -> (3000, 300)``; None when the line is not a two-integer header."""
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def _floats(path: Path, text: bytes, dim: int, line: int) -> npt.NDArray[np.float32]:
    """Parse one row's floats, naming the line and the offending token on failure."""
    tokens = text.split()
    if len(tokens) != dim:
        raise FormatError(
            path, f"expected {dim} floats after the key, found {len(tokens)}", line=line
        )
    out = np.empty(dim, dtype=np.float32)
    with np.errstate(over="ignore"):  # beyond float32 range becomes inf, as in numpy's parser
        for j, tok in enumerate(tokens):
            try:
                out[j] = float(tok)
            except ValueError:
                raise FormatError(
                    path, f"expected a float in column {j + 2}, found {tok[:40]!r}", line=line
                ) from None
    return out


def _parse_block(
    path: Path, keys: list[bytes], rests: list[bytes], dim: int, first_line: int, glove: bool
) -> npt.NDArray[np.float32]:
    """Floats of a block of rows; ``keys`` may be fixed in place for GloVe keys with spaces."""
    values: npt.NDArray[np.float32] | None = None
    try:
        values = np.fromstring(b" ".join(rests), dtype=np.float32, sep=" ")
    except (ValueError, DeprecationWarning):
        values = None
    if values is not None and values.size == dim * len(rests):
        return values.reshape(len(rests), dim)
    out = np.empty((len(rests), dim), dtype=np.float32)
    for i, rest in enumerate(rests):
        line = first_line + i
        if (
            glove and len(rest.split()) > dim
        ):  # a key holding spaces: the last `dim` fields are floats
            whole = keys[i] + b" " + rest
            head, *tail = whole.rsplit(None, dim)
            keys[i], rest = head, b" ".join(tail)
        out[i] = _floats(path, rest, dim, line)
    return out


def read_text(
    path: Path,
    *,
    header: bool,
    limit: int | None,
    encoding: str,
    encoding_errors: str,
    show_progress: bool | None,
) -> Vectors:
    """Read word2vec text (``header=True``) or GloVe (``header=False``)."""
    decoder = KeyDecoder(path, encoding, encoding_errors)
    blocks: list[npt.NDArray[np.float32]] = []
    total = path.stat().st_size if compression_of(path) is None else None
    with (
        open_read(path) as f,
        progress(total=total, desc=f"reading {path.name}", unit="B", enabled=show_progress) as bar,
    ):
        first = f.readline(MAX_LINE + 1)
        if len(first) > MAX_LINE:
            raise FormatError(path, f"expected rows of at most {MAX_LINE} bytes", line=1)
        declared = parse_header(first) if header else None
        if header and declared is None:
            raise FormatError(path, f"expected a header 'ROWS DIM', found {first[:60]!r}", line=1)
        if declared is not None and declared[1] > MAX_LINE // 2:
            raise FormatError(
                path,
                f"the header declares {declared[1]} dimensions; a row of that many floats would "
                f"be over {MAX_LINE} bytes",
                line=1,
            )
        lines = _data_lines(path, f, first if declared is None else None, bar)
        if declared is not None:
            n_rows, dim = declared
            start_line = 2
        else:
            n_rows, dim, start_line = -1, 0, 1
        for line_no, keys, rests in _blocks(path, lines, start_line):
            if dim == 0:  # GloVe: the first row tells the dimension
                dim = len(rests[0].split())
                if dim == 0:
                    raise FormatError(path, "expected floats after the key, found none", line=1)
            if limit is not None:
                room = limit - len(decoder.keys)
                keys, rests = keys[:room], rests[:room]
            if n_rows >= 0 and len(decoder.keys) + len(keys) > n_rows:
                extra = line_no + (n_rows - len(decoder.keys))
                raise FormatError(
                    path, f"the header declares {n_rows} rows, found more", line=extra
                )
            block = _parse_block(path, keys, rests, dim, line_no, glove=not header)
            for i, raw in enumerate(keys):
                decoder.add(raw, line_no + i)
            blocks.append(block)
            if limit is not None and len(decoder.keys) >= limit:
                break
    expected = n_rows if limit is None else min(limit, n_rows)
    if n_rows >= 0 and len(decoder.keys) < expected:
        raise FormatError(
            path,
            f"the header declares {n_rows} rows, found {len(decoder.keys)}",
            line=len(decoder.keys) + 2,
        )
    matrix = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float32)
    return Vectors._from_parts(decoder.keys, decoder.index, matrix)


def _data_lines(path: Path, f: IO[bytes], first: bytes | None, bar: Any) -> Iterator[bytes]:
    """Data lines without their line ends; blank lines are allowed only at the end of the file."""
    blank_at = 0
    line_no = 0 if first is not None else 1
    source: Iterator[bytes] = iter(lambda: f.readline(MAX_LINE + 1), b"")
    if first is not None:
        source = _chain_first(first, source)
    read = 0
    for raw in source:
        line_no += 1
        if len(raw) > MAX_LINE:
            raise FormatError(path, f"expected rows of at most {MAX_LINE} bytes", line=line_no)
        read += len(raw)
        if read > 1 << 22:
            bar.update(read)
            read = 0
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            blank_at = blank_at or line_no
            continue
        if blank_at:
            raise FormatError(path, "expected a row, found an empty line", line=blank_at)
        yield line
    bar.update(read)


def _chain_first(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _blocks(
    path: Path, lines: Iterator[bytes], start_line: int
) -> Iterator[tuple[int, list[bytes], list[bytes]]]:
    """Group lines into blocks of (first line number, keys, float texts)."""
    keys: list[bytes] = []
    rests: list[bytes] = []
    line_no = start_line
    for line in lines:
        if b"\t" in line:
            line = line.replace(b"\t", b" ")
        key, sep, rest = line.partition(b" ")
        if not sep or not key:
            where = line_no + len(keys)
            raise FormatError(path, f"expected 'KEY FLOAT ...', found {line[:60]!r}", line=where)
        keys.append(key)
        rests.append(rest)
        if len(keys) == _BLOCK:
            yield line_no, keys, rests
            line_no += len(keys)
            keys, rests = [], []
    if keys:
        yield line_no, keys, rests


def format_rows(
    matrix: npt.NDArray[np.float32], precision: int | None, sep: str = " "
) -> list[str]:
    """Rows as joined floats; ``precision=None`` writes 9 significant digits (exact for float32):
    ``[[0.5, 1e-45]] -> ["0.5 1.40129846e-45"]``."""
    one = "%.9g" if precision is None else f"%.{precision}g"
    fmt = sep.join([one] * matrix.shape[1])  # one C-level formatting call per row
    return [fmt % tuple(row) for row in matrix.tolist()]


def write_text(
    vectors: Vectors,
    path: Path,
    *,
    header: bool,
    precision: int | None = None,
    show_progress: bool | None = None,
) -> None:
    """Write word2vec text (``header=True``; also fastText ``.vec``) or GloVe (``header=False``)."""
    keys = vectors.index_to_key
    check_plain_keys(keys, "word2vec text" if header else "GloVe")
    n, dim = vectors.vectors.shape
    with (
        atomic_file(path) as f,
        progress(total=n, desc=f"writing {path.name}", unit="rows", enabled=show_progress) as bar,
    ):
        if header:
            f.write(f"{n} {dim}\n".encode())
        for start in range(0, n, _BLOCK):
            rows = format_rows(vectors.vectors[start : start + _BLOCK], precision)
            chunk = "".join(f"{k} {r}\n" for k, r in zip(keys[start : start + _BLOCK], rows))
            f.write(chunk.encode("utf-8"))
            bar.update(len(rows))
