"""A graph with planted structure: relation ``twin`` holds exactly the pairs ``pair`` holds, so a
model that learns the two are alike predicts the held-out ``twin`` triples from ``pair``."""

from __future__ import annotations

from pathlib import Path

import pytest


def planted(folder: Path, n: int = 40, held_out: int = 8) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [(f"a{i}", f"b{(i * 7) % n}") for i in range(n)]
    train = [(a, "pair", b) for a, b in pairs]
    train += [(a, "twin", b) for a, b in pairs[held_out:]]
    train += [(f"b{i}", "next", f"b{(i + 1) % n}") for i in range(n)]
    test = [(a, "twin", b) for a, b in pairs[:held_out]]
    (folder / "train.tsv").write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in train))
    (folder / "test.tsv").write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in test))
    (folder / "entity2text.txt").write_text(
        "".join(f"a{i}\tthing number {i}, an a\n" for i in range(n))
        + "".join(f"b{i}\tplace number {i}, a b\n" for i in range(n))
    )
    return folder


@pytest.fixture
def graph(tmp_path: Path) -> Path:
    return planted(tmp_path / "kg")
