"""kill -9 at every rename, delete and SQLite commit of ``index build``, ``index add``,
``save_vectors`` over an existing folder and a checkpointed word2vec run (crash_inject.py does the
killing): after each, the target opens in its old or its new state, finishing the write leaves
no stray files, and a resumed word2vec run equals an uninterrupted one bit for bit."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import crash_inject as ci
from embedlab import load_vectors, save_vectors
from embedlab.errors import FormatError
from embedlab.files import readable_dir
from embedlab.search import Collection
from embedlab.static import Word2Vec
from toyencoders import WordHash

pytest.importorskip("hnswlib")
pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).with_name("crash_inject.py")


def kill_at_every_event(scenario: str, template: Path, work: Path, check: object) -> int:
    """Run the scenario killed at event 1, 2, ... until it finishes; check after each kill."""
    for n in range(1, 200):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(template, work)
        done = subprocess.run(
            [sys.executable, str(SCRIPT), scenario, str(work), str(n)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=SCRIPT.parent,
        )
        if done.returncode == 0:
            assert done.stdout.strip() == "done"
            return n - 1  # the kills made
        assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
        check(work, n)  # type: ignore[operator]
    raise AssertionError("the scenario never finished")


def collection_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def expected_files(col: Collection) -> list[str]:
    state = col._state()
    names = {*state["segments"], state["dense"], state["bm25"], "collection.sqlite"}
    names |= {"embedlab-collection.json", "collection.lock"}
    return sorted(n for n in names if n)


def docs_in(col: Collection, docs: dict[str, str]) -> bool | None:
    """All of ``docs`` (True), none (False); anything in between fails the test."""
    present = {key in col for key in docs}
    assert len(present) == 1, f"a partial commit is visible: {present}"
    return present.pop()


def finish_and_sweep(col: Collection, folder: Path, docs: dict[str, str]) -> None:
    with col._writing():  # a writer sweeps what the state names as garbage
        pass
    assert all(key in col for key in docs)
    assert collection_files(folder) in (
        expected_files(col),
        [f for f in expected_files(col) if f != "collection.lock"],
    )
    hits = col.search("passwords parcels payments", k=3)
    assert len(hits) == 3 and all(h.id in col for h in hits)


def test_index_build_killed_anywhere(tmp_path: Path) -> None:
    template = tmp_path / "template"
    template.mkdir()

    def check(work: Path, n: int) -> None:
        folder = work / "col"
        try:
            col = Collection.open(folder, WordHash())
        except FormatError:  # the old state: no collection yet; building again must work
            ci.build(folder)
            col = Collection.open(folder, WordHash())
        else:
            if not docs_in(col, ci.DOCS_A):  # created, first add not committed: add again
                assert len(col) == 0
                col.add(list(ci.DOCS_A), list(ci.DOCS_A.values()))
        finish_and_sweep(col, folder, ci.DOCS_A)
        col.close()

    assert kill_at_every_event("build", template, tmp_path / "work", check) >= 5


def test_index_add_killed_anywhere(tmp_path: Path) -> None:
    template = tmp_path / "template"
    template.mkdir()
    ci.build(template / "col")

    def check(work: Path, n: int) -> None:
        folder = work / "col"
        col = Collection.open(folder, WordHash())  # old or new state, never broken
        assert docs_in(col, ci.DOCS_A)
        if not docs_in(col, ci.DOCS_B):
            assert len(col) == len(ci.DOCS_A)
            assert col.search("passwords parcels", k=1)[0].id.startswith("a")
            ci.add(folder)  # index add again: continues from the old state
            col.close()
            col = Collection.open(folder, WordHash())
        finish_and_sweep(col, folder, {**ci.DOCS_A, **ci.DOCS_B})
        col.close()

    assert kill_at_every_event("add", template, tmp_path / "work", check) >= 5


def test_save_vectors_over_an_existing_folder_killed_anywhere(tmp_path: Path) -> None:
    template = tmp_path / "template"
    save_vectors(ci.OLD, template / "vectors.embedlab")

    def check(work: Path, n: int) -> None:
        target = work / "vectors.embedlab"
        got = load_vectors(target)
        assert list(got.index_to_key) in (list(ci.OLD.index_to_key), list(ci.NEW.index_to_key))
        want = ci.OLD if len(got) == len(ci.OLD) else ci.NEW
        np.testing.assert_array_equal(np.asarray(got.vectors), want.vectors)
        save_vectors(ci.NEW, target)  # the save again
        assert list(load_vectors(target).index_to_key) == list(ci.NEW.index_to_key)
        assert sorted(p.name for p in work.iterdir()) == ["vectors.embedlab"]

    assert kill_at_every_event("save", template, tmp_path / "work", check) >= 2


def test_checkpointed_word2vec_killed_anywhere_resumes_bit_identical(tmp_path: Path) -> None:
    template = tmp_path / "template"
    template.mkdir()
    whole = Word2Vec(**ci.W2V).fit(ci.corpus())  # type: ignore[arg-type]
    resumed_from: list[int] = []

    def check(work: Path, n: int) -> None:
        ckpt = work / "ckpt"
        usable = (readable_dir(ckpt) / "state.json").exists()
        model = Word2Vec(**ci.W2V, checkpoint_dir=ckpt)  # type: ignore[arg-type]
        seen: list[int] = []
        model.callbacks = [lambda m, e, loss: seen.append(e)]
        model.fit(ci.corpus(), resume=usable)
        resumed_from.append(ci.W2V["epochs"] - len(seen))  # type: ignore[operator]
        assert np.array_equal(model.vectors_.vectors, whole.vectors_.vectors)
        assert model.loss_history_ == whole.loss_history_

    assert kill_at_every_event("word2vec", template, tmp_path / "work", check) >= 5
    assert {1, 2} <= set(resumed_from)  # some kills came after epochs' checkpoints
    assert resumed_from == sorted(resumed_from)  # a later kill never loses a saved epoch
