"""Pretraining from en_gutenberg_1m: a tiny BERT with masked LM, and the ELMo-style biLM.

Run: .venv/bin/python benchmarks/pretrain.py [mlm] [mlm-probe] [bilm]   (default: mlm bilm)

- mlm: WordPiece (16k) trained on the corpus, then a 4-layer BERT (hidden 256, 4 heads) trained with
  dynamic masking (no dropout, peak lr 1e-3) for a fixed budget of 28 minutes on 2 threads (the
  step count is set from a short probe so the learning rate decays to zero in time). Reported:
  the MLM loss curve (TensorBoard event files under benchmarks/_work/pretrain/mlm/tb), and STS-B
  English test Spearman of mean-pooled sentence vectors against a randomly initialised twin
  (same config and seed).
- mlm-probe: the model the mlm part saved, and its twin, seen two more ways: STS-B after whitening
  and a linear probe on SST-2 (see ``mlm_probe``).
- bilm: the biLM with a character CNN, trained for 30 minutes; reported: held-out perplexity and
  hand-made word senses: for 10 ambiguous words, 3 contexts of each of two senses (the words
  around the target vary within a sense); a word passes when its same-sense contexts are closer
  on average (cosine of its contextual vectors) than its cross-sense ones.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from typing import Any

from _common import SHARED, WORK, machine, table
from embedlab.neural import TrainingArguments, model_config, pretrain, train_tokenizer

OUT = WORK / "pretrain"
CORPUS = SHARED / "corpora" / "en_gutenberg_1m.txt"
BUDGET = 28 * 60


def _sts(models: dict[str, str]) -> dict[str, float]:
    from embedlab.encoders import TransformerEncoder
    from embedlab.evaluate import evaluate

    encoders = {name: TransformerEncoder(folder, threads=2) for name, folder in models.items()}
    report = evaluate(encoders, ["stsb-en"], data_dir=str(SHARED))
    return {name: report.get(name, "stsb-en").main or 0.0 for name in models}  # type: ignore[union-attr]


def mlm() -> list[list[str]]:
    import torch
    from transformers import AutoModel

    start = time.perf_counter()
    tok = train_tokenizer(CORPUS, "wordpiece", vocab_size=16000)
    tok_time = time.perf_counter() - start
    # no dropout and a high peak rate: on a budget this short the model is far from overfitting,
    # and a 6-minute pilot at lr 5e-4 with dropout 0.1 learned much less (STS-B 37 vs 48)
    config = model_config(
        "bert", tok, hidden=256, layers=4, heads=4, max_positions=512, dropout=0.0
    )
    common = dict(batch_size=32, learning_rate=1e-3, threads=2, seed=0, log_every=10)
    probes = [
        pretrain(
            CORPUS, tokenizer=tok, config=config, block_size=128,
            args=TrainingArguments(OUT / f"probe{n}", max_steps=n, checkpoint_every=None, **common),
        )
        for n in (20, 120)
    ]  # fmt: skip
    per_step = (probes[1].seconds - probes[0].seconds) / 100  # without the shuffle-buffer fill
    steps = int(BUDGET * 0.92 / per_step)  # evaluations and checkpoints take the rest
    shutil.rmtree(OUT / "mlm" / "tb", ignore_errors=True)  # event files of this run only
    result = pretrain(
        CORPUS, tokenizer=tok, config=config, block_size=128,
        args=TrainingArguments(
            OUT / "mlm", max_steps=steps, max_time=BUDGET, checkpoint_every=500,
            tensorboard=OUT / "mlm" / "tb", **common,
        ),
    )  # fmt: skip
    twin = OUT / "random_twin"
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(str(twin), safe_serialization=True)
    tok.save_pretrained(str(twin))
    sts = _sts({"pretrained": str(result.model_dir), "random": str(twin)})
    curve = [h["train/loss"] for h in result.history if "train/loss" in h]
    evals = [h["eval/loss"] for h in result.history if "eval/loss" in h]
    events = sorted((OUT / "mlm" / "tb").glob("events.out.tfevents.*"))
    return [
        ["MLM BERT-4L-256", "tokenizer", f"WordPiece {len(tok):,} pieces in {tok_time:.0f} s", "-"],
        [
            "MLM BERT-4L-256",
            "training",
            f"{result.steps:,} steps x 32 blocks of 128 tokens, {result.seconds / 60:.1f} min",
            f"stopped: {result.stopped}; {per_step:.2f} s/step",
        ],
        [
            "MLM BERT-4L-256",
            "train loss first 10 / last 10 steps",
            f"{curve[0]:.2f} / {curve[-1]:.2f}",
            f"{len(events)} TensorBoard event file(s)",
        ],
        [
            "MLM BERT-4L-256",
            "held-out MLM loss (perplexity)",
            f"{evals[-1]:.3f} ({2.718281828 ** evals[-1]:.1f})" if evals else "-",
            "256 held-out blocks (every 100th), fixed masks",
        ],
        [
            "MLM BERT-4L-256",
            "STS-B en test Spearman x100: pretrained / random twin",
            f"{100 * sts['pretrained']:.2f} / {100 * sts['random']:.2f}",
            "mean pooling, goal: pretrained > random",
        ],
    ]


def mlm_probe() -> list[list[str]]:
    """More views of the saved MLM model against its twin: whitened STS-B and an SST-2 probe.

    Mean-pooled MLM vectors are a poor STS measure even for BERT-base (Reimers & Gurevych 2019,
    table 1: 46.35 on STS-B, below averaged GloVe at 58.02), and the random twin's mean is close to
    a word-overlap measure. These rows show whether pretraining learned anything a sentence vector
    can use: STS-B after whitening both models' vectors (mean and covariance from 4,000 corpus
    lines, Su et al. 2021), and a logistic-regression probe on SST-2 (8,000 training sentences,
    seed 0; dev accuracy).
    """
    import csv
    import random

    import numpy as np
    from scipy.stats import spearmanr
    from sklearn.linear_model import LogisticRegression

    from embedlab.encoders import TransformerEncoder

    data = SHARED
    with open(data / "sts" / "stsb" / "stsb-en-test.csv", encoding="utf-8") as f:
        sts = list(csv.reader(f))
    gold = [float(r[2]) for r in sts]

    def tsv(name: str) -> tuple[list[str], Any]:
        with open(data / "sentiment" / "en" / "sst2" / name, encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        return [r[0] for r in rows], np.array([int(r[1]) for r in rows])

    train, y_train = tsv("train.tsv")
    pick = random.Random(0).sample(range(len(train)), 8000)
    train, y_train = [train[i] for i in pick], y_train[pick]
    dev, y_dev = tsv("dev.tsv")
    with open(CORPUS, encoding="utf-8") as f:
        lines = [line.strip() for _, line in zip(range(6000), f) if line.strip()][:4000]

    def spearman(x: Any, y: Any) -> float:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        y = y / np.linalg.norm(y, axis=1, keepdims=True)
        return float(100 * spearmanr((x * y).sum(1), gold).statistic)

    got = {}
    for name, folder in (("pretrained", OUT / "mlm" / "model"), ("random", OUT / "random_twin")):
        enc = TransformerEncoder(str(folder), threads=2)
        a, b = enc.encode([r[0] for r in sts]), enc.encode([r[1] for r in sts])
        c = enc.encode(lines)
        mu = c.mean(0)
        u, sv, _ = np.linalg.svd(np.cov((c - mu).T))
        w = u / np.sqrt(sv + 1e-6)
        x_train, x_dev = enc.encode(train), enc.encode(dev)
        m, sd = x_train.mean(0), x_train.std(0) + 1e-6
        clf = LogisticRegression(max_iter=2000).fit((x_train - m) / sd, y_train)
        got[name] = (
            spearman(a, b),
            spearman((a - mu) @ w, (b - mu) @ w),
            100 * clf.score((x_dev - m) / sd, y_dev),
        )
    p, r = got["pretrained"], got["random"]
    return [
        ["MLM BERT-4L-256 (saved)", "STS-B en test, mean pooling: pretrained / random",
         f"{p[0]:.2f} / {r[0]:.2f}", "as in the mlm rows"],
        ["MLM BERT-4L-256 (saved)", "STS-B en test, mean pooling + whitening",
         f"{p[1]:.2f} / {r[1]:.2f}", "whitening fit on 4,000 corpus lines"],
        ["MLM BERT-4L-256 (saved)", "SST-2 dev accuracy, linear probe on mean pooling",
         f"{p[2]:.2f} / {r[2]:.2f}", "8,000 training sentences, seed 0"],
    ]  # fmt: skip


SENSES = {  # word: (contexts of one sense, contexts of another); the words around the target vary
    "bank": (
        [
            "he sat down on the grassy bank of the river",
            "the boat drifted close to the muddy bank of the stream",
            "they walked along the bank and watched the water",
        ],
        [
            "he had saved a great deal of money in the bank",
            "the bank paid him interest on the money",
            "she took the gold to the bank in the city",
        ],
    ),
    "spring": (
        [
            "in the spring the trees were green and the birds sang",
            "the flowers of spring bloomed early that year",
            "the snow melted and spring came to the valley",
        ],
        [
            "they drank cold water from the spring in the rocks",
            "the spring bubbled up clear and cold beneath the hill",
            "she filled her jug at the spring near the well",
        ],
    ),
    "fair": (
        [
            "she was young and fair with golden hair",
            "a fair lady with a pale face smiled",
            "the fair maiden sat by the window",
        ],
        [
            "the judge was fair and just to every man",
            "it was a fair price for the horse",
            "he gave them a fair trial before the court",
        ],
    ),
    "saw": (
        [
            "i saw him standing at the door",
            "she saw the ship on the horizon",
            "when they saw the fire they ran",
        ],
        [
            "he cut the wood with a saw",
            "the carpenter took his saw and hammer",
            "the saw was sharp and the boards were thin",
        ],
    ),
    "light": (
        [
            "the light of the candle filled the room",
            "a bright light shone through the window",
            "she saw a light in the distance",
        ],
        [
            "the box was light enough for a child to carry",
            "his load was light and he walked quickly",
            "the basket was so light that she lifted it with one hand",
        ],
    ),
    "left": (
        [
            "he left the house early in the morning",
            "she left the room without a word",
            "they left the town before dawn",
        ],
        [
            "he held the sword in his left hand",
            "turn to the left at the end of the road",
            "a scar ran across his left cheek",
        ],
    ),
    "match": (
        [
            "he struck a match and lit the candle",
            "the match flared in the dark",
            "she lit the fire with a match",
        ],
        [
            "the two boxers met in a great match",
            "he won the match against the champion",
            "the chess match lasted all night",
        ],
    ),
    "bark": (
        [
            "the dog began to bark at the stranger",
            "we heard the bark of a dog in the night",
            "the hounds bark when the fox runs",
        ],
        [
            "the bark of the old oak was rough",
            "he stripped the bark from the birch tree",
            "they made canoes of bark and wood",
        ],
    ),
    "letter": (
        [
            "she wrote a long letter to her mother",
            "the letter arrived by the morning post",
            "he read the letter twice and burned it",
        ],
        [
            "the word begins with the letter a",
            "each letter of the alphabet was carved in stone",
            "the first letter of his name was written in gold",
        ],
    ),
    "kind": (
        [
            "she was kind and gentle to the poor",
            "he spoke kind words to the child",
            "it was very kind of you to come",
        ],
        [
            "what kind of man is he",
            "he had never seen a tree of that kind",
            "this kind of weather is rare in june",
        ],
    ),
}


def sense_margins(
    enc: Any, senses: dict[str, tuple[list[str], list[str]]] = SENSES
) -> dict[str, float]:
    """Per word: mean cosine between same-sense contexts minus mean cosine across senses."""
    import numpy as np

    out = {}
    for word, (one, other) in senses.items():
        got = enc.word_vectors(one + other)
        vecs = np.stack([v[w.index(word)] for w, v in got])
        unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        sim = unit @ unit.T
        n = len(one)
        same = [sim[i, j] for g in (range(n), range(n, 2 * n)) for i in g for j in g if i < j]
        cross = [sim[i, j] for i in range(n) for j in range(n, 2 * n)]
        out[word] = float(np.mean(same) - np.mean(cross))
    return out


def bilm() -> list[list[str]]:
    import numpy as np

    from embedlab.neural import BiLMConfig, BiLMEncoder, pretrain_bilm

    config = BiLMConfig(vocab_size=20000, lstm_dim=512, proj_dim=128,
                        filters=[(1, 32), (2, 32), (3, 64), (4, 128), (5, 128)])  # fmt: skip
    start = time.perf_counter()
    probes = [
        pretrain_bilm(
            CORPUS, config=config,
            args=TrainingArguments(OUT / f"bilm_probe{n}", max_steps=n, batch_size=32,
                                   learning_rate=2e-3, threads=2, seed=0, checkpoint_every=None),
        )
        for n in (10, 60)
    ]  # fmt: skip
    per_step = (probes[1].seconds - probes[0].seconds) / 50
    budget = 30 * 60
    steps = int(budget * 0.85 / per_step)  # evaluations and checkpoints take the rest
    shutil.rmtree(OUT / "bilm" / "tb", ignore_errors=True)
    result = pretrain_bilm(
        CORPUS, config=config,
        args=TrainingArguments(OUT / "bilm", max_steps=steps, max_time=budget, batch_size=32,
                               learning_rate=2e-3, threads=2, seed=0, checkpoint_every=500,
                               tensorboard=OUT / "bilm" / "tb"),
    )  # fmt: skip
    took = time.perf_counter() - start
    rows = [
        [
            "biLM (char-CNN, 2x LSTM 512/128)",
            "training",
            f"{result.steps:,} steps x 32 windows of 64 words, {result.seconds / 60:.1f} min",
            f"stopped: {result.stopped}; {took / 60:.1f} min with vocabulary and probe",
        ],
        [
            "biLM (char-CNN, 2x LSTM 512/128)",
            "held-out perplexity",
            f"{(result.best or {}).get('perplexity', float('nan')):.1f}",
            "20k-word adaptive softmax, 256 held-out windows",
        ],
    ]
    for mix in ("top", "average"):
        margins = sense_margins(BiLMEncoder(result.model_dir, mix=mix))
        worst = min(margins, key=margins.__getitem__)
        rows.append(
            [
                "biLM (char-CNN, 2x LSTM 512/128)",
                f"word senses, mix={mix}: same-sense contexts closer than cross-sense",
                f"{sum(m > 0 for m in margins.values())} of {len(margins)} words",
                f"mean cosine margin {np.mean(list(margins.values())):+.3f};"
                f" smallest {worst} {margins[worst]:+.3f}",
            ]
        )
    return rows


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parts = sys.argv[1:] or ["mlm", "bilm"]
    rows: list[list[str]] = []
    for part in parts:
        rows += {"mlm": mlm, "mlm-probe": mlm_probe, "bilm": bilm}[part]()
    print(f"# pretrain ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(table(["model", "measure", "value", "note"], rows))


if __name__ == "__main__":
    main()
