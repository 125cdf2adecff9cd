"""``embedlab pretrain|finetune|predict`` through the CLI entry point, on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from clirun import run

from .conftest import planted_lines, sentiment

QUIET = ["--quiet"]
FAST = ["--precision", "fp32", "--every", "100"]


def test_pretrain_mlm_and_bilm_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(planted_lines(200)) + "\n")
    code, out, err = run(
        capsys, *QUIET, "pretrain", "mlm", str(corpus), "-o", str(tmp_path / "mlm"),
        "--vocab-size", "100", "--hidden", "32", "--layers", "2", "--heads", "2",
        "--block-size", "32", "--max-steps", "3", "--batch-size", "8", *FAST,
    )  # fmt: skip
    assert code == 0, err
    assert "wordpiece tokenizer" in out and "3 steps" in out
    assert (tmp_path / "mlm" / "model" / "model.safetensors").exists()
    code, out, err = run(
        capsys, *QUIET, "pretrain", "bilm", str(corpus), "-o", str(tmp_path / "bilm"),
        "--lstm-dim", "16", "--proj-dim", "8", "--window", "12", "--max-steps", "2",
        "--batch-size", "4", "--every", "100",
    )  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "bilm" / "model" / "bilm.json").exists() and "2 steps" in out


def test_finetune_classify_then_predict(
    tmp_path: Path, tiny_bert_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts, labels = sentiment(120, 6)
    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(json.dumps({"review": t, "y": y}) + "\n" for t, y in zip(texts, labels))
    )
    out_dir = tmp_path / "clf"
    code, out, err = run(
        capsys, *QUIET, "finetune", "classify", str(tiny_bert_dir), str(data), "-o", str(out_dir),
        "--text", "review", "--label", "y", "--epochs", "1", "--batch-size", "16", *FAST,
    )  # fmt: skip
    assert code == 0, err
    assert "validation: accuracy" in out and "confusion.png" in out
    code, out, err = run(capsys, "predict", str(out_dir / "model"), "a wonderful film", "boring")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[0].split("\t")[0] in ("pos", "neg")
    assert lines[0].endswith("a wonderful film")
    result = tmp_path / "pred.jsonl"
    code, out, err = run(
        capsys, "predict", str(out_dir / "model"), "-i", str(data), "--text", "review",
        "-o", str(result),
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in result.read_text().splitlines()]
    assert len(rows) == 120 and {"text", "label", "score"} <= set(rows[0])
    code, _, err = run(capsys, "predict", str(out_dir / "model"))
    assert code != 0 and "give TEXTS or --input FILE" in err


def test_finetune_contrastive_command(
    tmp_path: Path, tiny_bert_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = tmp_path / "pairs.tsv"
    rows = [f"the {a} chase the {b} .\t{b} fear {a}\n" for a in ("cats", "dogs", "owls")
            for b in ("mice", "seals")]  # fmt: skip
    pairs.write_text("q\tp\n" + "".join(rows))
    code, out, err = run(
        capsys, *QUIET, "finetune", "contrastive", str(tiny_bert_dir), str(pairs),
        "-o", str(tmp_path / "c"), "--anchor", "q", "--positive", "p", "--batch-size", "3",
        "--max-steps", "2", *FAST,
    )  # fmt: skip
    assert code == 0, err
    assert "2 steps" in out and (tmp_path / "c" / "model" / "modules.json").exists()
