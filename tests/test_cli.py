"""The CLI through its entry point: output, exit codes, and errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clirun import run
from embedlab import Vectors, load_vectors, save_vectors


@pytest.fixture
def vec_file(tmp_path: Path, planted: Vectors) -> Path:
    path = tmp_path / "planted.bin"
    save_vectors(planted, path)
    return path


def test_info(capsys: pytest.CaptureFixture[str], vec_file: Path) -> None:
    code, out, _ = run(capsys, "info", str(vec_file))
    assert code == 0
    assert "format:  word2vec-binary" in out and "rows:    51" in out and "dim:     16" in out
    assert "keys:    the, man, woman" in out


def test_convert_any_to_any(
    capsys: pytest.CaptureFixture[str], vec_file: Path, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "convert", str(vec_file), str(tmp_path / "n.embedlab"))
    assert code == 0 and "wrote 51 x 16 vectors" in out
    code, _, _ = run(
        capsys,
        "convert",
        str(tmp_path / "n.embedlab"),
        str(tmp_path / "g.txt"),
        "--to",
        "glove",
        "--limit",
        "5",
    )
    assert code == 0
    g = load_vectors(tmp_path / "g.txt", format="glove")
    np.testing.assert_array_equal(g.vectors, load_vectors(vec_file).vectors[:5])


def test_similar_and_analogy(capsys: pytest.CaptureFixture[str], vec_file: Path) -> None:
    code, out, _ = run(capsys, "similar", str(vec_file), "cat", "-n", "2")
    assert code == 0 and out.split()[0] == "kitten" and len(out.strip().splitlines()) == 2
    code, out, _ = run(
        capsys, "similar", str(vec_file), "king", "woman", "--minus", "man", "-n", "1"
    )
    assert out.split()[0] == "queen"
    code, out, _ = run(
        capsys, "similar", str(vec_file), "man", "king", "woman", "--analogy", "--method", "3cosmul"
    )
    assert code == 0 and "man : king :: woman : ?" in out and "queen" in out


def test_eval_words_side_by_side(
    capsys: pytest.CaptureFixture[str], vec_file: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.txt"
    save_vectors(load_vectors(vec_file), other)
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("cat kitten 9\nking queen 6\nman filler3 1\n")
    code, out, _ = run(
        capsys,
        "eval",
        "words",
        str(vec_file),
        str(other),
        "-s",
        str(pairs),
        "-a",
        "google",
        "--json",
        str(tmp_path / "r.json"),
        "--sections",
    )
    assert code == 0
    assert out.splitlines()[0].split() == ["task", "dataset", "metric", "planted.bin", "other.txt"]
    assert set(json.loads((tmp_path / "r.json").read_text())) == {"planted.bin", "other.txt"}


def test_exports(capsys: pytest.CaptureFixture[str], vec_file: Path, tmp_path: Path) -> None:
    code, out, _ = run(
        capsys, "export", "projector", str(vec_file), str(tmp_path / "proj"), "--limit", "10"
    )
    assert code == 0 and "wrote 10 rows" in out
    assert len((tmp_path / "proj" / "metadata.tsv").read_text().splitlines()) == 10
    code, _, _ = run(capsys, "export", "keras", str(vec_file), str(tmp_path / "keras"))
    assert code == 0 and np.load(tmp_path / "keras" / "embedding_matrix.npy").shape == (53, 16)


def test_user_errors_print_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\na 1 2 3\nb 1 2\n")
    code, out, err = run(capsys, "info", str(bad))
    assert code == 1 and "Traceback" not in err and out == ""
    assert err.strip() == f"FormatError: {bad}, line 3: expected 3 floats after the key, found 2"
    code, _, err = run(capsys, "info", str(tmp_path / "missing.vec"))
    assert code == 1 and err.startswith("FileNotFoundError: No such file or folder")
    code, _, err = run(capsys, "similar", str(bad.with_name("x.bin")), "a")
    assert code == 1
    good = tmp_path / "g.txt"
    save_vectors(Vectors(["a", "b"], [[1.0], [2.0]]), good)
    code, _, err = run(capsys, "similar", str(good), "zzz")
    assert code == 1 and err.strip() == "KeyNotFoundError: 'zzz' is not in the vocabulary (2 keys)"
    code, _, err = run(capsys, "similar", str(good), "a", "b", "--analogy")
    assert code == 1 and err.startswith("ParameterError: --analogy takes exactly three words")


def test_help_everywhere_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["--help"],
        ["eval", "words", "--help"],
        ["export", "--help"],
        ["convert", "--help"],
    ):
        code, out, _ = run(capsys, *argv)
        assert code == 0 and "Usage" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("embedlab ")
    code, _, err = run(capsys, "info")
    assert code == 2 and "Missing argument" in err


def test_console_script_entry_point(vec_file: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "embedlab", "-q", "info", str(vec_file)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and "rows:    51" in out.stdout


def test_demo_trains_and_evaluates_on_the_bundled_sample(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "-q", "demo")
    assert code == 0
    assert "1,137,176 tokens" in out and "loss per epoch" in out
    assert "he : his :: she : her" in out
    assert "identical: True" in out and "identical: False" not in out
    assert "similarity  ws353" in out and "trained now (1.1M words)" in out
    if "skipped:" not in out:  # the sentence part needs the torch extra
        ranked = out.split("question: How do I reset my password?")[1].splitlines()
        assert "password" in ranked[1] and "password" in ranked[2]  # both password answers first
        assert "contextual cosine" in out
        faq = out.split("== 7. FAQ answering")[1]
        assert "precision" in faq and "coverage" in faq
        answers = faq.split("Q: ")[1:]
        assert "Forgot password" in answers[0] and "Track your parcel" in answers[1]
        assert "PayPal" in answers[2] and "no confident answer" in answers[3]
