"""embedlab's native format: a folder that opens in O(1) with mmap.

::

    name/
      header.json          {"format": "embedlab.vectors", "format_version": 1, "dtype": "float32",
                            "shape": [rows, dim], "storage": "safetensors" | "npy", "has_counts": ...}
      vectors.safetensors  tensor "vectors" (and "counts")   -- or vectors.npy (+ counts.npy)
      keys.txt             one key per line, UTF-8; "\\", newline and CR escaped as \\\\, \\n, \\r
      keys.index.npy       int64 [2, rows]: byte offset of each line, and rows sorted by key bytes

Opening maps the matrix and the key file and reads only the headers: keys are decoded on demand and
looked up by binary search over the sorted index, so a million-row file opens in milliseconds. Float16
storage is allowed (half the size); it is widened to float32 in memory on load.

Compressed storage (``dtype="int8"``: 8-bit codes with each dimension's range, 4x smaller;
``"binary"``: sign bits, 32x smaller) writes tensor "codes" (and "ranges") with
``format_version`` 2, so a reader from before compression refuses the folder by its version
instead of misreading it. Loading decodes the codes to float32 rows (bucket centres; binary rows
as +-1/sqrt(dim), unit length). ``extra`` arrays (e.g. the PCA that produced the vectors) ride
along as tensors "extra.NAME" and come back from :func:`read_extras`.

No pickle: .npy files are read with ``allow_pickle=False``. This module does not detect formats.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import mmap
import struct
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt
from safetensors.numpy import save_file

from .._version import __version__
from ..errors import FormatError, ParameterError, check_choice
from ..files import atomic_dir, load_npy
from ..rows import byte_codes, byte_values, sign_codes, sign_values
from ..subword import SubwordVectors
from ..vectors import Vectors

logger = logging.getLogger(__name__)

FORMAT_ID = "embedlab.vectors"
FORMAT_VERSION = 1  # float32 / float16 matrices
CODES_VERSION = 2  # int8 / binary codes: readers of version 1 must refuse them
HEADER = "header.json"
KEYS = "keys.txt"
KEY_INDEX = "keys.index.npy"
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r"}
_DTYPES = {"float32": np.float32, "float16": np.float16}
_CODES = ("int8", "binary")


def escape_key(key: str) -> str:
    r"""``"a\nb" -> "a\\nb"``: keys.txt stays one key per line."""
    if "\\" in key or "\n" in key or "\r" in key:
        return "".join(_ESCAPES.get(ch, ch) for ch in key)
    return key


def unescape_key(text: str) -> str:
    r"""Inverse of :func:`escape_key`: ``"a\\nb" -> "a\nb"``."""
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append({"\\": "\\", "n": "\n", "r": "\r"}.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _LazyKeys(Sequence[str]):
    """``index_to_key`` over the mapped keys.txt; decodes one key per access."""

    def __init__(
        self,
        path: Path,
        blob: Any,
        offsets: npt.NDArray[np.int64],
        size: int,
        order: npt.NDArray[np.int64],
    ) -> None:
        self._path, self._blob, self._offsets, self._size = path, blob, offsets, size
        self.order = order

    def __len__(self) -> int:
        return len(self._offsets)

    def raw(self, i: int) -> bytes:
        start = int(self._offsets[i])
        end = int(self._offsets[i + 1]) - 1 if i + 1 < len(self._offsets) else self._size - 1
        return bytes(self._blob[start:end])

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        try:
            return unescape_key(self.raw(i).decode("utf-8"))
        except UnicodeDecodeError as e:
            raise FormatError(self._path / KEYS, f"key {i} is not valid UTF-8: {e}") from None


class _SortedKeyIndex(Mapping[str, int]):
    """``key_to_index`` by binary search over the rows sorted by escaped key bytes."""

    def __init__(self, keys: _LazyKeys, order: npt.NDArray[np.int64]) -> None:
        self._keys, self._order = keys, order

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __getitem__(self, key: str) -> int:
        if not isinstance(key, str):
            raise KeyError(key)
        target = escape_key(key).encode("utf-8")
        order = self._order
        pos = bisect.bisect_left(
            range(len(order)), target, key=lambda j: self._keys.raw(int(order[j]))
        )
        if pos < len(order) and self._keys.raw(int(order[pos])) == target:
            return int(order[pos])
        raise KeyError(key)


def write_native(
    vectors: Vectors,
    path: Path,
    *,
    storage: str = "safetensors",
    dtype: str = "float32",
    extra: Mapping[str, np.ndarray[Any, Any]] | None = None,
) -> None:
    storage = check_choice("storage", "save_vectors", storage, ("safetensors", "npy"))
    dtype = check_choice("dtype", "save_vectors", dtype, (*_DTYPES, *_CODES))
    coded = dtype in _CODES
    if (coded or extra) and storage != "safetensors":
        raise ParameterError(f"dtype {dtype!r} and extra arrays need storage='safetensors'")
    if coded and isinstance(vectors, SubwordVectors):
        raise ParameterError("subword vectors are stored as float32 or float16, not as codes")
    keys = [escape_key(k) for k in vectors.index_to_key]
    encoded = [k.encode("utf-8") + b"\n" for k in keys]
    offsets = np.zeros(len(encoded), dtype=np.int64)
    if encoded:
        np.cumsum([len(e) for e in encoded[:-1]], out=offsets[1:])
    raw = [e[:-1] for e in encoded]  # sort by key bytes, as lookups compare them
    order = np.array(sorted(range(len(raw)), key=raw.__getitem__), dtype=np.int64)
    matrix = np.ascontiguousarray(vectors.vectors, dtype=_DTYPES.get(dtype, np.float32))
    tensors: dict[str, np.ndarray[Any, Any]] = {"vectors": matrix}
    if dtype == "int8":
        ranges = np.stack([matrix.min(axis=0), matrix.max(axis=0)]) if len(matrix) else None
        ranges = np.zeros((2, matrix.shape[1]), np.float32) if ranges is None else ranges
        tensors = {"codes": byte_codes(matrix, ranges), "ranges": ranges.astype(np.float32)}
    elif dtype == "binary":
        tensors = {"codes": sign_codes(matrix)}
    counts = vectors.counts
    header = {
        "format": FORMAT_ID,
        "format_version": CODES_VERSION if coded else FORMAT_VERSION,
        "dtype": dtype,
        "shape": list(matrix.shape),
        "storage": storage,
        "has_counts": counts is not None,
        "library": f"embedlab {__version__}",
    }
    if extra:
        header["extras"] = sorted(extra)
        tensors.update({f"extra.{k}": np.ascontiguousarray(v) for k, v in extra.items()})
    ngrams = None
    if isinstance(vectors, SubwordVectors):  # keep what out-of-vocabulary lookups need
        ngrams = np.ascontiguousarray(vectors.ngram_vectors, dtype=_DTYPES[dtype])
        header["subword"] = {"minn": vectors.minn, "maxn": vectors.maxn, "bucket": vectors.bucket}
    with atomic_dir(path) as tmp:
        (tmp / KEYS).write_bytes(b"".join(encoded))
        np.save(tmp / KEY_INDEX, np.stack([offsets, order]).reshape(2, -1), allow_pickle=False)
        if storage == "safetensors":
            if counts is not None:
                tensors["counts"] = np.ascontiguousarray(counts, dtype=np.int64)
            if ngrams is not None:
                tensors["ngrams"] = ngrams
            save_file(tensors, str(tmp / "vectors.safetensors"), metadata={"format": FORMAT_ID})
        else:
            np.save(tmp / "vectors.npy", matrix, allow_pickle=False)
            if counts is not None:
                np.save(tmp / "counts.npy", np.asarray(counts, np.int64), allow_pickle=False)
            if ngrams is not None:
                np.save(tmp / "ngrams.npy", ngrams, allow_pickle=False)
        (tmp / HEADER).write_text(json.dumps(header, indent=2) + "\n", encoding="utf-8")


def read_extras(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    """The ``extra`` arrays a native folder was written with (empty when none)."""
    header = _header(path)
    if not header.get("extras"):
        return {}
    tensors = _safetensors_arrays(path / "vectors.safetensors", False)
    return {k[len("extra.") :]: v for k, v in tensors.items() if k.startswith("extra.")}


def _safetensors_arrays(path: Path, mmap_mode: bool) -> dict[str, np.ndarray[Any, Any]]:
    """Map each tensor of a safetensors file without reading its data (8-byte size + JSON header)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise FormatError(path, "truncated: expected an 8-byte header size", offset=0)
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, 1 << 26):
            raise FormatError(
                path, f"expected a header of at most {size - 8} bytes, found {n}", offset=0
            )
        try:
            meta = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise FormatError(path, f"expected a JSON header: {e}", offset=8) from None
    if not isinstance(meta, dict):
        raise FormatError(path, "expected a JSON object header", offset=8)
    kinds = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I8": "i1", "U8": "u1"}
    out: dict[str, np.ndarray[Any, Any]] = {}
    for name, info in meta.items():
        if name == "__metadata__":
            continue
        try:
            dtype = np.dtype(kinds[info["dtype"]])
            shape = tuple(int(s) for s in info["shape"])
            start, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(path, f"bad tensor entry {name!r}: {e}", offset=8) from None
        count = math.prod(shape)  # Python ints: a huge shape cannot wrap around to fit
        if min(shape, default=0) < 0 or end - start != count * dtype.itemsize or 8 + n + end > size:
            raise FormatError(path, f"tensor {name!r} does not fit the file", offset=8 + n + start)
        if count == 0:
            out[name] = np.zeros(shape, dtype=dtype)
        elif mmap_mode:
            out[name] = np.memmap(path, dtype=dtype, mode="r", offset=8 + n + start, shape=shape)
        else:
            with open(path, "rb") as f:
                f.seek(8 + n + start)
                out[name] = np.frombuffer(f.read(end - start), dtype=dtype).reshape(shape)
    return out


