"""File plumbing for every layer (the ground floor): transparent compression and atomic writes.

``open_read`` opens plain, ``.gz`` and ``.bz2`` files as binary streams; ``atomic_file`` and
``atomic_dir`` write to a temporary sibling and rename it into place, so a crash or an error never
leaves a half-written file under the target name, and a crash in the middle of replacing a folder
leaves the old copy where the next reader and writer find it. New files and folders get the
permissions the umask gives, as ``open`` and ``mkdir`` do. This module knows nothing of vector
formats.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import json
import logging
import os
import re
import secrets
import shutil
import struct
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import FormatError
from .remote import FilePath, RemoteFile

logger = logging.getLogger(__name__)

COMPRESSED_SUFFIXES = (".gz", ".bz2")


def compression_of(path: FilePath) -> str | None:
    """``Path("a.vec.gz") -> "gz"``; None for plain files."""
    suffix = path.suffix.lower()
    return suffix[1:] if suffix in COMPRESSED_SUFFIXES else None


def inner_suffix(path: Path) -> str:
    """Suffix once compression is stripped: ``"a.vec.gz" -> ".vec"``."""
    return (path.with_suffix("") if compression_of(path) else path).suffix.lower()


# Deflate cannot expand data more than 1032:1; real vector files compress 1.1-3:1 (bz2 too). A
# compressed file that decompresses to more than this many times its size is a bomb, not data.
MAX_EXPANSION = 1100


def open_read(path: FilePath) -> IO[bytes]:
    """A binary stream over ``path`` (a path or a :class:`~embedlab.remote.RemoteFile`),
    decompressing ``.gz``/``.bz2`` on the fly.

    A compressed stream stops with a :class:`FormatError` (naming the file and the byte offset)
    on corrupt data and once it has produced ``MAX_EXPANSION`` times the file's size.
    """
    kind = compression_of(path)
    if kind is None:
        return path.open() if isinstance(path, RemoteFile) else open(path, "rb", buffering=1 << 20)
    opener: Any = gzip.open if kind == "gz" else bz2.open
    # a remote stream is opened here and closed by _Decompressed (gzip / bz2 leave a file object
    # they were given open); a local file is opened and closed by the decompressor itself
    if isinstance(path, RemoteFile):
        source: IO[bytes] | None = path.open()
        inner: IO[bytes] = opener(source, "rb")
        size = path.size()
    else:
        source, inner, size = None, opener(path, "rb"), path.stat().st_size
    limit = MAX_EXPANSION * max(size, 1024)
    reader = _Decompressed(inner, path, kind, limit, source)
    return io.BufferedReader(reader, buffer_size=1 << 20)


class _Decompressed(io.RawIOBase):
    """Counts what a decompressor yields; its errors become FormatErrors with the offset."""

    def __init__(
        self, inner: IO[bytes], path: FilePath, kind: str, limit: int, source: IO[bytes] | None
    ) -> None:
        self.inner, self.path, self.kind, self.limit, self.seen = inner, path, kind, limit, 0
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            n = self.inner.readinto(buffer)  # type: ignore[attr-defined]
        except (zlib.error, EOFError, OSError) as e:  # gzip.BadGzipFile and bz2's are OSErrors
            raise FormatError(
                self.path, f"corrupt {self.kind} data: {e}", offset=self.seen
            ) from None
        self.seen += n
        if self.seen > self.limit:
            raise FormatError(
                self.path,
                f"decompresses to over {self.limit} bytes, {MAX_EXPANSION} times the file's "
                "size: not a real compressed file",
                offset=self.seen,
            )
        return int(n)

    def close(self) -> None:
        self.inner.close()
        if self.source is not None:
            self.source.close()
        super().close()


def read_json(path: Path) -> Any:
    """A small JSON file (a config, a header); malformed JSON is a FormatError with its line."""
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
    _check_npy_header(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. numpy's notice about Python 2 style headers
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise FormatError(path, f"expected a .npy array: {e}") from None
    return arr if mmap else np.array(arr)


def _check_npy_header(path: Path) -> None:
    """numpy reads a ``.npy`` header of the length the file declares (up to 4 GiB for versions 2
    and 3) before it checks it: check the declared length against the file first."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(12)
    except (FileNotFoundError, IsADirectoryError) as e:
        raise FormatError(path, f"expected a .npy array: {e}") from None
    if len(head) < 10 or head[:6] != b"\x93NUMPY":
        raise FormatError(path, "expected a .npy array (the \\x93NUMPY magic)", offset=0)
    if head[6] == 1:
        (length,), start = struct.unpack("<H", head[8:10]), 10
    elif head[6] in (2, 3) and len(head) == 12:
        (length,), start = struct.unpack("<I", head[8:12]), 12
    else:
        raise FormatError(
            path, f"expected .npy format version 1, 2 or 3, found {head[6]}", offset=6
        )
    if start + length > size or length > 1 << 20:
        raise FormatError(
            path, f"the header declares {length} bytes; the file holds {size - start}", offset=8
        )


