"""Contrastive fine-tuning: duplicate-free batches, a planted pairing learned, the folder loads."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embedlab.errors import ParameterError  # noqa: E402
from embedlab.neural import TextPairs, TrainingArguments, finetune_contrastive  # noqa: E402
from embedlab.neural.contrastive import duplicate_free_batches  # noqa: E402

from .conftest import ADVERBS, PAIRS  # noqa: E402

SUBJECTS = [s for s, _ in PAIRS]
OBJECTS = [o for _, o in PAIRS]


def planted_pairs(seed: int) -> TextPairs:
    """Anchor 'the cats often chase the mice .' -> positive 'mice fear cats'."""
    rng = random.Random(seed)
    anchors, positives = [], []
    for s in SUBJECTS:
        for o in OBJECTS:
            if s == o:
                continue
            for adverb in rng.sample(ADVERBS, 3):
                anchors.append(f"the {s} {adverb} chase the {o} .")
                positives.append(f"{o} fear {s}")
    return TextPairs(anchors, positives)


def test_batches_hold_no_text_twice() -> None:
    pairs = TextPairs(
        ["a", "b", "c", "d", "e", "a", "f"],
        ["x", "y", "x", "z", "w", "v", "u"],
        ["n1", "n2", "n3", "n4", "y", "n6", "n7"],
    )
    batches = list(duplicate_free_batches(pairs, range(7), 3))
    assert sorted(i for b in batches for i in b) == list(range(7))
    for b in batches:
        texts = [t for i in b for t in pairs.texts(i)]
        assert len(texts) == len(set(texts))
    assert batches[0] == [0, 1, 3]  # 2 repeats 'x', 4 repeats 'y': both wait
    rng = np.random.default_rng(0)
    many = TextPairs([f"a{i % 40}" for i in range(300)], [f"p{i % 55}" for i in range(300)])
    order = rng.permutation(300).tolist()
    seen = []
    for b in duplicate_free_batches(many, order, 16):
        assert len(b) <= 16
        texts = [t for i in b for t in many.texts(i)]
        assert len(texts) == len(set(texts))
        seen += b
    assert sorted(seen) == list(range(300))


def test_contrastive_learns_a_planted_pairing_and_saves_a_sentence_model(
    tmp_path: Path, tiny_bert_dir: Path
) -> None:
    from embedlab.encoders import TransformerEncoder
    from embedlab.evaluate.sentence import sts_scores

    train_pairs = planted_pairs(0)
    rng = random.Random(5)
    left, right, gold = [], [], []
    seen: set[tuple[str, str]] = set()
    while len(left) < 120:  # distinct pairs: a repeated pair is an exact tie float noise can break
        s, o = rng.sample(SUBJECTS, 2)
        match = rng.random() < 0.5
        o2 = o if match else rng.choice([x for x in OBJECTS if x not in (o, s)])
        pair = (f"the {s} {rng.choice(ADVERBS)} chase the {o} .", f"{o2} fear {s}")
        if pair in seen:
            continue
        seen.add(pair)
        left.append(pair[0])
        right.append(pair[1])
        gold.append(1.0 if match else 0.0)
    base = TransformerEncoder(str(tiny_bert_dir))
    before = sts_scores(base.encode(left), base.encode(right), gold).spearman
    result = finetune_contrastive(
        str(tiny_bert_dir),
        train_pairs,
        validation=(left, right, gold),
        args=TrainingArguments(
            tmp_path, batch_size=16, epochs=8, learning_rate=1e-3, precision="fp32",
            checkpoint_every=None, show_progress=False,
        ),
    )  # fmt: skip
    assert result.best is not None and result.best["spearman"] > before + 0.2
    tuned = TransformerEncoder(str(result.model_dir))
    after = sts_scores(tuned.encode(left), tuned.encode(right), gold).spearman
    # the saved model reproduces its best validation score (validation encodes with the model
    # being trained, whose unpadded forward must follow every optimizer step)
    assert after == pytest.approx(result.best["spearman"], abs=1e-6)
    st = pytest.importorskip("sentence_transformers")
    theirs = st.SentenceTransformer(str(result.model_dir), device="cpu").encode(left[:4])
    ours = tuned.encode(left[:4])
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_contrastive_reads_triplets_and_checks_input(tmp_path: Path, tiny_bert_dir: Path) -> None:
    rows = ["query,good,bad"] + [
        f"the {s} chase the {o} .,{o} fear {s},{s} fear {o}"
        for s in SUBJECTS[:3]
        for o in OBJECTS[3:]
    ]
    path = tmp_path / "triplets.csv"
    path.write_text("\n".join(rows) + "\n")
    data = TextPairs.read(path, anchor="query", positive="good", negative="bad")
    assert data.negatives is not None and len(data.anchors) == 9
    result = finetune_contrastive(
        str(tiny_bert_dir), path, anchor="query", positive="good", negative="bad",
        args=TrainingArguments(tmp_path / "out", batch_size=4, max_steps=3, precision="fp32",
                               checkpoint_every=None, show_progress=False, log_every=1),
    )  # fmt: skip
    assert result.steps == 3 and (result.model_dir / "modules.json").exists()
    with pytest.raises(ParameterError, match="batch_size >= 2"):
        kw: Any = dict(checkpoint_every=None, show_progress=False)
        finetune_contrastive(str(tiny_bert_dir), data,
                             args=TrainingArguments(tmp_path / "x", batch_size=1, **kw))  # fmt: skip
    with pytest.raises(ParameterError, match="2 anchors but 1 positives"):
        TextPairs(["a", "b"], ["c"])
