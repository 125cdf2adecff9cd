"""``embedlab align`` and ``embedlab eval translate`` on planted rotated vocabularies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import run
from embedlab import load_vectors, save_vectors

from .test_align import _languages


def test_align_then_eval_translate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src, tgt, pairs = _languages(noise=0.1)
    save_vectors(src, tmp_path / "src.vec")
    save_vectors(tgt, tmp_path / "tgt.bin")
    (tmp_path / "train.txt").write_text("".join(f"{s}\t{t}\n" for s, t in pairs[:150]))
    (tmp_path / "test.txt").write_text("".join(f"{s}\t{t}\n" for s, t in pairs[300:]))
    code, out, err = run(
        capsys, "align", str(tmp_path / "src.vec"), str(tmp_path / "tgt.bin"),
        "-d", str(tmp_path / "train.txt"), "-o", str(tmp_path / "al"), "--refine", "1",
    )  # fmt: skip
    assert code == 0, err
    assert "aligned 400 x 24 onto 400 words from 150 dictionary pairs" in out
    info = json.loads((tmp_path / "al" / "align.json").read_text())
    assert info["seed_pairs"] == 150 and len(info["pairs_per_round"]) == 2
    losses = info["rcsls_losses"]
    assert info["objective"] == "rcsls" and len(losses) >= 2 and losses[-1] < losses[0]
    assert load_vectors(tmp_path / "al" / "source.embedlab").dim == 24
    code, out, _ = run(
        capsys, "eval", "translate", str(tmp_path / "al"), "-d", str(tmp_path / "test.txt")
    )
    assert code == 0
    assert "| nn | 100.00 | 100.00 | 100.00 | 100 (100% of the test words) |" in out
    assert "| csls | 100.00 |" in out
    (tmp_path / "wrong.txt").write_text("cat\tchat\n")
    code, _, err = run(
        capsys, "align", str(tmp_path / "src.vec"), str(tmp_path / "tgt.bin"),
        "-d", str(tmp_path / "wrong.txt"), "-o", str(tmp_path / "x"),
    )  # fmt: skip
    assert code == 1 and "none of the 1 dictionary pairs has both words" in err
    assert not (tmp_path / "x").exists()


def test_align_objective_is_checked_and_procrustes_skips_rcsls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src, tgt, pairs = _languages(noise=0.1)
    save_vectors(src, tmp_path / "src.vec")
    save_vectors(tgt, tmp_path / "tgt.vec")
    (tmp_path / "train.txt").write_text("".join(f"{s}\t{t}\n" for s, t in pairs[:150]))
    base = ["align", str(tmp_path / "src.vec"), str(tmp_path / "tgt.vec"), "-d"]
    base += [str(tmp_path / "train.txt")]
    code, _, err = run(capsys, *base, "-o", str(tmp_path / "a"), "--objective", "lbfgs")
    assert code == 1 and "objective" in err and "rcsls" in err
    code, _, err = run(capsys, *base, "-o", str(tmp_path / "b"), "--objective", "procrustes")
    assert code == 0, err
    assert json.loads((tmp_path / "b" / "align.json").read_text())["rcsls_losses"] == []
