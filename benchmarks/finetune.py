"""Fine-tuning all-MiniLM-L6-v2: SST-2 and ChnSentiCorp classification, STS-B contrastive.

Run: .venv/bin/python benchmarks/finetune.py [sst2] [chn] [contrastive]   (default: all three)

- sst2: the full SST-2 train set (67,349 sentences), validation = the GLUE dev set (872), 2 threads,
  at most 3 epochs and 40 minutes of training (goal: dev accuracy >= 88% within 45 minutes in all).
- chn: ChnSentiCorp hotel reviews, a random 80/20 split with seed 0 (stratified by label);
  fine-tuned MiniLM (as is: its English vocabulary reads ~63% of the characters as [UNK]; and with
  ``extend_vocab=4000``, the frequent unknown characters added) against a logistic-regression probe
  on MiniLM's sentence vectors. Model selection on 10% of the training part; test set unseen.
- contrastive: MultipleNegativesRanking fine-tuning on STS-B English train pairs with score >= 4
  (of 5) as positives; STS-B dev Spearman before and after, from embedlab's evaluation runner.
Writes its models under benchmarks/_work/finetune/ and prints a Markdown table.
"""

from __future__ import annotations

import logging
import sys
import time

from _common import SHARED, WORK, machine, table
from embedlab.encoders.folders import default_model_path
from embedlab.neural.classify import LabeledTexts, TextClassifier, finetune_classifier
from embedlab.neural.training import TrainingArguments

OUT = WORK / "finetune"
SST = SHARED / "sentiment" / "en" / "sst2"
CHN = SHARED / "sentiment" / "zh" / "ChnSentiCorp_htl_all.csv"


def sst2() -> list[list[str]]:
    start = time.perf_counter()
    train_set = LabeledTexts.read(SST / "train.tsv", text="sentence", label="label")
    dev = LabeledTexts.read(SST / "dev.tsv", text="sentence", label="label")
    args = TrainingArguments(
        OUT / "sst2", learning_rate=5e-5, batch_size=32, epochs=3, max_time=40 * 60,
        eval_every=500, patience=4, checkpoint_every=1000, threads=2, seed=0,
        tensorboard=OUT / "sst2" / "tb",
    )  # fmt: skip
    result, report = finetune_classifier(
        str(default_model_path()), train_set, validation=dev, args=args, max_length=128
    )
    took = time.perf_counter() - start
    best = result.best or {}
    return [
        ["SST-2", "training data", f"{len(train_set.texts):,} sentences (all)", "-"],
        [
            "SST-2",
            "steps / epochs",
            f"{result.steps:,} / {result.epochs:.2f} (stopped: {result.stopped})",
            "batch 32, lr 5e-5, bf16 autocast",
        ],
        [
            "SST-2",
            "wall time incl. tokenizing and evaluation",
            f"{took / 60:.1f} min",
            "goal <= 45",
        ],
        [
            "SST-2",
            "dev accuracy / macro-F1 (best checkpoint)",
            f"{report.accuracy:.4f} / {report.macro_f1:.4f}",
            f"goal >= 0.88; best at step {best.get('step', '-')}",
        ],
    ]


