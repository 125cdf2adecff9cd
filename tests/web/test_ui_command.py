"""``embedlab ui PATH...``: each path recognised by what it holds and served where the page
looks for it, on loopback; a path that is none of them is a clear error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab.vectors import Vectors
from toyencoders import WordHash

pytest.importorskip("fastapi")


def test_ui_serves_each_path_where_the_page_looks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clirun import run
    from embedlab.apps import FAQ
    from embedlab.search import Collection

    Vectors(["a", "b", "c"], np.eye(3, dtype=np.float32)).save(tmp_path / "words.vec")
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "report.json").write_text('{"scores": []}')
    (tmp_path / "clf").mkdir()
    (tmp_path / "clf" / "train_log.jsonl").write_text(json.dumps({"step": 1, "loss": 1.0}) + "\n")
    FAQ.build(tmp_path / "help", WordHash(), ["q"], ["a"])
    Collection.create(tmp_path / "docs", WordHash(), index="exact").close()
    (tmp_path / "notes").mkdir()
    seen: dict[str, Any] = {}
    monkeypatch.setattr("embedlab.server.app.create_app", lambda cfg: seen.setdefault("cfg", cfg))
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: seen.update(kw))
    paths = [str(tmp_path / p) for p in ("words.vec", "eval", "clf", "help", "docs")]
    code, out, err = run(capsys, "ui", *paths, "--no-open", "--port", "8765", "-m", "mini=default")
    assert code == 0, err
    cfg = seen["cfg"]
    assert cfg.vectors == {"words": str(tmp_path / "words.vec")} and cfg.reports == {
        "eval": str(tmp_path / "eval")
    }
    assert cfg.runs == {"clf": str(tmp_path / "clf")} and set(cfg.faqs) == {"help"}
    assert set(cfg.collections) == {"docs"} and cfg.models == {"mini": "default"}
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8765
    assert "http://127.0.0.1:8765/#projector" in out
    code, _, err = run(capsys, "ui", str(tmp_path / "notes"), "--no-open")
    assert code == 1 and "notes: expected an eval report (report.json)" in err
    code, _, err = run(capsys, "ui", str(tmp_path / "nothing.bin"), "--no-open")
    assert code == 1 and "nothing.bin does not exist" in err


def test_ui_pairs_metadata_and_images_with_the_vectors_paths(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clirun import run
    from embedlab.io.tables import write_embeddings

    Vectors(["a", "b"], np.eye(2, dtype=np.float32)).save(tmp_path / "words.vec")
    write_embeddings(tmp_path / "pics.npy", ["x.jpg", "y.jpg"], np.eye(2, dtype=np.float32))
    (tmp_path / "words.tsv").write_text("p\nq\n")
    (tmp_path / "pics.tsv").write_text("id\tkind\nx.jpg\tcat\n")
    (tmp_path / "photos").mkdir()
    seen: dict[str, Any] = {}
    monkeypatch.setattr("embedlab.server.app.create_app", lambda cfg: seen.setdefault("cfg", cfg))
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: None)
    code, _, err = run(
        capsys, "ui", str(tmp_path / "words.vec"), str(tmp_path / "pics.npy"), "--no-open",
        "--metadata", str(tmp_path / "words.tsv"), "--metadata", str(tmp_path / "pics.tsv"),
        "--images", str(tmp_path / "photos"),
    )  # fmt: skip
    assert code == 0, err
    cfg = seen["cfg"]
    assert cfg.vectors == {"words": str(tmp_path / "words.vec"), "pics": str(tmp_path / "pics.npy")}
    assert cfg.metadata == {
        "words": str(tmp_path / "words.tsv"),
        "pics": str(tmp_path / "pics.tsv"),
    }
    assert cfg.images == {"pics": str(tmp_path / "photos")}  # the embed output, not words.vec
    code, _, err = run(capsys, "ui", str(tmp_path / "words.vec"), "--no-open",
                       "--images", str(tmp_path / "photos"), "--images", str(tmp_path))  # fmt: skip
    assert code == 1 and "more --images than paths to pair with" in err
