"""fastText ``.bin`` models (format versions 11 and 12): the words and the n-gram buckets.

Layout read here (fastText ``FastText::loadModel``): magic 793712314 and version (int32); the Args
block (12 int32 + a double); the Dictionary (size, nwords, nlabels as int32, ntokens and
pruneidx_size as int64, then per entry a NUL-terminated word, an int64 count and an int8 type, then
the prune index); a quantization flag byte; the input matrix (int64 rows, int64 cols, float32 data).
The output matrix that follows is not needed for word vectors and is not read. Uncompressed files
are memory-mapped so the n-gram matrix stays on disk.

Quantized models (``.ftz``) are refused with a clear error. Writing ``.bin`` is not supported:
save to the native format, which keeps the n-gram matrix.
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress
from ..errors import FormatError
from ..files import compression_of, open_read
from ..subword import SubwordVectors
from ._keys import KeyDecoder

logger = logging.getLogger(__name__)

MAGIC = 793712314
_ARGS = struct.Struct("<12id")
_DICT = struct.Struct("<iiiqq")
_MODEL_SUPERVISED = 3


class _Reader:
    def __init__(self, path: Path, data: Any) -> None:
        self.path, self.data, self.pos = path, data, 0

    def unpack(self, fmt: struct.Struct, what: str) -> tuple[Any, ...]:
        if self.pos + fmt.size > len(self.data):
            raise FormatError(
                self.path,
                f"truncated: expected {what} ({fmt.size} bytes), found the end of file",
                offset=self.pos,
            )
        out = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return out

    def cstring(self) -> bytes:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise FormatError(
                self.path, "truncated: expected a NUL-terminated word", offset=self.pos
            )
        raw = bytes(self.data[self.pos : end])
        self.pos = end + 1
        return raw


def _bad(path: Path, what: str, value: object, offset: int) -> FormatError:
    return FormatError(path, f"expected {what}, found {value!r}", offset=offset)


@dataclass
class FastTextModel:
    """Everything continued training needs from a fastText ``.bin``: the vectors (with the
    n-gram rows), the output matrix and the training arguments fastText stored."""

    vectors: SubwordVectors
    input_matrix: np.ndarray[Any, Any]
    output_matrix: np.ndarray[Any, Any]
    args: dict[str, Any]


def read_fasttext_bin(
    path: Path,
    *,
    limit: int | None,
    encoding: str,
    encoding_errors: str,
    mmap_mode: bool,
    show_progress: bool | None = None,
) -> SubwordVectors:
    return _read(path, limit, encoding, encoding_errors, mmap_mode, show_progress, False).vectors


def read_fasttext_model(path: str | os.PathLike[str]) -> FastTextModel:
    """Read a fastText ``.bin`` with its output matrix, for continued training (no mmap)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No such file or folder: '{p}'")
    try:
        return _read(p, None, "utf-8", "strict", False, None, True)
    except FormatError:
        raise
    except Exception as e:  # arbitrary bytes must still surface as a format error
        raise FormatError(p, f"could not be read as a fastText model: {e}") from e


