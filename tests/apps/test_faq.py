"""FAQ answering: hybrid ranking, confident / not confident, calibration, Chinese, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedlab.apps import FAQ
from embedlab.errors import ParameterError
from toyencoders import WordHash

pytest.importorskip("hnswlib")

ROWS = [
    ("how do i reset my password", "Use the 'forgot password' link.", "pw"),
    ("i forgot my password", "Use the 'forgot password' link.", "pw"),
    ("where is my parcel", "Track it with the number in your email.", "parcel"),
    ("track my order", "Track it with the number in your email.", "parcel"),
    ("which cards do you accept", "Visa, Mastercard and PayPal.", "pay"),
    ("can i pay by card", "Visa, Mastercard and PayPal.", "pay"),
    ("如何修改密码", "在设置中修改密码。", "zh-pw"),
]


def make(folder: Path) -> FAQ:
    q, a, ids = zip(*ROWS)
    return FAQ.build(folder, WordHash(), list(q), list(a), answer_ids=list(ids))


def test_ask_ranks_answers_and_groups_phrasings(tmp_path: Path) -> None:
    faq = make(tmp_path / "faq")
    assert len(faq) == 4
    r = faq.ask("reset password", k=3)
    assert r.answered and r.best is not None and r.best.id == "pw"
    assert (
        r.best.text == "Use the 'forgot password' link." and "password" in r.best.matched_question
    )
    assert len({a.id for a in r.answers}) == len(r.answers)  # one entry per answer
    assert faq.ask("密码", k=1).answers[0].id == "zh-pw"  # BM25 segments Chinese with jieba
    faq.threshold = 0.99
    unsure = faq.ask("reset password")
    assert not unsure.answered and unsure.best is None and unsure.answers[0].id == "pw"


def test_grouping_by_answer_text_and_bad_input(tmp_path: Path) -> None:
    faq = FAQ.build(tmp_path / "f", WordHash(), ["a b", "a c", "d e"], ["A", "A", "D"])
    assert faq.answers == {"a0": "A", "a1": "D"}
    with pytest.raises(ParameterError, match="same length"):
        FAQ.build(tmp_path / "g", WordHash(), ["x"], ["X", "Y"])
    with pytest.raises(ParameterError, match="answer id 'p' has two different answer texts"):
        FAQ.build(tmp_path / "h", WordHash(), ["x", "y"], ["X", "Y"], answer_ids=["p", "p"])


def test_calibration_sets_the_lowest_threshold_reaching_the_target(tmp_path: Path) -> None:
    faq = make(tmp_path / "faq")
    held = [
        ("reset the password", "pw"),
        ("parcel tracking", "parcel"),
        ("accept cards", "pay"),
        ("weather tomorrow", ""),  # "": no answer is right
        ("tell me a joke", ""),
    ]
    cal = faq.calibrate([q for q, _ in held], [a for _, a in held], target_precision=1.0)
    assert cal.precision == 1.0 and 0 < cal.coverage <= 0.6
    results = [faq.ask(q) for q, _ in held]
    assert all(
        r.best is not None and r.best.id == a for r, (_, a) in zip(results, held) if r.answered
    )
    assert not faq.ask("weather tomorrow").answered
    report = faq.evaluate([q for q, _ in held], [a for _, a in held])
    assert report["precision"] == 1.0 and report["coverage"] == pytest.approx(cal.coverage)
    assert 0 < report["mrr_at_10"] <= 1 and report["accuracy_at_1"] <= report["mrr_at_10"]
    for mode in ("dense", "sparse", "hybrid"):  # each ranking alone, or fused
        got = faq.ask("accept cards", 2, mode=mode)  # type: ignore[arg-type]
        assert got.answers[0].id == "pay" and len(got.answers) <= 2
        one = faq.evaluate([q for q, _ in held], [a for _, a in held], k=3, mode=mode)  # type: ignore[arg-type]
        assert set(one) >= {"accuracy_at_1", "mrr_at_3"}
    with pytest.raises(ParameterError, match=r"'mode'.*'hybrid', 'dense', 'sparse'"):
        faq.ask("x", mode="bm25")  # type: ignore[arg-type]
    back = FAQ.open(tmp_path / "faq", WordHash())  # the threshold is saved with the FAQ
    assert back.threshold == pytest.approx(cal.threshold)
    with pytest.raises(ParameterError, match="answer ids not in this FAQ"):
        faq.calibrate(["x"], ["nope"])


def test_cli_faq_build_ask_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    from clirun import run
    from embedlab import Vectors
    from embedlab.encoders import StaticEncoder

    words = sorted({w for q, _, _ in ROWS[:6] for w in q.split()} | {"reset", "password", "parcel"})
    rng = np.random.default_rng(0)
    StaticEncoder(
        Vectors(words, rng.normal(size=(len(words), 16)).astype(np.float32)), name="toy"
    ).save(tmp_path / "toy")
    src = tmp_path / "faq.csv"
    src.write_text(
        "question,answer,id\n" + "\n".join(f'"{q}","{a}",{i}' for q, a, i in ROWS[:6]) + "\n"
    )
    code, out, err = run(
        capsys, "faq", "build", str(src), "-o", str(tmp_path / "f"), "-m", str(tmp_path / "toy")
    )
    assert code == 0, err
    assert "3 answers from 6 questions" in out
    code, out, err = run(capsys, "faq", "ask", str(tmp_path / "f"), "reset password")
    assert code == 0, err
    assert "forgot password" in out
    held = tmp_path / "held.csv"
    held.write_text("question,id\nreset the password,pw\nparcel where,parcel\n")
    code, out, err = run(
        capsys,
        "faq",
        "eval",
        str(tmp_path / "f"),
        str(held),
        "--calibrate",
        "--target-precision",
        "1.0",
    )
    assert code == 0, err
    assert "threshold" in out and "coverage" in out
