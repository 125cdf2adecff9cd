from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import FormatError, ParameterError
from embedlab.text import (
    Corpus,
    Lemmatizer,
    Tokenizer,
    Vocabulary,
    normalize,
    split_sentences,
    stopwords,
    word_tokenize,
)


def test_normalize() -> None:
    assert normalize("Ｃａｆé’s\u00a0 menu\u200b\x07") == "Café's menu"
    assert normalize("ﬁne", None) == "ﬁne" and normalize("ﬁne") == "fine"
    with pytest.raises(ParameterError, match="'form' parameter of normalize"):
        normalize("x", "NFX")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        (
            "Don't stop-the-press: it's 3.5% of $1,000.50!",
            ["Don't", "stop-the-press", "it's", "3.5%", "of", "1,000.50"],
        ),
        (
            "see https://ex.com/a?b=1, or www.x.org.",
            ["see", "https://ex.com/a?b=1", "or", "www.x.org"],
        ),
        ("mail a.b+c@mail.co.uk now", ["mail", "a.b+c@mail.co.uk", "now"]),
        ("naïve café -- o'clock", ["naïve", "café", "o'clock"]),
        ("_italic_ snake_case", ["italic", "snake_case"]),
        ("x=-2.5e3 and 7", ["x", "-2.5e3", "and", "7"]),
    ],
)
def test_word_tokenize(text: str, tokens: list[str]) -> None:
    assert word_tokenize(text) == tokens


def test_keep_punct() -> None:
    assert word_tokenize("Hi, you!", keep_punct=True) == ["Hi", ",", "you", "!"]


def test_tokenizer_mixed_chinese_and_english() -> None:
    tok = Tokenizer()
    assert tok("我爱北京天安门, I love Beijing’s 2 parks") == [
        "我",
        "爱",
        "北京",
        "天安门",
        "i",
        "love",
        "beijing's",
        "2",
        "parks",
    ]
    assert Tokenizer(chinese="chars", lowercase=False)("宝玉 Hi") == ["宝", "玉", "Hi"]


def test_tokenizer_stopwords_and_lemmas() -> None:
    tok = Tokenizer(stopwords="en+zh", lemmatize="en")
    assert tok("The mice were running to 我们的 garden") == ["mouse", "run", "garden"]
    assert Tokenizer(stopwords={"cat"})("cat dog") == ["dog"]
    assert Tokenizer(min_length=3)("a an ant") == ["ant"]
    again = Tokenizer(**json.loads(json.dumps(tok.options())))  # options survive JSON
    assert again.options() == tok.options()
    assert again("The mice were running to 我们的 garden") == ["mouse", "run", "garden"]


def test_stopword_lists() -> None:
    assert {"the", "and", "don't"} <= stopwords("en") and len(stopwords("en")) == 179
    assert {"的", "了", "是"} <= stopwords("zh")
    with pytest.raises(ParameterError):
        stopwords("xx")


def test_lemmatizer_languages() -> None:
    assert Lemmatizer("en")(["mice", "running"]) == ["mouse", "run"]
    assert Lemmatizer("fr")(["chevaux"]) == ["cheval"]
    with pytest.raises(ParameterError, match="'lang' parameter of Lemmatizer"):
        Lemmatizer("zz")


def test_split_sentences() -> None:
    assert split_sentences("It rained. We left! 他来了。好的？ok") == [
        "It rained.",
        "We left!",
        "他来了。",
        "好的？",
        "ok",
    ]
    assert split_sentences("Mr. smith came. e.g. this") == ["Mr. smith came. e.g. this"]


def _write(path: Path, text: str) -> Path:
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix, open)
    with opener(path, "wt", encoding="utf-8") as f:  # type: ignore[operator]
        f.write(text)
    return path


def test_corpus_lines_gz_and_folder(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "Hello world\n\nSecond line here\n")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "b.txt.gz", "third one\n")
    _write(tmp_path / ".hidden", "never read\n")
    c = Corpus(tmp_path)
    assert [p.name for p in c.paths] == ["a.txt", "b.txt.gz"]
    assert list(c) == [["hello", "world"], ["second", "line", "here"], ["third", "one"]]
    assert list(c) == list(c)  # re-iterable for several epochs