def _read(
    path: Path,
    limit: int | None,
    encoding: str,
    encoding_errors: str,
    mmap_mode: bool,
    show_progress: bool | None,
    with_output: bool,
) -> FastTextModel:
    if compression_of(path) is None and path.stat().st_size > 0:
        with open(path, "rb") as fh:
            data: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    else:
        with open_read(path) as f:
            data = f.read()
    r = _Reader(path, data)
    magic, version = r.unpack(struct.Struct("<ii"), "the fastText magic and version")
    if magic != MAGIC:
        raise _bad(path, f"the fastText magic number {MAGIC}", magic, 0)
    if version not in (11, 12):
        raise _bad(path, "fastText format version 11 or 12", version, 4)
    args = r.unpack(_ARGS, "the model arguments")
    names = (
        "dim",
        "ws",
        "epoch",
        "min_count",
        "neg",
        "word_ngrams",
        "loss",
        "model",
        "bucket",
        "minn",
        "maxn",
        "lr_update_rate",
        "t",
    )
    arg_dict = dict(zip(names, args))
    dim, model, bucket, minn, maxn = args[0], args[7], args[8], args[9], args[10]
    if version == 11 and model == _MODEL_SUPERVISED:
        maxn = 0
    if not (0 < dim <= 1 << 16) or bucket < 0 or minn < 0 or maxn < 0 or maxn > 64:
        raise _bad(path, "sane arguments (dim, bucket, minn, maxn)", (dim, bucket, minn, maxn), 8)
    at = r.pos
    size, nwords, nlabels, _ntokens, prune_size = r.unpack(_DICT, "the dictionary header")
    if not (0 <= nwords <= size and nlabels >= 0 and nwords + nlabels == size):
        raise _bad(
            path, "dictionary counts with size = nwords + nlabels", (size, nwords, nlabels), at
        )
    decoder = KeyDecoder(path, encoding, encoding_errors)
    decoder.by_offset = True
    entry = struct.Struct("<qb")
    counts: list[int] = []
    with progress(
        total=size, desc=f"reading {path.name}", unit="words", enabled=show_progress
    ) as bar:
        for i in range(size):
            start = r.pos
            raw = r.cstring()
            count, kind = r.unpack(entry, "a dictionary entry's count and type")
            if i < nwords:
                if kind != 0:
                    raise _bad(path, "a word entry (type 0) among the first nwords", kind, start)
                decoder.add(raw, start)
                counts.append(count)
            if i % 65536 == 65535:
                bar.update(65536)
    if prune_size > 0:
        raise FormatError(
            path,
            "pruned (quantized) fastText models are not supported; use the unquantized .bin",
            offset=r.pos,
        )
    (quant,) = r.unpack(struct.Struct("<?"), "the quantization flag")
    if quant:
        raise FormatError(
            path,
            "quantized fastText models (.ftz) are not supported; use the unquantized .bin",
            offset=r.pos - 1,
        )
    at = r.pos
    rows, cols = r.unpack(struct.Struct("<qq"), "the input matrix shape")
    if cols != dim or rows < nwords or rows - nwords < bucket * (maxn > 0):
        raise _bad(path, f"an input matrix of {nwords}+{bucket} rows x {dim}", (rows, cols), at)
    n_bytes = rows * cols * 4
    if r.pos + n_bytes > len(data):
        raise FormatError(
            path,
            f"truncated: the input matrix needs {n_bytes} bytes, {len(data) - r.pos} remain",
            offset=r.pos,
        )
    if isinstance(data, mmap.mmap) and mmap_mode:
        matrix = np.ndarray((rows, cols), dtype="<f4", buffer=data, offset=r.pos)
    else:
        matrix = np.frombuffer(data, dtype="<f4", count=rows * cols, offset=r.pos)
        matrix = matrix.reshape(rows, cols).copy()
    output = np.zeros((0, cols), dtype=np.float32)
    if with_output:
        r.pos += n_bytes
        (qout,) = r.unpack(struct.Struct("<?"), "the output quantization flag")
        if qout:
            raise FormatError(path, "quantized output matrices are not supported", offset=r.pos - 1)
        at = r.pos
        out_rows, out_cols = r.unpack(struct.Struct("<qq"), "the output matrix shape")
        if out_cols != dim or out_rows != nwords:
            raise _bad(path, f"an output matrix of {nwords} rows x {dim}", (out_rows, out_cols), at)
        if r.pos + out_rows * out_cols * 4 > len(data):
            raise FormatError(path, "truncated: the output matrix is cut short", offset=r.pos)
        output = np.frombuffer(data, dtype="<f4", count=out_rows * out_cols, offset=r.pos)
        output = output.reshape(out_rows, out_cols).astype(np.float32)
    keys, key_index = decoder.keys, decoder.index
    if limit is not None and limit < nwords:
        # expose the first `limit` words; every n-gram row stays, so later words are OOV words
        keys, counts = keys[:limit], counts[:limit]
        key_index = {k: i for i, k in enumerate(keys)}
    vectors = SubwordVectors.from_input_matrix(
        keys,
        matrix,
        minn=minn,
        maxn=maxn,
        bucket=bucket,
        nwords=nwords,
        counts=counts,
        key_to_index=key_index,
    )
    return FastTextModel(vectors, matrix, output, arg_dict)
