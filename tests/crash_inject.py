"""Run one write of embedlab and SIGKILL this process at its Nth rename, delete or SQLite commit.

Used by test_crash_injection.py: ``python crash_inject.py SCENARIO WORKDIR N`` counts every
``os.replace`` / ``os.rename`` / ``os.unlink`` / ``os.remove`` / ``os.rmdir`` / ``shutil.rmtree``
and every commit of a collection's SQLite transaction, and kills itself (kill -9: no cleanup, no
``finally``) just before event N. It exits 0 with "done" when the write finished first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from embedlab import Vectors, save_vectors
from embedlab.search import Collection
from embedlab.search import collection as collection_module
from embedlab.static import Word2Vec
from toyencoders import WordHash

DOCS_A = {f"a{i}": f"first batch document {i} about passwords and parcels" for i in range(8)}
DOCS_B = {f"b{i}": f"second batch text {i} on payments and refunds" for i in range(6)}
OLD = Vectors([f"old{i}" for i in range(5)], np.full((5, 3), 1.0, np.float32))
NEW = Vectors([f"new{i}" for i in range(7)], np.full((7, 3), 2.0, np.float32))
W2V = dict(dim=12, min_count=1, epochs=3, seed=3, workers=1, show_progress=False)


def corpus() -> list[list[str]]:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    return [list(rng.choice(words, size=12)) for _ in range(300)]


def build(folder: Path) -> None:
    col = Collection.create(folder, WordHash(), index="hnsw")
    col.add(list(DOCS_A), list(DOCS_A.values()))
    col.close()


def add(folder: Path) -> None:
    col = Collection.open(folder, WordHash())
    col.add(list(DOCS_B), list(DOCS_B.values()))
    col.close()


SCENARIOS: dict[str, Callable[[Path], None]] = {
    "build": lambda work: build(work / "col"),
    "add": lambda work: add(work / "col"),
    "save": lambda work: save_vectors(NEW, work / "vectors.embedlab"),
    "word2vec": lambda work: Word2Vec(**W2V, checkpoint_dir=work / "ckpt").fit(corpus()),  # type: ignore[arg-type]
}


def install(crash_at: int) -> None:
    count = 0

    def event() -> None:
        nonlocal count
        count += 1
        if count == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def counted(fn: Callable[..., Any]) -> Callable[..., Any]:
        def inner(*args: Any, **kwargs: Any) -> Any:
            event()
            return fn(*args, **kwargs)

        return inner

    for name in ("replace", "rename", "unlink", "remove", "rmdir"):
        setattr(os, name, counted(getattr(os, name)))
    shutil.rmtree = counted(shutil.rmtree)  # type: ignore[assignment]
    real = collection_module.transaction

    @contextlib.contextmanager
    def transaction(con: Any, kind: str = "IMMEDIATE") -> Iterator[None]:
        with real(con, kind):
            yield
            event()  # killed here, the transaction never commits

    collection_module.transaction = transaction  # type: ignore[assignment]


if __name__ == "__main__":
    scenario, work, crash_at = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    install(crash_at)
    SCENARIOS[scenario](work)
    print("done")
