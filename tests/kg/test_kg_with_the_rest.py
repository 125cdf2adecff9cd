"""A text-aware graph model from the CLI, and the graph with the rest: its entities in a
collection (``index build``), served ``/v1/kg/predict``, and the evaluation report's
link-prediction task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clirun import run
from embedlab import Vectors, load_vectors
from embedlab.encoders import StaticEncoder


@pytest.fixture
def encoder(tmp_path: Path) -> Path:
    words = ["thing", "place", "number", "an", "a", "b", "new", *map(str, range(40))]
    rng = np.random.default_rng(0)
    table = rng.normal(size=(len(words), 16)).astype(np.float32)
    return StaticEncoder(Vectors(words, table), name="toy", remove_components=0).save(
        tmp_path / "toy"
    )


@pytest.fixture
def trained(graph: Path, encoder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A text-aware RotatE; dev names a99, described but in no training triple."""
    (graph / "dev.tsv").write_text("a99\tpair\tb3\na1\ttwin\tb7\n")
    with (graph / "entity2text.txt").open("a") as f:
        f.write("a99\tnew thing number 99, an a\n")
    out = tmp_path / "model"
    code, stdout, err = run(
        capsys, "kg", "train", str(graph), "-o", str(out), "--dim", "8", "--negatives", "8",
        "--epochs", "20", "--lr", "0.02", "--batch-size", "16", "--workers", "1",
        "--text", str(graph / "entity2text.txt"), "--encoder", str(encoder), "--unseen", "add",
    )  # fmt: skip
    assert code == 0, err
    assert "encoding 81 entity descriptions with StaticEncoder" in stdout
    assert "dev (2 triples, filtered, realistic ranks)" in stdout  # a99's triple ranked too
    assert "text weight " in stdout and "(dev MRR by weight: 0: " in stdout
    return out


def test_text_aware_training_from_the_cli(
    trained: Path, graph: Path, encoder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = json.loads((trained / "kg.json").read_text())
    assert info["text"]["encoder"] == str(encoder) and info["text"]["dim"] == 16
    assert (trained / "description.safetensors").exists()
    described = load_vectors(trained / "text")
    assert len(described) == 81 and "a99" in described
    assert len(load_vectors(trained / "entities")) == 80  # a99 has no trained vector
    code, stdout, err = run(
        capsys, "kg", "predict", str(trained), "a99", "pair", "?", "-k", "3",
        "--text", str(graph / "entity2text.txt"),
    )  # fmt: skip
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0] == "a99 is new to the model: placed from its description"
    assert lines[1] == "(a99, pair, ?)  a99: new thing number 99, an a"
    assert len(lines) == 5 and lines[2].startswith("  1. ")
    code, stdout, err = run(capsys, "kg", "eval", str(trained), str(graph), "--split", "dev",
                            "--unseen", "add", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["metrics"]["both"]["count"] == 4


def test_text_aware_training_with_a_dev_split_of_known_entities(
    graph: Path, encoder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (graph / "dev.tsv").write_text("a1\ttwin\tb7\n")
    code, stdout, err = run(
        capsys, "kg", "train", str(graph), "-o", str(tmp_path / "m"), "--dim", "4",
        "--epochs", "2", "--text", str(graph / "entity2text.txt"), "--encoder", str(encoder),
    )  # fmt: skip
    assert code == 0, err
    assert "text weight " in stdout and "dev (1 triples" in stdout


def test_cli_text_errors(graph: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "kg", "train", str(graph), "-o", str(tmp_path / "m"), "--unseen", "add"
    )
    assert code != 0 and "--unseen add ranks new entities from their descriptions" in err
    (graph / "dev.tsv").write_text("a99\tpair\tb3\n")
    plain = tmp_path / "plain"
    code, _, err = run(capsys, "kg", "train", str(graph), "-o", str(plain), "--epochs", "1")
    assert code != 0 and "dev.tsv: all 1 triples name entities not in the training" in err
    (graph / "dev.tsv").write_text("a99\tpair\tb3\na1\tpair\tb7\n")
    code, _, err = run(capsys, "kg", "train", str(graph), "-o", str(plain), "--epochs", "1")
    assert code == 0, err
    code, _, err = run(
        capsys, "kg", "eval", str(plain), str(graph), "--split", "dev", "--unseen", "add"
    )
    assert code != 0 and "the model was trained without entity text" in err


def test_entities_in_a_collection(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("hnswlib")
    col = tmp_path / "entities"
    code, stdout, err = run(capsys, "index", "build", str(trained), "-o", str(col))
    assert code == 0, err
    assert "indexed 81 entities with their descriptions" in stdout
    code, stdout, err = run(capsys, "index", "search", str(col), "new thing number 99", "-k", "1")
    assert code == 0, err
    assert "a99" in stdout and "new thing number 99" in stdout
    code, _, err = run(
        capsys, "index", "build", str(trained), "-o", str(tmp_path / "x"), "-m", "default"
    )
    assert code != 0 and "indexed with the encoder that described them" in err


def test_served_kg_predict(trained: Path, tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from embedlab.kg.store import load_model
    from embedlab.server import ServerConfig
    from embedlab.server.app import create_app
    from serverrun import Running

    expected = load_model(trained).predict("pair", head="a3", k=4)
    (tmp_path / "server.json").write_text('{"graphs": {"toy": {"path": "model"}}}')
    cfg = ServerConfig.load(tmp_path / "server.json")
    cfg.models = {}
    with Running(create_app(cfg)) as url:
        body = {"graph": "toy", "head": "thing number 3", "relation": "pair", "k": 4}
        r = httpx.post(f"{url}/v1/kg/predict", json=body, timeout=30)
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["entity"] == "a3" and got["predicting"] == "tail"
        assert [d["id"] for d in got["data"]] == [e for e, _ in expected]
        assert got["data"][0]["text"].startswith("place number")
        r = httpx.post(f"{url}/v1/kg/predict", json={**body, "graph": "nope"}, timeout=30)
        assert r.status_code == 404 and "not served" in r.json()["error"]["message"]
        r = httpx.post(f"{url}/v1/kg/predict", json={**body, "tail": "b1"}, timeout=30)
        assert r.status_code == 422 and "give head or tail" in r.json()["error"]["message"]
        r = httpx.post(f"{url}/v1/kg/predict", json={**body, "relation": "sister"}, timeout=30)
        assert r.status_code == 422 and "sister" in r.json()["error"]["message"]


def test_the_report_ranks_with_a_graph_model(
    trained: Path, graph: Path, encoder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "lp.json"
    spec.write_text(json.dumps({"name": "toy-lp", "type": "link-prediction",
                                "files": {"folder": str(graph)}, "options": {"split": "dev"}}))  # fmt: skip
    code, _, err = run(
        capsys, "eval", "run", "-m", f"graph={trained}", "-m", f"words={encoder}",
        "-t", str(spec), "-o", str(tmp_path / "report"),
    )  # fmt: skip
    assert code == 0, err
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    scores = {s["model"]: s for s in report["scores"]}
    assert scores["graph"]["metrics"]["main_metric"] == "mrr"
    assert scores["graph"]["metrics"]["triples"] == 2
    assert scores["graph"]["metrics"]["new_entities"] == 1  # a99, from its description
    assert 0 < scores["graph"]["main"] <= 1
    assert scores["words"]["main"] is None and "knowledge-graph model" in scores["words"]["skipped"]
