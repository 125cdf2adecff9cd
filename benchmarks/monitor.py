"""The sentiment monitor: classifiers on financial tweets, throughput, real streams, planted shifts.

Run: .venv/bin/python benchmarks/monitor.py   (the fine-tuned row needs a model first:
  embedlab finetune classify default .../sent_train.csv -o benchmarks/_work/fin_clf --text text
  --label label --validation-split 0.1 --epochs 3 --max-length 64 --batch-size 32 --lr 5e-5)

1. Classifiers on twitter_financial_news_sentiment: trained on sent_train (9,543), reported on
   sent_valid (2,388): the probe (logistic regression on all-MiniLM-L6-v2, torch and ONNX int8
   vectors) and MiniLM fine-tuned end to end (its best checkpoint picked on 10% of the *train*
   split); accuracy and macro-F1.
2. Throughput of the probe path, end to end (read the JSONL stream, encode with MiniLM ONNX int8,
   classify, count windows in SQLite): items per second on the first 10,000 Reuters headlines.
3. The dated Reuters stream (32,770 headlines, 2018-2020) end to end with daily windows, an
   entity list and rules; the report renders (its PNG is checked for drawn pixels).
4. A planted shift on real headlines: from a given day the headlines of one entity are replaced
   by bearish tweets of the validation split mentioning nothing else; the alert must come in the
   first window after the shift. The same stream shuffled in time, without the shift, must raise
   no alert over the whole run.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from datetime import datetime, timezone

import numpy as np

from _common import SHARED, WORK, machine, table
from embedlab.apps.monitor import EntityList, Monitor, Rule, SentimentProbe
from embedlab.apps.stream import parse_time
from embedlab.encoders import load_encoder
from embedlab.records import read_columns

FIN = SHARED / "finance"
NAMES = {0: "bearish", 1: "bullish", 2: "neutral"}
ENTITIES = {"Apple": [], "Amazon": [], "Tesla": [], "Boeing": [], "Facebook": [], "Google": ["Alphabet"],
            "Uber": [], "Netflix": [], "Microsoft": [], "Huawei": []}  # fmt: skip
RULES = [Rule("entity-drop", "zscore", key="each", z=4.0, trailing=14, min_count=5),
         Rule("market-drop", "zscore", key="*", z=4.0, trailing=14, min_count=20)]  # fmt: skip


def labelled(split: str) -> tuple[list[str], list[str]]:
    rows = read_columns(FIN / "twitter_financial_news_sentiment" / f"sent_{split}.csv",
                        {"text": "text", "label": "label"})  # fmt: skip
    return [str(t) for t in rows["text"]], [NAMES[int(x)] for x in rows["label"]]


def scores(gold: list[str], predicted: list[str]) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return accuracy_score(gold, predicted), f1_score(gold, predicted, average="macro")


def reuters(limit: int | None = None) -> list[dict[str, object]]:
    rows = read_columns(FIN / "financial_news_headlines" / "reuters_headlines.csv",
                        {"text": "Headlines", "time": "date_iso"})  # fmt: skip
    items = [
        {"time": parse_time(t), "text": str(x)}
        for x, t in zip(rows["text"], rows["time"], strict=True)
    ]
    items.sort(key=lambda r: r["time"])  # type: ignore[arg-type,return-value]
    return items[:limit]


def write(path, items) -> None:  # type: ignore[no-untyped-def]
    path.write_text("".join(json.dumps(i) + "\n" for i in items))


def main() -> None:
    print(f"# sentiment monitor ({machine()}, {time.strftime('%Y-%m-%d')})\n", flush=True)
    train_x, train_y = labelled("train")
    valid_x, valid_y = labelled("valid")
    rows = []
    encoders = {
        "torch": load_encoder(None),
        "onnx-int8": load_encoder(None, backend="onnx", int8=True),
    }
    probes = {}
    for name, enc in encoders.items():
        start = time.perf_counter()
        probe = SentimentProbe(encoder=None).fit(enc, train_x, train_y)
        took = time.perf_counter() - start
        labels, _ = probe.predict(np.asarray(enc.encode(valid_x, normalize=True)))
        acc, f1 = scores(valid_y, labels)
        rows.append([f"probe on MiniLM ({name})", f"{acc:.4f}", f"{f1:.4f}", f"{took:.0f} s"])
        probes[name] = probe
        print(rows[-1], flush=True)
    folder = WORK / "fin_clf" / "model"
    if folder.exists():
        from embedlab.neural import TextClassifier

        clf = TextClassifier.load(folder)
        start = time.perf_counter()
        predicted = clf.predict(valid_x)
        acc, f1 = scores(
            valid_y, [NAMES.get(int(p), p) if str(p).isdigit() else p for p in predicted]
        )
        rows.append(["MiniLM fine-tuned (finetune classify)", f"{acc:.4f}", f"{f1:.4f}",
                     f"predicts {len(valid_x) / (time.perf_counter() - start):.0f}/s"])  # fmt: skip
    print(table(["classifier (sent_valid, 2,388 tweets)", "accuracy", "macro-F1", "fit"], rows))

    enc, probe = encoders["onnx-int8"], probes["onnx-int8"]
    run_dir = WORK / "monitor_runs"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    items = reuters()
    write(run_dir / "first10k.jsonl", items[:10_000])
    mon = Monitor(run_dir / "speed", enc, probe, entities=EntityList(ENTITIES))
    start = time.perf_counter()
    mon.run(run_dir / "first10k.jsonl")
    rate = 10_000 / (time.perf_counter() - start)
    print(
        f"\nprobe path end to end (MiniLM ONNX int8): {rate:,.0f} items/s over 10,000 headlines\n"
    )

    write(run_dir / "reuters.jsonl", items)
    mon = Monitor(run_dir / "reuters", enc, probe, entities=EntityList(ENTITIES), rules=RULES)
    start = time.perf_counter()
    alerts = mon.run(run_dir / "reuters.jsonl")
    took = time.perf_counter() - start
    from embedlab.apps.monitor_report import write_report

    html, png = write_report(run_dir / "reuters", run_dir / "reuters.html")
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("L")).astype(int)
    days = {int(i["time"] // 86_400) for i in items}  # type: ignore[operator]
    print(f"Reuters stream: {len(items):,} headlines over {len(days)} days in {took:.0f} s; "
          f"{len(alerts)} alerts; report {html.name} ({pixels.shape[1]}x{pixels.shape[0]} PNG, "
          f"pixel sd {pixels.std():.1f})")  # fmt: skip
    for a in alerts[:8]:
        day = datetime.fromtimestamp(a.window, tz=timezone.utc).date()
        print(
            f"  {day} {a.key}: {a.rule} {a.value:.2f} (baseline {a.baseline:.2f}) - {a.headlines[0][:70]}"
        )

    # a planted shift: Boeing's headlines turn into bearish tweets from 2019-06-01
    bearish = [t for t, y in zip(valid_x, valid_y, strict=True) if y == "bearish"
               and not EntityList(ENTITIES).find(t)]  # fmt: skip
    rng = random.Random(0)
    shift = parse_time("2019-06-01")
    planted = []
    for item in items:
        if item["time"] >= shift and "Boeing" in EntityList(ENTITIES).find(str(item["text"])):  # type: ignore[operator]
            planted.append({"time": item["time"], "text": "Boeing: " + rng.choice(bearish)})
        else:
            planted.append(item)
    window_items = [
        i for i in planted if parse_time("2019-04-01") <= i["time"] < parse_time("2019-07-01")
    ]  # type: ignore[operator]
    write(run_dir / "planted.jsonl", window_items)
    mon = Monitor(run_dir / "planted", enc, probe, entities=EntityList(ENTITIES), rules=RULES[:1])
    found = [a for a in mon.run(run_dir / "planted.jsonl") if a.key == "Boeing"]
    first = datetime.fromtimestamp(found[0].window, tz=timezone.utc).date() if found else None
    print(
        f"\nplanted shift (Boeing from 2019-06-01, Apr-Jun 2019 stream): first Boeing alert {first}"
    )
    shuffled = [
        dict(i) for i in items if parse_time("2019-04-01") <= i["time"] < parse_time("2019-07-01")
    ]  # type: ignore[operator]
    times = [i["time"] for i in shuffled]
    rng.shuffle(times)
    for i, t in zip(shuffled, times, strict=True):
        i["time"] = t
    shuffled.sort(key=lambda r: r["time"])  # type: ignore[arg-type,return-value]
    write(run_dir / "shuffled.jsonl", shuffled)
    mon = Monitor(run_dir / "shuffled", enc, probe, entities=EntityList(ENTITIES), rules=RULES)
    print(f"shuffled stream without a shift: {len(mon.run(run_dir / 'shuffled.jsonl'))} alerts")


if __name__ == "__main__":
    main()
