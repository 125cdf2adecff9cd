"""``embedlab kg train|eval|predict`` end to end on the planted graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import run
from embedlab import load_vectors


def test_train_eval_predict(
    graph: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (graph / "dev.tsv").write_text("a1\ttwin\tb7\n")
    out = tmp_path / "model"
    argv = [
        "kg", "train", str(graph), "-o", str(out), "--model", "rotate", "--dim", "8",
        "--negatives", "8", "--epochs", "60", "--lr", "0.02", "--batch-size", "16",
        "--workers", "1",
    ]  # fmt: skip
    code, stdout, err = run(capsys, *argv)
    assert code == 0, err
    assert (
        "RotatE(dim=8, loss='nssa', negatives=8) on 112 triples, 80 entities, 3 relations: "
        in stdout
    )
    assert "60 epochs" in stdout and "dev (1 triples, filtered, realistic ranks)" in stdout
    assert not (tmp_path / "model.ckpt").exists()  # the checkpoint goes once the model is saved
    assert load_vectors(out / "entities").dim == 16
    code, stdout, err = run(capsys, "kg", "eval", str(out), str(graph), "--json")
    assert code == 0, err
    metrics = json.loads(stdout)["metrics"]
    assert metrics["tail"]["count"] == 8 and metrics["tail"]["mrr"] > 0.5
    code, stdout, err = run(
        capsys, "kg", "predict", str(out), "thing number 3", "twin", "?", "-k", "2",
        "--text", str(graph / "entity2text.txt"),
    )  # fmt: skip
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0] == "(a3, twin, ?)  a3: thing number 3, an a"
    assert lines[1].startswith("  1. b21  ") and lines[1].endswith("place number 21, a b")
    code, stdout, err = run(
        capsys, "kg", "predict", str(out), "a3", "pair", "?", "--new-only", str(graph / "train.tsv")
    )
    assert code == 0, err
    assert "b21" not in stdout  # a known answer is not a prediction


def test_cli_errors_are_one_line(
    graph: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train.tsv").write_text("a\tr\tb\nc\td\n")
    code, _, err = run(capsys, "kg", "train", str(bad), "-o", str(tmp_path / "m"), "--epochs", "1")
    assert code != 0
    assert (
        "train.tsv, line 2: expected 3 tab-separated fields (head, relation, tail), found 2" in err
    )
    assert "Traceback" not in err
    code, _, err = run(capsys, "kg", "train", str(graph), "-o", str(tmp_path / "m"), "--model", "x")
    assert code != 0 and "--model must be one of transe, distmult, complex, rotate" in err
    out = tmp_path / "m2"
    code, _, err = run(
        capsys, "kg", "train", str(graph), "-o", str(out), "--epochs", "1", "--dim", "4"
    )
    assert code == 0, err
    code, _, err = run(capsys, "kg", "predict", str(out), "a1", "pair", "b1")
    assert code != 0 and "put ? in exactly one place" in err
    code, _, err = run(
        capsys, "kg", "predict", str(out), "place number", "pair", "?",
        "--text", str(graph / "entity2text.txt"),
    )  # fmt: skip
    assert code != 0 and "no entity is named 'place number'" in err
    (graph / "entity2text.txt").write_text("a1\tshared, one\na2\tshared, two\n")
    code, _, err = run(
        capsys, "kg", "predict", str(out), "Shared", "pair", "?",
        "--text", str(graph / "entity2text.txt"),
    )  # fmt: skip
    assert code != 0 and "'Shared' names 2 entities: a1 (shared, one); a2 (shared, two)" in err
