"""Sentence-level tasks: loaders, metrics against reference implementations, specs, the runner."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.errors import FormatError, ParameterError
from embedlab.evaluate.classification import cluster_scores, probe_scores
from embedlab.evaluate.retrieval import (
    load_beir,
    load_faq,
    load_stackfaq,
    retrieval_metrics,
    search,
)
from embedlab.evaluate.runner import evaluate
from embedlab.evaluate.sentence import docsim_scores, pair_scores, sts_scores
from embedlab.evaluate.tasks import load_task, resolve_tasks
from embedlab.records import read_columns


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# -- loaders ----------------------------------------------------------------------------------
def test_quoted_csv_without_header_and_numeric_scores(tmp_path: Path) -> None:
    p = tmp_path / "sts.csv"
    p.write_text('"A man, a plan",A canal,4.5\n"He said ""hi""","multi\nline",0\n')
    got = read_columns(p, {"a": 0, "b": 1, "s": 2}, numeric=["s"])
    assert got == {
        "a": ["A man, a plan", 'He said "hi"'],
        "b": ["A canal", "multi\nline"],
        "s": [4.5, 0.0],
    }


def test_header_is_guessed_and_named_columns_work(tmp_path: Path) -> None:
    p = tmp_path / "d.tsv"
    p.write_text("\ufeffsentence\tscore\nfirst\t1\nsecond\t2\n")
    assert read_columns(p, {"t": 0, "s": 1}, numeric=["s"]) == {
        "t": ["first", "second"],
        "s": [1.0, 2.0],
    }
    assert read_columns(p, {"t": "sentence"})["t"] == ["first", "second"]


@pytest.mark.parametrize(
    ("content", "columns", "message"),
    [
        (
            "a,b\nx,1\n",
            {"t": "a", "s": "gold"},
            r"d.csv, line 1: expected a column 'gold' \(s\) in the header",
        ),
        (
            "x,1\ny,high\n",
            {"t": 0, "s": 1},
            r"d.csv, line 2: column 's': expected a number, found 'high'",
        ),
        ("x,1\ny\n", {"t": 0, "s": 1}, r"d.csv, line 2: column 's' \(position 1\) is missing"),
        ("", {"t": 0, "s": 1}, r"d.csv: no data rows"),
        ("x,nan\n", {"t": 0, "s": 1}, r"d.csv, line 1: column 's': expected a finite number"),
    ],
)
def test_malformed_files_name_file_row_and_column(
    tmp_path: Path, content: str, columns: dict[str, str | int], message: str
) -> None:
    p = tmp_path / "d.csv"
    p.write_text(content)
    with pytest.raises(FormatError, match=message):
        read_columns(p, columns, numeric=["s"])


