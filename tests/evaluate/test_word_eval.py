from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from embedlab import Vectors
from embedlab.errors import FormatError, ParameterError
from embedlab.evaluate import (
    AnalogySet,
    evaluate_words,
    format_table,
    load_analogies,
    load_word_pairs,
    word_analogy,
    word_similarity,
)


def test_builtin_datasets_load() -> None:
    assert len(load_word_pairs("ws353")) == 353
    assert len(load_word_pairs("ws353-sim")) == 203 and len(load_word_pairs("ws353-rel")) == 252
    assert len(load_word_pairs("simlex999")) == 999
    google = load_analogies("google")
    assert len(google) == 19544 and len(google.sections) == 14
    assert google.sections[0][0] == "capital-common-countries"
    assert google.sections[0][1][0] == ("Athens", "Greece", "Baghdad", "Iraq")
    with pytest.raises(ParameterError, match="neither a built-in dataset"):
        load_word_pairs("ws999")


@pytest.mark.parametrize(
    "content",
    [
        "a\tb\t1.5\nc\td\t2\n",
        'word1,word2,score\na,b,1.5\n"c",d,2\n',
        "# comment\na b 1.5\nc d 2\n",
        "Word 1\tWord 2\tPOS\tSimLex999\na\tb\tN\t1.5\nc\td\tN\t2\n",
    ],
)
def test_word_pair_layouts(tmp_path: Path, content: str) -> None:
    p = tmp_path / "pairs.txt"
    p.write_text(content)
    pairs = load_word_pairs(p)
    assert pairs.pairs == [("a", "b"), ("c", "d")] and pairs.scores.tolist() == [1.5, 2.0]


def test_loader_errors(tmp_path: Path) -> None:
    p = tmp_path / "bad.txt"
    p.write_text("a b 1\nc d x\n")
    with pytest.raises(
        FormatError, match=r"bad.txt, line 2: expected a number in column 3, found 'x'"
    ):
        load_word_pairs(p)
    q = tmp_path / "q.txt"
    q.write_text(": s1\na b c d\na b c\n")
    with pytest.raises(FormatError, match=r"q.txt, line 3: expected 4 words 'a b c d', found 3"):
        load_analogies(q)
    r = tmp_path / "plain.csv"
    r.write_text("a,b,c,d\n")
    assert load_analogies(r).sections == [("plain.csv", [("a", "b", "c", "d")])]


def test_similarity_golden(tmp_path: Path) -> None:
    v = Vectors(["a", "b", "c", "d"], [[1, 0], [1, 1], [0, 1], [-1, 0.2]])
    p = tmp_path / "p.txt"
    p.write_text("a b 8\na c 5\nA D 1\nb zz 3\n")  # case folded; one OOV pair
    r = word_similarity(v, p)
    cos = [1 / np.sqrt(2), 0.0, -1 / np.sqrt(1.04)]
    assert r.spearman == pytest.approx(1.0)
    assert r.pearson == pytest.approx(stats.pearsonr([8, 5, 1], cos).statistic, abs=1e-6)
    assert (r.pairs, r.evaluated, r.oov_pairs) == (4, 3, 1) and "skipped" in r.oov_policy
    with pytest.raises(ParameterError, match="only 1 of 4 pairs"):
        word_similarity(v.subset(["a", "b"]), p)
    assert word_similarity(v, p, case_insensitive=False).evaluated == 2


def test_analogy_on_planted_vectors(planted: Vectors) -> None:
    data = AnalogySet(
        "planted",
        [
            ("royal", [("man", "king", "woman", "queen"), ("woman", "queen", "man", "king")]),
            ("capital", [("france", "paris", "italy", "rome"), ("x", "y", "z", "w")]),
        ],
    )
    for method in ("3cosadd", "3cosmul"):
        r = word_analogy(planted, data, method=method)  # type: ignore[arg-type]
        assert (r.correct, r.evaluated, r.questions, r.oov_questions) == (3, 3, 4, 1)
        assert [(s.section, s.correct, s.evaluated) for s in r.sections] == [
            ("royal", 2, 2),
            ("capital", 1, 1),
        ]
    # restricting the vocabulary hides the answers (and questions) beyond the first rows
    small = word_analogy(planted, data, restrict_vocab=5)
    assert small.evaluated == 2 and small.correct == 2


def test_analogy_never_answers_a_question_word() -> None:
    # 'b' is closest to b - a + c, but question words are excluded: the answer must be 'd'
    v = Vectors(["a", "b", "c", "d"], [[1, 0, 0], [0, 1, 0], [0.1, 0.1, 1], [0.0, 0.9, 0.5]])
    r = word_analogy(v, AnalogySet("t", [("s", [("a", "b", "c", "d")])]))
    assert r.correct == 1


def test_report_table_and_json(planted: Vectors, tmp_path: Path) -> None:
    pairs = tmp_path / "p.txt"
    pairs.write_text("cat kitten 9\nking queen 6\nman filler3 1\n")
    report = evaluate_words(planted, name="planted", similarity=[pairs], analogies=["google"])
    table = report.table()
    assert table.splitlines()[0].split() == ["task", "dataset", "metric", "planted"]
    assert "p.txt" in table and "acc 3cosadd" in table
    report.save_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["similarity"][0]["dataset"] == "p.txt" and data["analogy"][0]["dataset"] == "google"
    both = format_table({"one": report, "two": report})
    assert both.splitlines()[0].split()[-2:] == ["one", "two"]
