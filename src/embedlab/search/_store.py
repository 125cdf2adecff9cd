"""The collection's on-disk bookkeeping: its SQLite database, state, manifest (no indexes).

``connect`` opens ``collection.sqlite`` (never creating it unless asked), ``read_state`` reads the
one JSON state row (a damaged or foreign database is a :class:`FormatError`), ``snapshot`` is the
read transaction that keeps the files a state names in place while they load, ``has_state`` and
``foreign`` tell a collection folder from any other folder, ``write_manifest`` marks a folder as
ours; ``transaction`` is a write transaction and ``acquired`` takes the writer lock, waiting
(and saying so) while another process writes. The commit protocol itself lives in
:mod:`embedlab.search.collection`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .._version import __version__
from ..errors import FormatError, ParameterError
from ..files import atomic_file, read_json

DB = "collection.sqlite"
MANIFEST = "embedlab-collection.json"
LOCK = "collection.lock"
FORMAT_ID = "embedlab.collection"
FORMAT_VERSION = 1
SQLITE_TIMEOUT = 120.0  # seconds a commit waits for readers that are loading
LOCK_TIMEOUT = 600.0  # seconds a writer waits for another process's write to finish
logger = logging.getLogger("embedlab.search.collection")


@contextlib.contextmanager
def snapshot(con: sqlite3.Connection) -> Iterator[None]:
    """A read transaction: the state and the files it names stay put until it ends."""
    if con.in_transaction:  # already inside one of ours (a writer reloading)
        yield
        return
    con.execute("BEGIN DEFERRED")
    try:
        con.execute("SELECT 1 FROM state LIMIT 1").fetchall()  # takes the shared lock now
        yield
    finally:
        con.execute("COMMIT")


def connect(root: Path, *, create: bool = False) -> sqlite3.Connection:
    """The collection's database (never created by opening: ``mode=rw``)."""
    uri = f"{(root / DB).resolve().as_uri()}?mode={'rwc' if create else 'rw'}"
    return sqlite3.connect(
        uri, uri=True, isolation_level=None, check_same_thread=False, timeout=SQLITE_TIMEOUT
    )


def read_state(con: sqlite3.Connection, root: Path) -> dict[str, Any]:
    try:
        row = con.execute("SELECT value FROM state WHERE key='state'").fetchone()
        state = json.loads(row[0]) if row else None
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            raise  # another process holds it: not a format problem
        raise FormatError(root / DB, f"not a collection database: {e}") from None
    except (sqlite3.DatabaseError, json.JSONDecodeError, TypeError) as e:
        raise FormatError(root / DB, f"not a collection database: {e}") from None
    if not isinstance(state, dict):
        raise FormatError(root / DB, "not a collection database: no state")
    return state


def has_state(root: Path) -> bool:
    """Whether ``root`` holds a committed collection (a crashed create leaves none)."""
    if not (root / DB).is_file():
        return False
    con = connect(root)
    try:
        read_state(con, root)
    except FormatError:
        return False
    finally:
        con.close()
    return True


def foreign(root: Path) -> list[str]:
    """Entries of a folder without a manifest that are not what an interrupted create of ours
    left (the lock file, the manifest's temporary file)."""
    temp = re.compile(rf"^\.{re.escape(MANIFEST)}\.\d+\.[0-9a-f]{{8}}\.tmp$")
    return [e.name for e in root.iterdir() if e.name != LOCK and not temp.match(e.name)]


def write_manifest(root: Path) -> None:
    if (root / MANIFEST).exists():
        manifest = read_json(root / MANIFEST)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_ID:
            raise FormatError(root / MANIFEST, f"expected format {FORMAT_ID!r}")
        return
    body = {"format": FORMAT_ID, "format_version": FORMAT_VERSION, "library": __version__}
    with atomic_file(root / MANIFEST) as f:
        f.write((json.dumps(body, indent=2) + "\n").encode())


@contextlib.contextmanager
def transaction(con: sqlite3.Connection, kind: str = "IMMEDIATE") -> Iterator[None]:
    con.execute(f"BEGIN {kind}")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextlib.contextmanager
def acquired(lock: FileLock, folder: Path) -> Iterator[None]:
    started = time.monotonic()
    try:
        lock.acquire(timeout=1.0)
    except Timeout:
        logger.info("waiting for another process writing to %s", folder)
        try:
            lock.acquire(timeout=max(0.0, LOCK_TIMEOUT - (time.monotonic() - started)))
        except Timeout:
            raise ParameterError(
                f"another process has been writing to the collection {folder} for over "
                f"{LOCK_TIMEOUT:.0f} s (it holds {folder / LOCK}); try again when it is done"
            ) from None
    try:
        yield
    finally:
        lock.release()
