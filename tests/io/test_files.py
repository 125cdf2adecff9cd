"""File plumbing: permissions follow the umask, an interrupted folder replacement is recoverable,
leftovers of killed writers are cleaned, and a live writer's files are left alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab import Vectors, load_vectors, save_vectors
from embedlab import files as _files

OLD = Vectors(["a", "b"], np.eye(2, dtype=np.float32))
NEW = Vectors(["x", "y", "z"], np.arange(6, dtype=np.float32).reshape(3, 2))


@pytest.fixture
def umask() -> Iterator[Any]:
    before = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(before)


@pytest.mark.parametrize(
    ("mask", "file_mode", "dir_mode"),
    [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)],
)
def test_new_files_and_folders_follow_the_umask(
    tmp_path: Path, umask: Any, mask: int, file_mode: int, dir_mode: int
) -> None:
    umask(mask)
    save_vectors(OLD, tmp_path / "v.txt")
    save_vectors(OLD, tmp_path / "v.embedlab")
    assert stat.S_IMODE((tmp_path / "v.txt").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "v.embedlab").stat().st_mode) == dir_mode
    assert stat.S_IMODE((tmp_path / "v.embedlab" / "keys.txt").stat().st_mode) == file_mode


def test_a_replacement_interrupted_between_its_renames_is_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "v.embedlab"
    save_vectors(OLD, target)
    real, calls = os.replace, []

    def dies_on_the_second(src: Any, dst: Any) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the moment a kill -9 would leave nothing at the target
        real(src, dst)

    monkeypatch.setattr(_files.os, "replace", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        save_vectors(NEW, target)
    monkeypatch.undo()
    assert not target.exists() and _files.old_copy(target).is_dir()
    back = load_vectors(target)  # a reader uses the parked old copy, and moves nothing
    assert list(back.index_to_key) == ["a", "b"] and _files.old_copy(target).is_dir()
    save_vectors(NEW, target)  # the next writer restores, then replaces
    assert list(load_vectors(target).index_to_key) == ["x", "y", "z"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.embedlab"]


def test_leftovers_of_a_dead_writer_go_and_a_live_writers_stay(tmp_path: Path) -> None:
    target = tmp_path / "v.txt"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = tmp_path / f".v.txt.{dead_pid}.0123abcd.tmp"
        busy = tmp_path / f".v.txt.{live.pid}.89abcdef.tmp"
        other = tmp_path / f".w.txt.{dead_pid}.0123abcd.tmp"  # another target's: not ours to judge
        stale_dir = tmp_path / f".v.embedlab.{dead_pid}.0123abcd.tmp"
        for p in (stale, busy, other):
            p.write_text("half written")
        stale_dir.mkdir()
        save_vectors(OLD, target)
        save_vectors(OLD, tmp_path / "v.embedlab")
        assert not stale.exists() and not stale_dir.exists()
        assert busy.exists() and other.exists()
    finally:
        live.kill()
        live.wait()


def test_replacing_a_folder_keeps_no_old_copy(tmp_path: Path) -> None:
    target = tmp_path / "v.embedlab"
    for v in (OLD, NEW, OLD):
        save_vectors(v, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.embedlab"]
    assert list(load_vectors(target).index_to_key) == ["a", "b"]


def test_renames_are_made_durable_by_syncing_the_parent_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real = os.fsync

    def recording(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    save_vectors(OLD, tmp_path / "v.embedlab")
    save_vectors(NEW, tmp_path / "v.embedlab")  # a replacement: two renames
    save_vectors(OLD, tmp_path / "v.txt")
    assert synced.count(str(tmp_path)) >= 3
