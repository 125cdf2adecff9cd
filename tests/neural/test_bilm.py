"""The ELMo-style biLM: perplexity falls, word senses separate in context, the folder reloads."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from embedlab.errors import FormatError, ParameterError
from embedlab.neural import BiLMConfig, BiLMEncoder, TrainingArguments, pretrain_bilm

RIVER = ["river", "water", "fish", "reeds", "stream", "boat"]
MONEY = ["money", "gold", "loan", "coins", "debt", "clerk"]


def sense_lines(n: int, seed: int) -> list[str]:
    """'bank' next to river words in one frame, next to money words in another."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            a, b = rng.sample(RIVER, 2)
            out.append(f"the {a} ran along the bank near the {b} .")
        else:
            a, b = rng.sample(MONEY, 2)
            out.append(f"he took the {a} to the bank with the {b} .")
    return out


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bilm")
    config = BiLMConfig(
        filters=[(1, 8), (2, 8), (3, 16)], char_dim=8, proj_dim=16, lstm_dim=32, dropout=0.0
    )
    result = pretrain_bilm(
        sense_lines(600, 0),
        config=config,
        window=16,
        args=TrainingArguments(
            out, batch_size=16, max_steps=80, learning_rate=1e-2, precision="fp32",
            checkpoint_every=None, show_progress=False, log_every=10,
        ),
    )  # fmt: skip
    curve = [h["train/loss"] for h in result.history if "train/loss" in h]
    assert curve[-1] < 0.6 * curve[0]
    assert result.best is not None and result.best["perplexity"] < 10
    return result.model_dir


def test_same_word_in_two_senses_is_farther_apart(trained: Path) -> None:
    enc = BiLMEncoder(trained, mix="top")
    texts = [
        "the reeds ran along the bank near the stream .",
        "the fish ran along the bank near the boat .",
        "he took the gold to the bank with the debt .",
        "he took the coins to the bank with the clerk .",
    ]
    bank = []
    for words, vecs in enc.word_vectors(texts):
        bank.append(vecs[words.index("bank")])
    river_river, money_money = cos(bank[0], bank[1]), cos(bank[2], bank[3])
    for i in (0, 1):
        for j in (2, 3):
            assert cos(bank[i], bank[j]) < min(river_river, money_money)
    layer0 = BiLMEncoder(trained, mix=0).word_vectors(texts[:3])
    (w0, v0), (w2, v2) = layer0[0], layer0[2]
    np.testing.assert_allclose(v0[w0.index("bank")], v2[w2.index("bank")], atol=1e-5)  # no context


def test_encoder_protocol_and_mixes(trained: Path) -> None:
    from embedlab.encoders import load_encoder

    enc = load_encoder(trained)
    assert isinstance(enc, BiLMEncoder)
    vecs = enc.encode(["the fish ran along the bank .", "he took the loan to the bank ."])
    assert vecs.shape == (2, enc.dim) == (2, 32) and vecs.dtype == np.float32
    assert enc.encode("a bank").shape == (32,)
    layers = enc.layer_vectors(["the bank"])[0][1]
    assert layers.shape == (3, 2, 32)
    mixed = enc.word_vectors(["the bank"])[0][1]
    np.testing.assert_allclose(mixed, layers.mean(axis=0), atol=1e-6)
    unknown = enc.word_vectors(["zyzzyva"])[0]  # characters: never out of vocabulary
    assert unknown[0] == ["zyzzyva"] and np.abs(unknown[1]).sum() > 0
    with pytest.raises(ParameterError, match="layers 0-2"):
        BiLMEncoder(trained, mix=3)
    with pytest.raises(ParameterError, match="need 3 values"):
        BiLMEncoder(trained, mix=[0.5, 0.5])


def test_word_inputs_and_errors(tmp_path: Path) -> None:
    config = BiLMConfig(inputs="words", proj_dim=8, lstm_dim=16, vocab_size=30)
    result = pretrain_bilm(
        sense_lines(100, 1), config=config, window=12, min_count=1,
        args=TrainingArguments(tmp_path / "w", batch_size=8, max_steps=5, precision="fp32",
                               checkpoint_every=None, show_progress=False),
    )  # fmt: skip
    enc = BiLMEncoder(result.model_dir)
    words = (result.model_dir / "vocab.txt").read_text().split()
    assert enc.config.vocab_size == len(words) == 26  # every word the corpus has, under 30
    assert enc.encode(["the bank"]).shape == (1, 16)
    (result.model_dir / "vocab.txt").write_text("<pad>\n<unk>\n")
    with pytest.raises(FormatError, match="2 words, the config says 26"):
        BiLMEncoder(result.model_dir)
    with pytest.raises(ParameterError, match="'inputs'"):
        BiLMConfig(inputs="bytes")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="no such corpus"):
        pretrain_bilm(tmp_path / "missing.txt", args=TrainingArguments(tmp_path, max_steps=1))
