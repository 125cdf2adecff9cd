"""Pretraining from en_gutenberg_1m: a tiny BERT with masked LM, and the ELMo-style biLM.

Run: .venv/bin/python benchmarks/pretrain.py [mlm] [bilm]   (default: both)

- mlm: WordPiece (16k) trained on the corpus, then a 4-layer BERT (hidden 256, 4 heads) trained with
  dynamic masking for a fixed budget of 28 minutes on 2 threads (the step count is set from a short
  probe so the learning rate decays to zero in time). Reported: the MLM loss curve (TensorBoard
  event files under benchmarks/_work/pretrain/mlm/tb), and STS-B English test Spearman of
  mean-pooled sentence vectors against a randomly initialised twin (same config and seed).
- bilm: the biLM with a character CNN, trained for 15 minutes; reported: held-out perplexity and
  the hand-made word-sense pairs (same word, same sense vs different sense).
"""

from __future__ import annotations

import logging
import sys
import time

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
    config = model_config("bert", tok, hidden=256, layers=4, heads=4, max_positions=512)
    common = dict(batch_size=32, learning_rate=5e-4, threads=2, seed=0, log_every=10)
    probe = pretrain(
        CORPUS, tokenizer=tok, config=config, block_size=128,
        args=TrainingArguments(OUT / "probe", max_steps=15, checkpoint_every=None, **common),
    )  # fmt: skip
    per_step = probe.seconds / probe.steps
    steps = int(BUDGET * 0.95 / per_step)
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


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parts = sys.argv[1:] or ["mlm", "bilm"]
    rows: list[list[str]] = []
    for part in parts:
        rows += {"mlm": mlm, "bilm": bilm}[part]()
    print(f"# pretrain ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(table(["model", "measure", "value", "note"], rows))


if __name__ == "__main__":
    main()
