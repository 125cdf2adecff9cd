"""Files named by URLs (``s3://``, ``gs://``, ``az://``, ``hf://``, ``https://``...), read through fsspec.

A cluster's inputs live where every node can read them, seldom on the driver's disk, so the record
readers (:mod:`embedlab.records`) and a batch job's plan (:mod:`embedlab.distributed.shards`) take a
URL wherever they take a path. Anything with a scheme (``name://``) is a URL and goes through fsspec
(the ``ray`` extra brings it; each store's own driver, s3fs, gcsfs, adlfs, is the user's to install,
as with pandas or Ray Data); a plain path stays a :class:`~pathlib.Path` and never touches fsspec.

A :class:`RemoteFile` answers the few questions those readers ask of a file: its name and suffix,
whether it exists or is a folder, its files, its size and a version that changes when the file
does (fsspec's ``ukey``: an S3 ETag, a local mtime...), and a binary stream. It is ``os.PathLike``
only so that error messages (:class:`~embedlab.errors.FormatError`) name the URL: opening one with
``open()`` fails, as it should.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import IO, Any

from .errors import MissingDependencyError, ParameterError
from .optional import require

__all__ = ["FilePath", "RemoteFile", "is_url", "locate"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")  # two letters at least: C:/ is a path


def is_url(path: str | os.PathLike[str]) -> bool:
    """True for ``"s3://bucket/docs/"`` and any ``scheme://...``; False for paths."""
    return isinstance(path, RemoteFile) or bool(_SCHEME.match(os.fspath(path)))


class RemoteFile(os.PathLike[str]):
    """A file or folder named by an fsspec URL."""

    def __init__(self, url: str, *, _fs: Any = None, _path: str | None = None) -> None:
        self.url = url
        if _fs is None:
            _fs, _path = _filesystem(url)
        self._fs, self._path = _fs, str(_path)

    # the path-like surface the record readers use
    @property
    def name(self) -> str:
        return PurePosixPath(self._path.rstrip("/")).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    def __fspath__(self) -> str:
        return self.url

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemoteFile({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemoteFile) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def exists(self) -> bool:
        return bool(self._fs.exists(self._path))

    def is_dir(self) -> bool:
        return bool(self._fs.isdir(self._path))

    def files(self) -> list[RemoteFile]:
        """Every file below this folder, sorted by URL."""
        found = sorted(self._fs.find(self._path, withdirs=False))
        return [RemoteFile(self._fs.unstrip_protocol(p), _fs=self._fs, _path=p) for p in found]

    def size(self) -> int:
        return int(self._fs.size(self._path))

    def version(self) -> str:
        """A key that changes when the file does (ETag, generation, mtime: what the store has)."""
        return str(self._fs.ukey(self._path))

    def open(self) -> IO[bytes]:
        """A binary, seekable stream over the file (read in blocks as consumed)."""
        try:
            return self._fs.open(self._path, "rb")  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise FileNotFoundError(f"no such file: {self.url}") from None


FilePath = Path | RemoteFile


def locate(path: str | os.PathLike[str]) -> FilePath:
    """A :class:`RemoteFile` for a URL, a :class:`~pathlib.Path` for anything else."""
    if isinstance(path, RemoteFile | Path):
        return path
    return RemoteFile(os.fspath(path)) if is_url(path) else Path(path)


def _filesystem(url: str) -> tuple[Any, str]:
    core = require("fsspec.core", "ray", f"reading {url}", instead="a local path")
    try:
        fs, path = core.url_to_fs(url)
    except ImportError as e:  # a known store whose driver is missing: "Install s3fs to access S3"
        raise MissingDependencyError(f"cannot read {url}: {e}") from None
    except ValueError as e:  # "Protocol not known: foo"
        raise ParameterError(f"cannot read {url}: {e}") from None
    return fs, path
