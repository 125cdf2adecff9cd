"""File plumbing shared by the readers and writers: transparent compression and atomic writes.

``open_read`` opens plain, ``.gz`` and ``.bz2`` files as binary streams; ``atomic_file`` and
``atomic_dir`` write to a temporary sibling and rename it into place, so a crash or an error never
leaves a half-written file under the target name. This module knows nothing of vector formats.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

COMPRESSED_SUFFIXES = (".gz", ".bz2")


def compression_of(path: Path) -> str | None:
    """``Path("a.vec.gz") -> "gz"``; None for plain files."""
    suffix = path.suffix.lower()
    return suffix[1:] if suffix in COMPRESSED_SUFFIXES else None


def inner_suffix(path: Path) -> str:
    """Suffix once compression is stripped: ``"a.vec.gz" -> ".vec"``."""
    return (path.with_suffix("") if compression_of(path) else path).suffix.lower()


def open_read(path: Path) -> IO[bytes]:
    """A binary stream over ``path``, decompressing ``.gz``/``.bz2`` on the fly."""
    kind = compression_of(path)
    if kind == "gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.open(path, "rb")
    return open(path, "rb", buffering=1 << 20)


def read_json(path: Path) -> Any:
    """A small JSON file (a config, a header); malformed JSON is a FormatError with its line."""
    from ..errors import FormatError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise FormatError(path, f"not valid UTF-8 ({e.reason})") from e
    except json.JSONDecodeError as e:
        raise FormatError(path, f"not valid JSON: {e.msg}", line=e.lineno) from e


def load_npy(path: Path, *, mmap: bool = True) -> np.ndarray[Any, Any]:
    """A ``.npy`` array, never unpickled; mapped read-only (``mmap``) or copied into memory.

    Mapping first also means a header that claims more data than the file holds fails cleanly
    instead of allocating it.
    """
    from ..errors import FormatError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. numpy's notice about Python 2 style headers
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise FormatError(path, f"expected a .npy array: {e}") from None
    return arr if mmap else np.array(arr)


def _compressing(raw: IO[bytes], kind: str | None) -> IO[bytes]:
    if kind == "gz":
        return gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6)  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.BZ2File(raw, mode="wb")
    return raw


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """Write ``path`` atomically (temp file in the same folder, fsync, rename); compress by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as raw:
            stream = _compressing(raw, compression_of(path))
            yield stream
            if stream is not raw:
                stream.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Build a folder under a temporary name, then swap it in place of ``path``."""
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        for child in tmp.rglob("*"):
            if child.is_file():
                with open(child, "rb") as fh:
                    os.fsync(fh.fileno())
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "x")
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