def test_jsonl_missing_field(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text('{"q": "a", "label": 1}\n{"q": "b"}\n')
    with pytest.raises(FormatError, match=r"d.jsonl, line 2: expected a field 'label' \(y\)"):
        read_columns(p, {"x": "q", "y": "label"})


# -- metrics against references ---------------------------------------------------------------
def test_sts_is_spearman_and_pearson_of_cosine() -> None:
    a = unit(np.array([[1, 0], [1, 1], [0, 1], [1, 2]], float))
    b = unit(np.array([[1, 0], [1, 0], [1, 0], [1, 0]], float))
    r = sts_scores(a, b, [5, 3.5, 0, 2])
    assert r.spearman == pytest.approx(1.0) and r.pairs == 4
    cos = np.array([1, math.sqrt(0.5), 0, 1 / math.sqrt(5)])
    assert r.pearson == pytest.approx(np.corrcoef(cos, [5, 3.5, 0, 2])[0, 1])


def test_pair_scores_match_brute_force_and_scikit_learn() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    a, b = unit(rng.normal(size=(300, 8))), unit(rng.normal(size=(300, 8)))
    labels = (np.sum(a * b, 1) + rng.normal(0, 0.3, 300) > 0).astype(int)
    labels[:5] = 1
    b[:3] = a[:3]  # a few exact duplicates: tied scores
    r = pair_scores(a, b, labels)
    cos = np.sum(a.astype(np.float64) * b, 1)
    assert r.average_precision == pytest.approx(
        sklearn_metrics.average_precision_score(labels, cos)
    )
    accs = [((cos >= t) == labels).mean() for t in np.r_[cos, np.inf]]
    assert r.accuracy == pytest.approx(max(accs))
    assert ((cos >= r.accuracy_threshold) == labels).mean() == pytest.approx(r.accuracy)
    f1s = [sklearn_metrics.f1_score(labels, cos >= t) for t in cos]
    assert r.f1 == pytest.approx(max(f1s))


def test_retrieval_metrics_golden_and_trec_tie_break() -> None:
    qrels = {"q1": {"d1": 2, "d3": 1}, "q2": {"d9": 1}, "q3": {"d1": 0}}
    run = {"q1": {"d3": 0.9, "d2": 0.8, "d1": 0.7}, "q2": {"d9": 0.5, "d8": 0.5}}
    r = retrieval_metrics(run, qrels)
    dcg = 1 / math.log2(2) + 2 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    # q2: d9 and d8 tie; trec_eval puts the larger document id first -> d9 at rank 1
    assert r.ndcg_at_10 == pytest.approx((dcg / idcg + 1.0) / 2)
    assert r.mrr_at_10 == pytest.approx(1.0)
    assert r.recall_at_1 == pytest.approx((0.5 + 1) / 2) and r.recall_at_10 == 1.0
    assert r.queries == 2  # q3 has no relevant document
    with pytest.raises(ParameterError, match="no query has a relevant document"):
        retrieval_metrics(run, {"q3": {"d1": 0}})


def test_search_returns_top_k_by_cosine() -> None:
    docs = unit(np.eye(4)[:, :3] + 0.01)
    queries = unit(np.array([[0, 1, 0.1]], float))
    run = search(queries, docs, ["q"], ["a", "b", "c", "d"], k=2)
    full = (docs @ queries[0]).argsort()[::-1]
    assert set(run["q"]) == {"abcd"[full[0]], "abcd"[full[1]]} and full[0] == 1
    assert run["q"]["b"] == pytest.approx(float(docs[1] @ queries[0]))


def test_probe_and_clustering_on_separable_data() -> None:
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 16)) * 5
    y = np.repeat(["x", "y", "z"], 40)
    x = (centres[np.repeat(np.arange(3), 40)] + rng.normal(size=(120, 16))).astype(np.float32)
    r = probe_scores(x, list(y), folds=4)
    assert r.accuracy == 1.0 and r.macro_f1 == 1.0 and r.folds == 4
    split = probe_scores(x[::2], list(y[::2]), x_test=x[1::2], y_test=list(y[1::2]))
    assert split.accuracy == 1.0 and split.test == 60
    assert cluster_scores(x, list(y)).v_measure == pytest.approx(1.0)
    with pytest.raises(ParameterError, match="at least two labels"):
        probe_scores(x, ["x"] * 120)


def test_docsim_uses_the_upper_triangle() -> None:
    v = unit(np.array([[1, 0], [1, 1], [0, 1]], float))
    human = np.array([[1, 0.9, 0.1], [0, 1, 0.8], [0, 0, 1]])
    r = docsim_scores(v, human)
    sims = np.array([math.sqrt(0.5), 0, math.sqrt(0.5)])
    assert r.pearson == pytest.approx(np.corrcoef(sims, [0.9, 0.1, 0.8])[0, 1])


# -- layouts ----------------------------------------------------------------------------------
def test_beir_faq_and_stackfaq_layouts(tmp_path: Path) -> None:
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "Cats", "text": "cats purr"}\n'
        '{"_id": "d2", "title": "", "text": "dogs bark"}\n'
    )
    (beir / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "purring"}\n{"_id": "q9", "text": "x"}\n'
    )
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    data = load_beir(beir)
    assert data.corpus == {"d1": "Cats cats purr", "d2": "dogs bark"}
    assert data.queries == {"q1": "purring"} and data.qrels == {"q1": {"d1": 1}}
    (tmp_path / "items.csv").write_text("id,text\nf1,reset password\nf2,track parcel\n")
    (tmp_path / "queries.csv").write_text("query,id\nforgot my password,f1\nwhere is my order,f2\n")
    faq = load_faq(tmp_path / "items.csv", tmp_path / "queries.csv")
    assert faq.qrels == {"q0": {"f1": 1}, "q1": {"f2": 1}}
    (tmp_path / "bad.csv").write_text("query,id\nhello,f7\n")
    with pytest.raises(FormatError, match=r"queries name items that are not in"):
        load_faq(tmp_path / "items.csv", tmp_path / "bad.csv")
    xml = tmp_path / "faq.xml"
    xml.write_text(
        "<root><qapair><rephr>\nHow &lt;b&gt; bold?\n</rephr><rephr>*</rephr>"
        "<question>Bold text</question><answer> Use ** </answer></qapair></root>"
    )
    sf = load_stackfaq(xml)
    assert sf.corpus == {"faq0": "Bold text Use **"} and sf.queries == {"q0": "How <b> bold?"}


# -- specs and the runner ---------------------------------------------------------------------
class CountingEncoder:
    """A bag-of-letters encoder that counts how many texts it was asked to encode."""

    name, dim, max_length = "letters", 26, None

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts, *, batch_size=32, normalize=None, show_progress=None):  # type: ignore[no-untyped-def]
        self.calls += len(texts)
        out = np.zeros((len(texts), 26), np.float32)
        for i, t in enumerate(texts):
            for ch in t.lower():
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        out[:, 0] += 1e-3
        return unit(out) if normalize else out


