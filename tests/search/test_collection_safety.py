"""A collection never deletes what is not its own, and two processes cannot corrupt it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from embedlab.errors import FormatError, ParameterError
from embedlab.search import Collection, _store, collection
from toyencoders import WordHash

pytest.importorskip("hnswlib")

TESTS = Path(__file__).parent.parent
DOCS = {"a": "reset my password", "b": "track my parcel", "c": "pay by card"}


def project_folder(root: Path) -> Path:
    """A folder a user works in: a repository, secrets, a venv, files named like ours."""
    (root / ".git" / "objects").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".env").write_text("TOKEN=secret\n")
    (root / ".venv").mkdir()
    (root / "seg-notes.txt").write_text("mine\n")
    (root / "dense-backup").mkdir()
    (root / "bm25-plan.md").write_text("mine too\n")
    return root


def listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_building_into_a_folder_that_is_not_a_collection_is_refused(tmp_path: Path) -> None:
    root = project_folder(tmp_path / "project")
    before = listing(root)
    with pytest.raises(ParameterError, match="is not empty and is not an embedlab collection"):
        Collection.create(root, WordHash())
    assert listing(root) == before  # nothing added, nothing removed


def test_a_sweep_removes_only_what_the_state_names(tmp_path: Path) -> None:
    col = Collection.create(tmp_path / "c", WordHash())
    assert (tmp_path / "c" / collection.MANIFEST).exists()  # written first: the folder is ours
    mine = project_folder(tmp_path / "c")  # the user drops their own files in
    col.add(list(DOCS), list(DOCS.values()))
    col.add(["d"], ["another document"])
    col.close()
    again = Collection.open(mine, WordHash())
    again.delete(["d"])
    for name in (".git/HEAD", ".env", ".venv", "seg-notes.txt", "dense-backup", "bm25-plan.md"):
        assert (mine / name).exists(), name
    ours = sorted(
        p.name for p in mine.iterdir() if p.name.startswith(("seg-0", "dense-0", "bm25-0"))
    )
    g = again.generation
    assert ours == [f"bm25-{g:06d}", f"dense-{g:06d}", "seg-000001.npy", "seg-000002.npy"]


def test_opening_a_folder_without_a_collection_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="not a collection"):
        Collection.open(tmp_path, WordHash())
    with pytest.raises(FormatError, match="not a collection"):
        Collection.recorded_source(tmp_path)
    assert list(tmp_path.iterdir()) == []


WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from embedlab.search import Collection
from toyencoders import WordHash

folder = Path(sys.argv[1])
real = Collection._commit

def paused(self, *args, **kwargs):
    (folder.parent / "ready").touch()  # segment and indexes written, not yet committed
    while not (folder.parent / "go").exists():
        time.sleep(0.02)
    return real(self, *args, **kwargs)

Collection._commit = paused
col = Collection.open(folder, WordHash())
col.add(["new"], ["a new document about passwords"])
print(len(col))
"""


def test_a_reader_and_a_second_writer_leave_a_write_in_progress_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "c"
    col = Collection.create(folder, WordHash())
    col.add(list(DOCS), list(DOCS.values()))
    col.close()
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(WRITER.format(tests=str(TESTS))))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "ready").exists():
            assert proc.poll() is None, "the writer stopped early"
            assert time.monotonic() < deadline, "the writer never got to its commit"
            time.sleep(0.05)
        pending = set(os.listdir(folder))
        reader = Collection.open(folder, WordHash())  # another process opens meanwhile
        assert len(reader) == 3 and reader.search("password", k=1)[0].id == "a"
        assert pending <= set(os.listdir(folder))  # the writer's uncommitted files are all there
        monkeypatch.setattr(_store, "LOCK_TIMEOUT", 1.5)
        with pytest.raises(ParameterError, match="another process has been writing"):
            reader.add(["x"], ["a second writer"])
        (tmp_path / "go").touch()
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0 and out.strip() == "4"
    after = Collection.open(folder, WordHash())
    assert len(after) == 4 and after.search("new document", k=1)[0].id == "new"
    assert reader.search("new document", k=1)[0].id == "new"  # the reader sees the new commit