def test_corpus_free_text_and_jsonl(tmp_path: Path) -> None:
    _write(tmp_path / "f.txt.bz2", "First sentence. Second\none!\n\nNew paragraph\n")
    assert list(Corpus(tmp_path / "f.txt.bz2", format="text")) == [
        ["first", "sentence"],
        ["second", "one"],
        ["new", "paragraph"],
    ]
    rows = [{"meta": {"body": "A b"}}, {"meta": {"body": None}}, {"meta": {"body": "C"}}]
    _write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    assert list(Corpus(tmp_path / "d.jsonl", format="jsonl", field="meta.body")) == [
        ["a", "b"],
        ["c"],
    ]


def test_corpus_errors_name_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path / "d.jsonl", '{"text": "ok"}\n{"text": 3}\n')
    with pytest.raises(
        FormatError, match=r"d.jsonl, line 2: expected field 'text' to be a string, found int"
    ):
        list(Corpus(tmp_path / "d.jsonl", format="jsonl"))
    _write(tmp_path / "e.jsonl", '{"text": "ok"}\n{oops\n')
    with pytest.raises(FormatError, match=r"e.jsonl, line 2: expected a JSON object"):
        list(Corpus(tmp_path / "e.jsonl", format="jsonl"))
    (tmp_path / "l.txt").write_bytes(b"fine\ncaf\xe9\n")
    with pytest.raises(FormatError, match=r"l.txt, line 2: expected utf-8 text, found byte 0xe9"):
        list(Corpus(tmp_path / "l.txt"))
    assert list(Corpus(tmp_path / "l.txt", encoding_errors="replace"))[1] == ["caf"]
    with pytest.raises(FileNotFoundError):
        Corpus(tmp_path / "missing")


def test_vocabulary_build_order_and_subsampling(tmp_path: Path) -> None:
    sentences = [["b", "a", "c"], ["a", "b", "a"], ["d"]]
    v = Vocabulary.build(sentences, min_count=2)
    assert v.words == ["a", "b"] and v.counts.tolist() == [3, 2] and v.total == 7
    v1 = Vocabulary.build(sentences, min_count=1, max_size=3)
    assert v1.words == ["a", "b", "c"]  # ties keep first-seen order
    assert v1.encode(["c", "zz", "a"]).tolist() == [2, 0]
    # word2vec C: keep = (sqrt(c / (s T)) + 1) * (s T) / c with T = retained tokens
    s, t = 0.1, 6
    want = [min(1.0, (np.sqrt(c / (s * t)) + 1) * (s * t) / c) for c in (3, 2, 1)]
    np.testing.assert_allclose(v1.keep_probabilities(s), want)
    assert v1.keep_probabilities(0).tolist() == [1, 1, 1]
    v1.save(tmp_path / "vocab.tsv")
    back = Vocabulary.load(tmp_path / "vocab.tsv")
    assert back.words == v1.words and back.counts.tolist() == v1.counts.tolist() and back.total == 7
    with pytest.raises(ParameterError, match="min_count"):
        Vocabulary.build(sentences, min_count=0)


def test_vocabulary_streams_a_corpus(tmp_path: Path) -> None:
    _write(tmp_path / "c.txt", "the cat sat\nthe dog\n" * 50)
    v = Vocabulary.build(Corpus(tmp_path / "c.txt"), min_count=60)
    assert v.words == ["the"] and v.total == 250


@pytest.mark.parametrize(
    "text",
    [
        "a." * 500_000,  # the e-mail pattern used to rescan the run from every position
        ("x" * 60 + ".") * 16_000 + "@",
        "a@" + "b." * 500_000,
        "a+" * 500_000 + "@example",
        "www." + "," * 1_000_000,
    ],
    ids=["dots", "long-local-parts", "long-domain", "plus-run", "url-punct"],
)
def test_tokenization_is_linear_on_adversarial_runs(text: str) -> None:
    """1 MB of pathological text tokenizes at all (the quadratic pattern took hours on these);
    the guard is a hang detector, not a speed test: SIGALRM after 20 s."""
    import signal

    def hang(*_: object) -> None:
        raise TimeoutError("tokenization did not finish in 20 s: super-linear")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(20)
    try:
        tokens = word_tokenize(text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert tokens and sum(map(len, tokens)) <= len(text)


def test_emails_still_tokenize_whole() -> None:
    assert word_tokenize("write to john.doe+news@mail.example.co.uk, or x@y.io.") == [
        "write", "to", "john.doe+news@mail.example.co.uk", "or", "x@y.io",
    ]  # fmt: skip
    assert word_tokenize("a" * 65 + "@example.com")[-1] == "com"  # over RFC 5321's 64
