"""`embedlab train fasttext|glove` through the entry point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


@pytest.mark.parametrize("memory", [None, "16"])
def test_train_glove(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], memory: str | None
) -> None:
    out = tmp_path / "g.txt"
    budget = ["--memory", memory] if memory else []
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
        *budget,
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


def test_stopwords_lemmas_and_case_shape_the_vocabulary(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("The cats and the Dogs were running with the mice\n" * 60)
    base = ["-q", "train", "word2vec", str(corpus), "--dim", "8", "--min-count", "1"]
    assert _run(*base, "-o", str(tmp_path / "plain.txt"), "--epochs", "1") == 0
    plain = set(load_vectors(tmp_path / "plain.txt").index_to_key)
    assert {"the", "and", "cats", "dogs", "running"} <= plain
    args = ["--stopwords", "en", "--lemmatize", "en", "--epochs", "1"]
    assert _run(*base, "-o", str(tmp_path / "shaped.txt"), *args) == 0
    shaped = set(load_vectors(tmp_path / "shaped.txt").index_to_key)
    assert shaped == {"cat", "dog", "run", "mouse"}  # stop words gone, lemmas
    assert _run(*base, "-o", str(tmp_path / "cased.txt"), "--no-lowercase", "--epochs", "1") == 0
    assert {"The", "the", "Dogs"} <= set(load_vectors(tmp_path / "cased.txt").index_to_key)
    assert (
        _run(*base, "-o", str(tmp_path / "x.txt"), "--tokenizer", "whitespace", "--stopwords", "en")
        == 1
    )


def test_max_time_stops_training_and_saves_usable_vectors(tmp_path: Path) -> None:
    from embedlab.static import Word2Vec

    sentences = topic_corpus(sentences=20_000)
    model = Word2Vec(dim=16, min_count=1, epochs=500, workers=1, max_time=1.0, show_progress=False)
    model.fit(sentences)
    assert model.stopped_early_ and len(model.loss_history_) < 500
    assert model.vectors_.vectors.shape == (90, 16) and np.isfinite(model.vectors_.vectors).all()
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(s) for s in sentences) + "\n")
    out = tmp_path / "w.txt"
    args = ["-q", "train", "word2vec", str(corpus), "-o", str(out), "--min-count", "1"]
    assert _run(*args, "--dim", "16", "--epochs", "500", "--max-time", "1", "--workers", "1") == 0
    assert load_vectors(out).vectors.shape == (90, 16)


def test_glove_max_time_keeps_the_epochs_done() -> None:
    from embedlab.static import GloVe

    model = GloVe(dim=8, min_count=1, epochs=100_000, workers=1, max_time=0.5, show_progress=False)
    model.fit(topic_corpus(sentences=500))
    assert 0 < len(model.loss_history_) < 100_000 and np.isfinite(model.vectors_.vectors).all()
