"""Tiny data with planted structure and tiny models for the neural trainers.

``planted_lines``: sentences from a small grammar where the object is predictable from the
subject (cats chase mice, dogs chase cats, ...), so a language model's loss can fall within a
few dozen steps. ``sentiment``: short reviews whose label is carried by one planted word.
``tiny_bert_dir``: a 2-layer BERT (hidden 32) *pretrained by embedlab itself* for a few steps on
the planted corpus, saved with its WordPiece tokenizer — the starting point for fine-tuning tests.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

PAIRS = [
    ("cats", "mice"),
    ("dogs", "cats"),
    ("birds", "worms"),
    ("foxes", "rabbits"),
    ("owls", "voles"),
    ("sharks", "seals"),
]
ADVERBS = ["quietly", "often", "happily", "slowly", "always", "never"]
GOOD = ["wonderful", "great", "lovely", "superb"]
BAD = ["awful", "terrible", "dreadful", "boring"]
FILLER = ["the", "film", "plot", "actors", "music", "ending", "was", "and", "really", "quite"]


def planted_lines(n: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        subject, obj = rng.choice(PAIRS)
        out.append(f"the {subject} {rng.choice(ADVERBS)} chase the {obj} .")
    return out


def sentiment(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        positive = rng.random() < 0.5
        words = rng.sample(FILLER, 5)
        words.insert(rng.randrange(6), rng.choice(GOOD if positive else BAD))
        texts.append(" ".join(words))
        labels.append("pos" if positive else "neg")
    return texts, labels


@pytest.fixture(scope="session")
def wordpiece() -> object:
    from embedlab.neural import train_tokenizer

    texts, _ = sentiment(200, 1)
    return train_tokenizer(planted_lines() + texts, "wordpiece", vocab_size=120, min_frequency=1)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory, wordpiece: object) -> Path:
    from embedlab.neural import TrainingArguments, model_config, pretrain

    out = tmp_path_factory.mktemp("pretrained")
    config = model_config("bert", wordpiece, hidden=32, layers=2, heads=2, max_positions=64)
    texts, _ = sentiment(200, 1)
    result = pretrain(
        planted_lines() + texts,
        tokenizer=wordpiece,
        config=config,
        block_size=32,
        args=TrainingArguments(
            out, max_steps=20, batch_size=16, learning_rate=1e-3, checkpoint_every=None,
            precision="fp32", show_progress=False,
        ),
    )  # fmt: skip
    return result.model_dir