def test_a_hand_written_spec_for_a_new_csv_runs_without_code(tmp_path: Path) -> None:
    (tmp_path / "my pairs.csv").write_text(
        "id;left;right;gold\n1;cat;cat;5\n2;cat;act;4\n3;cat;dog;0\n4;dog;god;4\n5;dog;fish;1\n"
    )
    spec = tmp_path / "mine.json"
    spec.write_text(
        json.dumps(
            {
                "name": "letters-sts",
                "type": "sts",
                "delimiter": ";",
                "files": {"data": "my pairs.csv"},
                "columns": {"text1": "left", "text2": "right", "score": "gold"},
            }
        )
    )
    enc = CountingEncoder()
    report = evaluate({"letters": enc}, [str(spec), str(spec)])
    first, second = report.scores
    assert first.task == "letters-sts" and first.metrics["pairs"] == 5
    assert first.main == pytest.approx(second.main) and first.main > 0.8
    assert enc.calls == 5  # cat, act, dog, god, fish: each distinct text once, over both runs
    assert "| letters-sts | spearman |" in report.markdown()


def test_yaml_spec_and_bad_specs(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    (tmp_path / "c.tsv").write_text("text\tlabel\naaaa\tx\naaab\tx\nzzzz\ty\nzzzy\ty\n" * 3)
    spec = tmp_path / "clf.yaml"
    spec.write_text(
        "type: classification\nfiles: {data: c.tsv}\n"
        "columns: {text: text, label: label}\noptions: {folds: 2}\n"
    )
    report = evaluate({"letters": CountingEncoder()}, [str(spec)])
    assert report.scores[0].task == "clf" and report.scores[0].main == 1.0
    (tmp_path / "bad.json").write_text(
        '{"type": "sts", "files": {"data": "c.tsv"}, "columns": {"text1": 0}}'
    )
    with pytest.raises(
        ParameterError,
        match=r"needs columns \['text1', 'text2', 'score'\]; missing \['text2', 'score'\]",
    ):
        load_task(tmp_path / "bad.json")
    with pytest.raises(ParameterError, match="unknown task 'nope'"):
        resolve_tasks(["nope"])
    with pytest.raises(ParameterError, match="needs data_dir"):
        resolve_tasks(["stsb-en"])
    with pytest.raises(ParameterError, match="dims must be positive ints; got 0"):
        evaluate({"letters": CountingEncoder()}, [str(spec)], dims=[0])


def test_word_tasks_run_on_vectors_and_on_encoders(tmp_path: Path) -> None:
    (tmp_path / "pairs.txt").write_text("cat\tact\t9\ncat\tdog\t1\ndog\tgod\t8\n")
    spec = tmp_path / "w.json"
    spec.write_text(json.dumps({"type": "word-similarity", "files": {"data": "pairs.txt"}}))
    vecs = Vectors(
        ["cat", "act", "dog", "god"], np.array([[1, 0], [1, 0.1], [0, 1], [0.2, 1]], np.float32)
    )
    report = evaluate({"v": vecs, "letters": CountingEncoder()}, [str(spec)])
    assert [s.main for s in report.scores] == pytest.approx([1.0, 1.0])


def test_cli_eval_run_prints_the_table_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    from clirun import run
    from embedlab import save_vectors

    vecs = Vectors(
        ["cat", "act", "dog", "god"], np.array([[1, 0], [1, 0.1], [0, 1], [0.2, 1]], np.float32)
    )
    save_vectors(vecs, tmp_path / "v.txt")
    (tmp_path / "pairs.csv").write_text("a,b,s\ncat,act,5\ncat,dog,0\ndog,god,4\nact,god,1\n")
    spec = tmp_path / "sts.json"
    spec.write_text(
        json.dumps(
            {
                "type": "sts",
                "files": {"data": "pairs.csv"},
                "columns": {"text1": "a", "text2": "b", "score": "s"},
            }
        )
    )
    code, out, err = run(
        capsys,
        "eval",
        "run",
        "-m",
        f"w2v={tmp_path / 'v.txt'}",
        "-t",
        str(spec),
        "-o",
        str(tmp_path / "report"),
        "--dims",
        "1",
    )
    assert code == 0, err
    assert "sts" in out and "w2v@1" in out
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [s["model"] for s in saved["scores"]] == ["w2v", "w2v@1"]
    assert (tmp_path / "report" / "scores.png").stat().st_size > 1000
    assert (tmp_path / "report" / "dims.png").exists()
    assert "| sts | spearman |" in (tmp_path / "report" / "report.md").read_text()
