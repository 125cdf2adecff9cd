"""Multilingual distillation on a planted "language": each word replaced by another word."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .conftest import SENTENCES

pytest.importorskip("torch")

from embedlab.encoders import TransformerEncoder, distill
from embedlab.encoders.multilingual import distill_parallel
from embedlab.errors import ParameterError


def _cipher(texts: list[str]) -> list[str]:
    """The same sentences in a "language" whose words are other English words (a derangement)."""
    words = sorted({w for t in texts for w in t.split()})
    other = dict(zip(words, words[7:] + words[:7], strict=True))
    return [" ".join(other[w] for w in t.split()) for t in texts]


def _match(a: np.ndarray, b: np.ndarray) -> float:
    """How often each row of ``a`` is nearest to its own row of ``b``."""
    return float(np.mean(np.argmax(a @ b.T, axis=1) == np.arange(len(a))))


def test_the_student_learns_to_put_translations_where_the_teacher_puts_sources(
    tiny_bert: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    teacher = TransformerEncoder(tiny_bert)
    student = distill(teacher, dims=None, sif_coefficient=None)
    translated = _cipher(SENTENCES)
    want = teacher.encode(SENTENCES, normalize=True)
    before = student.encode(translated)
    multi = distill_parallel(teacher, student, SENTENCES, translated, l2=0.01)
    after = multi.encode(translated)
    assert _match(after, want) == 1.0 and _match(after, want) > _match(before, want)
    gain = np.sum(after * want, axis=1).mean() - np.sum(before * want, axis=1).mean()
    assert gain > 0.1
    assert multi.dim == teacher.dim and "multilingual" in multi.name

    from clirun import run

    (tmp_path / "en.txt").write_text("\n".join(SENTENCES) + "\n")
    (tmp_path / "xx.txt").write_text("\n".join(translated) + "\n")
    code, out, err = run(
        capsys, "-q", "distill", "-m", str(tiny_bert), "-o", str(tmp_path / "multi"),
        "--parallel", str(tmp_path / "en.txt"), "--parallel", str(tmp_path / "xx.txt"),
    )  # fmt: skip
    assert code == 0, err
    assert f"trained on {len(SENTENCES)} sentence pairs" in out
    (tmp_path / "short.txt").write_text("\n".join(translated[:-1]) + "\n")
    code, _, err = run(
        capsys, "distill", "-m", str(tiny_bert), "-o", str(tmp_path / "x"),
        "--parallel", str(tmp_path / "en.txt"), "--parallel", str(tmp_path / "short.txt"),
    )  # fmt: skip
    assert code == 1 and "are not line-aligned" in err


def test_errors(tiny_bert: Path) -> None:
    teacher = TransformerEncoder(tiny_bert)
    narrow = distill(teacher, dims=8)
    with pytest.raises(ParameterError, match="at the teacher's width"):
        distill_parallel(teacher, narrow, ["a"], ["b"])
    with pytest.raises(ParameterError, match="as many translations as sources"):
        distill_parallel(teacher, narrow, ["a", "b"], ["c"])