def _header(path: Path) -> dict[str, Any]:
    try:
        header = json.loads((path / HEADER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(path, f"expected {HEADER} in the folder") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(path / HEADER, f"expected JSON: {e}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_ID:
        raise FormatError(path / HEADER, f"expected format {FORMAT_ID!r}")
    expected = CODES_VERSION if header.get("dtype") in _CODES else FORMAT_VERSION
    if header.get("format_version") != expected:
        raise FormatError(
            path / HEADER,
            f"expected format_version {expected}, found {header.get('format_version')!r} "
            "(written by a newer embedlab?)",
        )
    return header


def read_native(path: Path, *, limit: int | None, mmap_mode: bool = True) -> Vectors:
    header = _header(path)
    shape = header.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(s, int) for s in shape)):
        raise FormatError(path / HEADER, f"expected shape [rows, dim], found {shape!r}")
    storage = header.get("storage")
    if storage == "safetensors":
        tensors = _safetensors_arrays(path / "vectors.safetensors", mmap_mode)
        if header.get("dtype") in _CODES:
            tensors["vectors"] = _decode(path, header, tensors)
        if "vectors" not in tensors:
            raise FormatError(path / "vectors.safetensors", "expected a tensor named 'vectors'")
        matrix, counts, ngrams = tensors["vectors"], tensors.get("counts"), tensors.get("ngrams")
    elif storage == "npy":
        matrix = load_npy(path / "vectors.npy", mmap=mmap_mode)
        counts = load_npy(path / "counts.npy", mmap=False) if header.get("has_counts") else None
        ngrams = load_npy(path / "ngrams.npy", mmap=mmap_mode) if "subword" in header else None
    else:
        raise FormatError(
            path / HEADER, f"expected storage 'safetensors' or 'npy', found {storage!r}"
        )
    if list(matrix.shape) != shape or matrix.dtype.str not in ("<f4", "<f2"):
        raise FormatError(
            path,
            f"expected a float matrix of shape {shape}, found {matrix.dtype} {list(matrix.shape)}",
        )
    n = shape[0]
    if counts is not None and counts.shape != (n,):
        raise FormatError(path, f"expected {n} counts, found shape {counts.shape}")
    keys = _open_keys(path, n)
    if matrix.dtype != np.float32:
        matrix = np.array(matrix, dtype=np.float32)  # widen float16 into memory (not a memmap)
    index: Mapping[str, int] = _SortedKeyIndex(keys, keys.order)
    index_to_key: Sequence[str] = keys
    if limit is not None and limit < n:
        index_to_key = [keys[i] for i in range(limit)]
        index = {k: i for i, k in enumerate(index_to_key)}
        matrix, counts = matrix[:limit], None if counts is None else counts[:limit]
    if "subword" in header:
        return _subword(path, header["subword"], ngrams, index_to_key, index, matrix, counts)
    return Vectors._from_parts(index_to_key, index, matrix, counts)


def _decode(
    path: Path, header: dict[str, Any], tensors: dict[str, np.ndarray[Any, Any]]
) -> np.ndarray[Any, Any]:
    """Float32 rows from the stored codes (int8: bucket centres; binary: unit +-1 rows)."""
    rows, dim = header["shape"]
    codes, ranges = tensors.get("codes"), tensors.get("ranges")
    where = path / "vectors.safetensors"
    if header["dtype"] == "int8":
        if codes is None or codes.shape != (rows, dim) or codes.dtype != np.int8:
            raise FormatError(where, f"expected int8 codes of shape {[rows, dim]}")
        if ranges is None or ranges.shape != (2, dim):
            raise FormatError(where, f"expected ranges of shape [2, {dim}]")
        return byte_values(codes, ranges)
    if codes is None or codes.shape != (rows, (dim + 7) // 8) or codes.dtype != np.int8:
        raise FormatError(where, f"expected int8 sign codes of shape {[rows, (dim + 7) // 8]}")
    return np.asarray(sign_values(codes, dim) / np.float32(np.sqrt(max(dim, 1))), np.float32)


def _subword(
    path: Path,
    spec: Any,
    ngrams: np.ndarray[Any, Any] | None,
    index_to_key: Sequence[str],
    index: Mapping[str, int],
    matrix: np.ndarray[Any, Any],
    counts: np.ndarray[Any, Any] | None,
) -> SubwordVectors:
    ok = isinstance(spec, dict) and all(
        isinstance(spec.get(k), int) for k in ("minn", "maxn", "bucket")
    )
    if (
        not ok
        or ngrams is None
        or ngrams.ndim != 2
        or ngrams.shape != (spec["bucket"], matrix.shape[1])
    ):
        raise FormatError(path, f"expected an n-gram matrix matching {spec!r}")
    if ngrams.dtype != np.float32:
        ngrams = np.array(ngrams, dtype=np.float32)
    return SubwordVectors.from_ngram_matrix(
        index_to_key, index, matrix, ngrams, minn=spec["minn"], maxn=spec["maxn"], counts=counts
    )


def _open_keys(path: Path, n: int) -> _LazyKeys:
    key_path = path / KEYS
    size = key_path.stat().st_size if key_path.exists() else -1
    if size < 0:
        raise FormatError(path, f"expected {KEYS} in the folder")
    index = load_npy(path / KEY_INDEX)
    if index.shape != (2, n) or index.dtype != np.int64:
        raise FormatError(
            path / KEY_INDEX, f"expected int64 [2, {n}], found {index.dtype} {index.shape}"
        )
    offsets, order = index[0], index[1]
    if n and (
        offsets[0] != 0
        or np.any(np.diff(offsets) < 1)
        or offsets[-1] >= size
        or order.min() < 0
        or order.max() >= n
    ):
        raise FormatError(path / KEY_INDEX, "offsets or sort order do not match keys.txt")
    if n == 0:
        blob: Any = b""
    else:
        with open(key_path, "rb") as fh:
            blob = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        if blob[size - 1 : size] != b"\n":
            raise FormatError(key_path, "expected the file to end with a newline", offset=size - 1)
        _check_key_index(path, np.frombuffer(blob, dtype=np.uint8), offsets, order)
    keys = _LazyKeys(path, blob, offsets, size, order)
    _check_sorted(path, keys, order)
    return keys


def _check_key_index(
    path: Path, raw: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], order: Any
) -> None:
    """The index must describe keys.txt exactly: a line starts at each offset, and the sort
    order is a permutation (vectorized: milliseconds for a million keys)."""
    ends = np.flatnonzero(raw == 10)
    if len(ends) != len(offsets) or not np.array_equal(ends[:-1] + 1, offsets[1:]):
        raise FormatError(
            path / KEY_INDEX, f"expected {len(offsets)} line offsets matching {KEYS}, found others"
        )
    if np.bincount(np.asarray(order), minlength=len(order)).max(initial=1) != 1:
        raise FormatError(path / KEY_INDEX, "expected the sort order to be a permutation")


def _check_sorted(path: Path, keys: _LazyKeys, order: Any, *, full: int = 50_000) -> None:
    """Lookups binary-search the sort order: a wrong one would miss keys that are there. Small
    files are checked whole, larger ones at 512 evenly spread places (opening stays O(1))."""
    n = len(order)
    places = range(n - 1) if n <= full else np.linspace(0, n - 2, 512).astype(np.int64)
    for i in places:
        if keys.raw(int(order[i])) >= keys.raw(int(order[i + 1])):
            raise FormatError(
                path / KEY_INDEX,
                f"the sort order is wrong (or a key repeats) at position {int(i)}",
            )
