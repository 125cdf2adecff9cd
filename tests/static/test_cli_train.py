"""`embedlab train fasttext|glove` through the entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from planted import topic_corpus

from embedlab import SubwordVectors, load_vectors
from embedlab.cli import main


def _run(*argv: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    return int(done.value.code or 0)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(s) for s in topic_corpus(sentences=500)) + "\n")
    return path


def test_train_fasttext_keeps_ngrams_in_a_native_folder(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "ft"
    code = _run(
        "-q",
        "train",
        "fasttext",
        str(corpus),
        "-o",
        str(out),
        "--dim",
        "12",
        "--min-count",
        "1",
        "--epochs",
        "2",
        "--bucket",
        "2000",
        "--workers",
        "1",
    )
    assert code == 0
    v = load_vectors(out)
    assert isinstance(v, SubwordVectors) and v.bucket == 2000 and v["never_seen"].shape == (12,)


def test_train_glove(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.txt"
    code = _run(
        "-q",
        "train",
        "glove",
        str(corpus),
        "-o",
        str(out),
        "--dim",
        "10",
        "--min-count",
        "1",
        "--epochs",
        "3",
        "--window",
        "4",
    )
    assert code == 0 and "loss per epoch" in capsys.readouterr().out
    assert load_vectors(out).dim == 10


def test_a_leftover_checkpoint_is_not_overwritten_without_resume(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "w.txt"
    ckpt = tmp_path / "w.txt.ckpt"
    ckpt.mkdir()
    (ckpt / "state.json").write_text("{}")  # an earlier run was killed after an epoch
    args = ["train", "word2vec", str(corpus), "-o", str(out), "--dim", "8", "--min-count", "1"]
    assert _run("-q", *args, "--epochs", "1") == 1
    assert "pass --resume to continue it, or delete the folder" in capsys.readouterr().err
    assert (ckpt / "state.json").read_text() == "{}" and not out.exists()
    (ckpt / "state.json").unlink()
    assert _run("-q", *args, "--epochs", "1", "--resume") == 1
    assert "holds no checkpoint to resume from" in capsys.readouterr().err
