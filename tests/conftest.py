"""Shared fixtures: tiny vectors with planted structure, built in code (no ../shared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab import Vectors

DATA = Path(__file__).parent / "data"


@pytest.fixture
def planted() -> Vectors:
    """Vectors where king - man + woman = queen and paris - france + italy = rome (plus noise),
    and 'cat'/'kitten' are near-duplicates; 40 filler words make the search non-trivial."""
    rng = np.random.default_rng(7)
    dim = 16
    base = {w: rng.normal(size=dim) for w in ["man", "woman", "france", "italy", "cat", "the"]}
    royal, capital = rng.normal(size=dim), rng.normal(size=dim)
    rows = {
        "the": base["the"],
        "man": base["man"],
        "woman": base["woman"],
        "king": base["man"] + 2 * royal,
        "queen": base["woman"] + 2 * royal,
        "france": base["france"],
        "italy": base["italy"],
        "paris": base["france"] + 2 * capital,
        "rome": base["italy"] + 2 * capital,
        "cat": base["cat"],
        "kitten": base["cat"] + 0.05 * rng.normal(size=dim),
    }
    for i in range(40):
        rows[f"filler{i}"] = rng.normal(size=dim)
    counts = np.arange(len(rows), 0, -1) * 10
    return Vectors(list(rows), np.array(list(rows.values()), dtype=np.float32), counts)


@pytest.fixture
def data_dir() -> Path:
    return DATA
