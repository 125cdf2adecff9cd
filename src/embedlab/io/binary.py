"""word2vec binary: a ``ROWS DIM`` text header, then per row ``key<space>`` + DIM little-endian
float32 values (+ an optional newline), as written by the word2vec C tool.

Rows are parsed from large buffered chunks (keys found with ``bytes.find``, floats copied as raw
bytes), so no per-float Python work happens. This module does not detect formats or handle
compression.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .._progress import progress
from ..errors import FormatError
from ..files import MAX_EXPANSION, atomic_file, compression_of, open_read
from ..vectors import Vectors
from ._keys import KeyDecoder, check_plain_keys
from .text import parse_header

logger = logging.getLogger(__name__)

_CHUNK = 1 << 22
_MAX_KEY = 1 << 16  # bytes a key may take before we call the file malformed


def read_binary(
    path: Path,
    *,
    limit: int | None,
    encoding: str,
    encoding_errors: str,
    show_progress: bool | None,
) -> Vectors:
    decoder = KeyDecoder(path, encoding, encoding_errors)
    decoder.by_offset = True
    with open_read(path) as f:
        first = f.readline(256)
        declared = parse_header(first)
        if declared is None:
            raise FormatError(path, f"expected a header 'ROWS DIM', found {first[:60]!r}", line=1)
        n_rows, dim = declared
        if dim == 0 and n_rows > 0:
            raise FormatError(path, "the header declares 0 dimensions", line=1)
        want = n_rows if limit is None else min(limit, n_rows)
        row_bytes = 4 * dim
        room = path.stat().st_size - len(first)
        if compression_of(path) is not None:
            room = MAX_EXPANSION * path.stat().st_size  # the most it can decompress to
        if want * (row_bytes + 2) > room:
            raise FormatError(
                path,
                f"truncated: the header declares {n_rows} rows of {dim} floats "
                f"(at least {want * (row_bytes + 2)} bytes), the file holds {room} after it",
                offset=len(first),
            )
        # the matrix bytes: preallocated when the file size vouches for the header, else grown
        sized = compression_of(path) is None
        out = bytearray(want * row_bytes if sized else 0)
        buf = b""
        view = memoryview(buf)
        pos = 0  # position in buf
        base = len(first)  # file offset of buf[0]
        eof = False
        with progress(
            total=want, desc=f"reading {path.name}", unit="rows", enabled=show_progress
        ) as bar:
            for i in range(want):
                while True:
                    sp = buf.find(b" ", pos, pos + _MAX_KEY)
                    if sp >= 0 and sp + 1 + row_bytes <= len(buf):
                        break
                    if eof:
                        raise FormatError(
                            path,
                            f"truncated: expected {want} rows, the file ends in row {i + 1}",
                            offset=base + len(buf),
                        )
                    if sp < 0 and len(buf) - pos >= _MAX_KEY:
                        raise FormatError(
                            path,
                            f"expected a key ending in a space, found {buf[pos : pos + 40]!r}",
                            offset=base + pos,
                        )
                    # a row longer than a chunk is read at once (growing the buffer a chunk at
                    # a time would copy it over and over: quadratic in the row's size)
                    need = sp + 1 + row_bytes - len(buf) if sp >= 0 else 0
                    more = f.read(max(_CHUNK, need))
                    eof = not more
                    base += pos
                    buf = buf[pos:] + more
                    view = memoryview(buf)
                    pos = 0
                start = pos
                while buf[start : start + 1] == b"\n":  # the C tool ends each row with a newline
                    start += 1
                decoder.add(buf[start:sp], base + start)
                if sized:
                    out[i * row_bytes : (i + 1) * row_bytes] = view[sp + 1 : sp + 1 + row_bytes]
                else:
                    out += view[sp + 1 : sp + 1 + row_bytes]
                pos = sp + 1 + row_bytes
                if i % 65536 == 65535:
                    bar.update(65536)
            bar.update(want % 65536)
        if limit is None:
            tail = buf[pos:] + f.read(_CHUNK)
            if tail.strip(b"\n"):
                raise FormatError(
                    path,
                    f"expected the end of the file after {n_rows} rows, found more data",
                    offset=base + pos,
                )
    matrix = np.frombuffer(out, dtype="<f4").reshape(want, dim).astype(np.float32, copy=False)
    return Vectors._from_parts(decoder.keys, decoder.index, matrix)


def write_binary(vectors: Vectors, path: Path, *, show_progress: bool | None = None) -> None:
    keys = vectors.index_to_key
    check_plain_keys(keys, "word2vec binary")
    n, dim = vectors.vectors.shape
    block = 4096
    with (
        atomic_file(path) as f,
        progress(total=n, desc=f"writing {path.name}", unit="rows", enabled=show_progress) as bar,
    ):
        f.write(f"{n} {dim}\n".encode())
        for start in range(0, n, block):
            chunk = np.ascontiguousarray(vectors.vectors[start : start + block], dtype="<f4")
            parts = []
            for key, row in zip(keys[start : start + block], chunk):
                parts.append(key.encode("utf-8") + b" " + row.tobytes() + b"\n")
            f.write(b"".join(parts))
            bar.update(len(chunk))
