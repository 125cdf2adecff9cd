"""`embedlab index build|add|search|info` through the entry point (on a tiny static encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clirun import run
from embedlab import Vectors
from embedlab.encoders import StaticEncoder

pytest.importorskip("hnswlib")

WORDS = ["reset", "password", "change", "settings", "track", "parcel", "number", "pay", "card"]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    vecs = Vectors(WORDS, rng.normal(size=(len(WORDS), 16)).astype(np.float32))
    return StaticEncoder(vecs, name="toy").save(tmp_path / "toy")


def test_build_search_add_info(
    tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [
                {"id": "a", "text": "reset password", "topic": "account"},
                {"id": "b", "text": "track parcel number", "topic": "shipping"},
                {"id": "c", "text": "pay by card", "topic": "billing"},
            ]
        )
    )
    col = tmp_path / "col"
    code, out, err = run(
        capsys,
        "index",
        "build",
        str(docs),
        "-o",
        str(col),
        "-m",
        str(model),
        "--meta",
        "topic",
        "--index",
        "exact",
    )
    assert code == 0, err
    assert "indexed 3 documents" in out
    code, out, err = run(capsys, "index", "search", str(col), "password reset", "-k", "2")
    assert code == 0, err
    assert out.splitlines()[0].split()[1] == "a" and '"topic": "account"' in out
    code, out, _ = run(
        capsys,
        "index",
        "search",
        str(col),
        "password",
        "--where",
        "topic=billing",
        "--mode",
        "dense",
    )
    assert [line.split()[1] for line in out.splitlines()] == ["c"]
    more = tmp_path / "more.csv"
    more.write_text("id,text,topic\nd,change settings,account\n")
    code, out, err = run(capsys, "index", "add", str(col), str(more), "--meta", "topic")
    assert code == 0, err
    assert "the collection holds 4" in out
    code, out, _ = run(capsys, "index", "info", str(col))
    assert "documents:  4" in out and "'name': 'toy'" in out