def chn() -> list[list[str]]:
    import numpy as np

    from embedlab.encoders import TransformerEncoder
    from embedlab.evaluate.classification import probe_scores

    data = LabeledTexts.read(CHN, text="review", label="label")
    train_set, test = data.split(0.2, seed=0)
    tuned = {}
    for name, extend in (("plain", 0), ("extended", 4000)):
        start = time.perf_counter()
        args = TrainingArguments(
            OUT / f"chn_{name}", learning_rate=1e-4, batch_size=32, epochs=3, eval_every=100,
            max_time=20 * 60, patience=3, checkpoint_every=None, threads=2, seed=0,
        )  # fmt: skip
        # early stopping / best checkpoint on 10% of the training part; the test set stays unseen
        result, _ = finetune_classifier(
            str(default_model_path()), train_set, validation_split=0.1, args=args,
            max_length=128, extend_vocab=extend,
        )  # fmt: skip
        report = TextClassifier.load(result.model_dir, threads=2, max_length=128).evaluate(test)
        tuned[name] = (result, report, time.perf_counter() - start)
    start = time.perf_counter()
    enc = TransformerEncoder(threads=2)
    x_train, x_test = enc.encode(train_set.texts), enc.encode(test.texts)
    probe = probe_scores(
        np.asarray(x_train), train_set.labels, x_test=np.asarray(x_test), y_test=test.labels
    )
    probed = time.perf_counter() - start
    split = f"{len(train_set.texts):,} / {len(test.texts):,} (seed 0)"
    return [
        ["ChnSentiCorp", "train / test", split, "stratified 80/20"],
        *[
            [
                "ChnSentiCorp",
                f"fine-tuned MiniLM{' + vocabulary extension' if name == 'extended' else ''}:"
                " accuracy / macro-F1",
                f"{report.accuracy:.4f} / {report.macro_f1:.4f}",
                f"{result.steps} steps ({result.epochs:.2f} epochs, stopped: {result.stopped}),"
                f" lr 1e-4, max 128 tokens, {took / 60:.1f} min",
            ]
            for name, (result, report, took) in tuned.items()
        ],
        [
            "ChnSentiCorp",
            "linear probe on MiniLM vectors: accuracy / macro-F1",
            f"{probe.accuracy:.4f} / {probe.macro_f1:.4f}",
            f"logistic regression, {probed / 60:.1f} min",
        ],
    ]


def contrastive() -> list[list[str]]:
    from embedlab.encoders import TransformerEncoder
    from embedlab.evaluate import evaluate
    from embedlab.evaluate.tasks import TaskSpec
    from embedlab.neural import TextPairs, finetune_contrastive
    from embedlab.records import read_columns

    sts = SHARED / "sts" / "stsb"
    cols = {"a": 0, "b": 1, "score": 2}
    train_rows = read_columns(sts / "stsb-en-train.csv", cols, numeric=["score"], header=False)
    keep = [i for i, x in enumerate(train_rows["score"]) if x >= 4.0]
    pairs = TextPairs([train_rows["a"][i] for i in keep], [train_rows["b"][i] for i in keep])
    dev = read_columns(sts / "stsb-en-dev.csv", cols, numeric=["score"], header=False)
    start = time.perf_counter()
    args = TrainingArguments(
        OUT / "contrastive", learning_rate=2e-5, batch_size=32, epochs=1, warmup_ratio=0.1,
        checkpoint_every=None, threads=2, seed=0, precision="fp32",
    )  # fmt: skip
    result = finetune_contrastive(
        None, pairs, args=args, validation=(dev["a"], dev["b"], dev["score"])
    )
    took = time.perf_counter() - start
    spec = TaskSpec(
        name="stsb-en-dev", type="sts", files={"data": str(sts / "stsb-en-dev.csv")},
        columns={"text1": 0, "text2": 1, "score": 2}, header=False,
    )  # fmt: skip
    report = evaluate(
        {
            "base": TransformerEncoder(threads=2),
            "tuned": TransformerEncoder(result.model_dir, threads=2),
        },
        [spec],
    )
    scores = {m: report.get(m, "stsb-en-dev").main or 0.0 for m in ("base", "tuned")}  # type: ignore[union-attr]
    return [
        [
            "STS-B contrastive",
            "train pairs (score >= 4)",
            f"{len(keep):,} of {len(train_rows['a']):,}",
            "in-batch negatives, batch 32, 1 epoch, lr 2e-5",
        ],
        [
            "STS-B contrastive",
            "dev Spearman x100: base / fine-tuned",
            f"{100 * scores['base']:.2f} / {100 * scores['tuned']:.2f}",
            f"{took / 60:.1f} min training (fp32)",
        ],
    ]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parts = sys.argv[1:] or ["sst2", "chn", "contrastive"]
    rows: list[list[str]] = []
    for part in parts:
        rows += {"sst2": sst2, "chn": chn, "contrastive": contrastive}[part]()
    print(f"# finetune ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(table(["task", "measure", "value", "note"], rows))


if __name__ == "__main__":
    main()