def _compressing(raw: IO[bytes], kind: str | None) -> IO[bytes]:
    if kind == "gz":
        return gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6)  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.BZ2File(raw, mode="wb")
    return raw


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


def _temp_name(path: Path, suffix: str) -> str:
    """``.NAME.PID.RANDOM.tmp``: the writer's pid tells a leftover from a write in progress."""
    return f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}"


def old_copy(path: Path) -> Path:
    """Where :func:`atomic_dir` parks the previous folder while it swaps in the new one."""
    return path.with_name(f".{path.name}.old")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - alive, someone else's
        return True
    return True


def clean_leftovers(path: Path) -> None:
    """Remove the temporary siblings of ``path`` that a killed writer left behind.

    Only names this module makes for ``path`` (``.NAME.PID.RANDOM.tmp``) whose writer process is
    gone are removed; a write in progress in another live process keeps its files.
    """
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[0-9a-f]{{8}}\.tmp$")
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(path.parent):
            m = pattern.match(entry.name)
            # a live writer's file stays (this process's too: another thread may be writing it)
            if m is None or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
                continue
            target = path.parent / entry.name
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(target, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()


def readable_dir(path: Path) -> Path:
    """``path``, or its parked old copy when a replacement was interrupted between its renames.

    Readers call this and never move or delete anything; the next write to ``path`` restores or
    drops the old copy (:func:`recover_dir`).
    """
    if not path.exists() and old_copy(path).is_dir():
        logger.warning("%s is missing; reading the previous copy %s", path, old_copy(path))
        return old_copy(path)
    return path


def recover_dir(path: Path) -> None:
    """Finish what an interrupted :func:`atomic_dir` left: restore or drop the old copy, clean up."""
    old = old_copy(path)
    if old.is_dir():
        if path.exists():  # the new folder made it into place: the old one is garbage
            shutil.rmtree(old)
        else:  # killed between the two renames: the old folder comes back
            os.replace(old, path)
            logger.warning("restored %s from an interrupted replacement", path)
        _fsync_dir(path.parent)
    clean_leftovers(path)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """Write ``path`` atomically (temp file in the same folder, fsync, rename); compress by suffix.

    The file gets the permissions any new file gets (0666 less the umask), like ``open`` gives.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    tmp = path.parent / _temp_name(path, ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as raw:
            stream = _compressing(raw, compression_of(path))
            yield stream
            if stream is not raw:
                stream.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Build a folder under a temporary name, then swap it in place of ``path``.

    Replacing an existing folder takes two renames (``path`` -> ``.NAME.old``, the new one ->
    ``path``); a crash between them leaves the old copy under that fixed name, which readers use
    (:func:`readable_dir`) and the next write restores (:func:`recover_dir`). Every file is
    fsynced before the swap and the parent folder after it. The folder gets 0777 less the umask.
    """
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(path)
    tmp = path.parent / _temp_name(path, ".tmp")
    tmp.mkdir(mode=0o777)  # the umask applies, as for any new folder
    try:
        yield tmp
        for child in tmp.rglob("*"):
            if child.is_file():
                with open(child, "rb") as fh:
                    os.fsync(fh.fileno())
        _fsync_dir(tmp)
        if path.exists():
            old = old_copy(path)
            os.replace(path, old)
            os.replace(tmp, path)
            _fsync_dir(path.parent)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
