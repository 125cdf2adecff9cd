"""The retention report: compressed variants evaluated beside their model, with size and speed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_sentence_tasks import CountingEncoder

from embedlab import Vectors
from embedlab.compress.codecs import parse_codecs
from embedlab.errors import ParameterError
from embedlab.evaluate.runner import evaluate

WORDS = ["cat", "act", "tac", "dog", "god", "odg", "fish", "shif", "bird", "drib", "lion", "loin"]


@pytest.fixture
def sts_spec(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(60):  # anagrams score high: bag-of-letters vectors see it, planted
        a, b = rng.choice(WORDS, 2, replace=False)
        rows.append(f"{a} {a},{b} {b},{5.0 if sorted(a) == sorted(b) else 0.5}")
    (tmp_path / "pairs.csv").write_text("a,b,s\n" + "\n".join(rows) + "\n")
    spec = tmp_path / "sts.json"
    spec.write_text(json.dumps({
        "type": "sts", "files": {"data": "pairs.csv"},
        "columns": {"text1": "a", "text2": "b", "score": "s"},
    }))  # fmt: skip
    return spec


def test_compressed_variants_are_evaluated_with_their_size_and_speed(sts_spec: Path) -> None:
    enc = CountingEncoder()
    report = evaluate({"letters": enc}, [str(sts_spec)], compress="float16,int8,binary,pca:8")
    assert enc.calls == len(WORDS)  # the variants reuse the model's vectors: nothing re-encoded
    assert report.models() == [
        "letters",
        *(f"letters~{c}" for c in ("float16", "int8", "binary", "pca:8")),
    ]
    facts = report.variants
    assert [
        facts[f"letters~{c}"]["bytes_per_vector"] for c in ("float16", "int8", "binary", "pca:8")
    ] == [52, 26, 4, 32]
    assert all(f["queries_per_s"] > 0 and f["index_bytes"] > 0 for f in facts.values())
    kept = {r["compression"]: r["mean_retained"] for r in report.retention()}
    assert kept["float16"] > 0.999 and kept["int8"] > 0.99
    assert kept["binary"] > 0.9  # signs of letter counts: the set of letters, enough for anagrams
    table = report.retention_markdown()
    assert "| letters~int8 | 26 |" in table and "| mean |" in table


def test_word_vectors_are_compressed_as_a_table(tmp_path: Path) -> None:
    (tmp_path / "pairs.txt").write_text("cat\tact\t9\ncat\tdog\t1\ndog\tgod\t8\nact\tgod\t2\n")
    spec = tmp_path / "w.json"
    spec.write_text(json.dumps({"type": "word-similarity", "files": {"data": "pairs.txt"}}))
    rng = np.random.default_rng(1)
    base = rng.normal(size=(2, 16))
    rows = np.vstack([base[0], base[0] + 0.1, base[1], base[1] + 0.1])
    vecs = Vectors(["cat", "act", "dog", "god"], rows + 0.01 * rng.normal(size=(4, 16)))
    report = evaluate({"v": vecs}, [str(spec)], compress=["int8", "dims:8"])
    assert report.get("v~int8", "w").main == pytest.approx(report.get("v", "w").main)
    assert report.variants["v~dims:8"]["bytes_per_vector"] == 32


def test_retention_files_and_errors(sts_spec: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from embedlab.evaluate.report_files import save_report

    report = evaluate({"letters": CountingEncoder()}, [str(sts_spec)], compress="int8")
    names = [p.name for p in save_report(report, tmp_path / "out")]
    assert "retention.md" in names and "retention.png" in names
    assert json.loads((tmp_path / "out" / "report.json").read_text())["variants"]["letters~int8"]
    with pytest.raises(ParameterError, match="unknown compression 'int4'"):
        parse_codecs("int8,int4")
    with pytest.raises(ParameterError, match="named twice"):
        parse_codecs("int8,int8")
    with pytest.raises(ParameterError, match="only 26 dimensions"):
        evaluate({"letters": CountingEncoder()}, [str(sts_spec)], compress="dims:64")


def test_cli_eval_run_compress_prints_the_retention_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from clirun import run
    from embedlab import save_vectors

    (tmp_path / "pairs.txt").write_text("cat\tact\t9\ncat\tdog\t1\ndog\tgod\t8\nact\tgod\t2\n")
    spec = tmp_path / "w.json"
    spec.write_text(json.dumps({"type": "word-similarity", "files": {"data": "pairs.txt"}}))
    rng = np.random.default_rng(1)
    save_vectors(
        Vectors(["cat", "act", "dog", "god"], rng.normal(size=(4, 16))), tmp_path / "v.txt"
    )
    code, out, err = run(
        capsys, "eval", "run", "-m", f"v={tmp_path / 'v.txt'}", "-t", str(spec),
        "--compress", "int8,binary",
    )  # fmt: skip
    assert code == 0, err
    assert (
        "What compression keeps" in out and "| v~int8 | 16 |" in out and "| v~binary | 2 |" in out
    )
