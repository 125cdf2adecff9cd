"""Tokenizer training: each kind saves in the HF format, loads with AutoTokenizer, round-trips text."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("tokenizers")
transformers = pytest.importorskip("transformers")

from embedlab.errors import ParameterError  # noqa: E402
from embedlab.neural import train_tokenizer  # noqa: E402

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "A lazy dog sleeps in the sun all day long.",
    "Quick thinking foxes outsmart sleepy dogs.",
    "我喜欢学习自然语言处理。",
] * 25


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram"])
def test_each_kind_trains_saves_and_reloads(kind: str, tmp_path: Path) -> None:
    tok = train_tokenizer(TEXTS, kind, vocab_size=300, min_frequency=1)  # type: ignore[arg-type]
    tok.save_pretrained(str(tmp_path / kind))
    back = transformers.AutoTokenizer.from_pretrained(str(tmp_path / kind))
    text = "The lazy fox sleeps 学习"
    ids = back(text)["input_ids"]
    assert ids == tok(text)["input_ids"]
    decoded = back.decode(ids, skip_special_tokens=True)
    assert decoded.replace(" ", "") == text.lower().replace(" ", "")
    assert len(back) <= 300 or kind == "bpe"  # byte-level BPE keeps its 256-byte alphabet
    if kind != "bpe":
        tokens = back.convert_ids_to_tokens(ids)
        assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
        assert back.mask_token == "[MASK]" and back.pad_token is not None
        assert "学" in "".join(tokens) and "习" in "".join(tokens)


def test_wordpiece_splits_han_characters_and_knows_frequent_words(tmp_path: Path) -> None:
    tok = train_tokenizer(TEXTS, "wordpiece", vocab_size=300, min_frequency=1)
    pieces = tok.convert_ids_to_tokens(tok("lazy 自然语言")["input_ids"])
    assert pieces == ["[CLS]", "lazy", "自", "然", "语", "言", "[SEP]"]


def test_wordpiece_gives_the_same_vocabulary_every_run() -> None:
    """`tokenizers` alone numbers ``##`` pieces in hash order and breaks merge ties by those numbers:
    five runs on this corpus gave more than one vocabulary (this test failed on that code)."""
    words = ["cats", "mice", "dogs", "birds", "worms", "foxes", "rabbits", "owls", "voles"]
    texts = [f"the {a} often chase the {b} ." for a in words for b in words if a != b] * 3
    runs = [train_tokenizer(texts, "wordpiece", vocab_size=60, min_frequency=1) for _ in range(5)]
    vocabs = {tuple(sorted(t.get_vocab().items())) for t in runs}
    assert len(vocabs) == 1
    tok = runs[0]
    assert "##s" in tok.get_vocab() and tok.get_vocab()["[PAD]"] == 0
    # the ## pieces are ordinary vocabulary, not special tokens: '##s' in text is not kept whole
    assert "##s" not in tok.convert_ids_to_tokens(tok("cats ##s")["input_ids"])
    assert set(tok.all_special_tokens) == {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}


def test_jieba_segments_training_text(tmp_path: Path) -> None:
    pytest.importorskip("jieba")
    corpus = tmp_path / "zh.txt"
    corpus.write_text("\n".join(["我喜欢学习自然语言处理"] * 50 + ["自然语言处理很有趣"] * 50))
    tok = train_tokenizer(corpus, "wordpiece", vocab_size=200, min_frequency=1, chinese="jieba")
    assert "自然语言" in tok.get_vocab() or "自然" in tok.get_vocab()  # words, not just characters


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="'kind' parameter of train_tokenizer"):
        train_tokenizer(TEXTS, "sentencepiece")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'vocab_size' parameter"):
        train_tokenizer(TEXTS, vocab_size=10)
    with pytest.raises(ParameterError, match="no such corpus file"):
        train_tokenizer(tmp_path / "missing.txt")
    with pytest.raises(ParameterError, match="the corpus is empty"):
        train_tokenizer(["", "   "], "wordpiece", vocab_size=100)


def test_cli_trains_and_saves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from clirun import run

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(TEXTS))
    code, out, err = run(
        capsys,
        "tokenizer",
        "train",
        str(corpus),
        "-o",
        str(tmp_path / "tok"),
        "--kind",
        "unigram",
        "--vocab-size",
        "200",
        "--min-frequency",
        "1",
    )
    assert code == 0, err
    assert "unigram tokenizer" in out and (tmp_path / "tok" / "tokenizer.json").exists()
