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
3. The dated Reuters stream (32,770 headlines, 2018-2020) end to end with weekly windows, an
   entity list and z-score rules; the report renders (its PNG is checked for drawn pixels).
4. A planted shift on real headlines (Jan-Aug 2019): from the first window of June, the Fed's
   headlines are replaced by bearish tweets of the validation split that name no entity; the
   alert must come in the first window of the shift. The same headlines shuffled in time,
   without the shift, must raise no alert over the whole run.
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
            "Uber": [], "Netflix": [], "Microsoft": [], "Huawei": [], "Fed": ["Federal Reserve"],
            "China": ["Chinese"]}  # fmt: skip
WEEK = 7 * 86_400.0
# weekly windows: a company is in a few Reuters headlines a day at most
RULES = [Rule("entity-turns-negative", "zscore", metric="share_negative", key="each", z=3.0,
              trailing=8, min_count=5),
         Rule("market-drop", "zscore", key="*", z=4.0, trailing=8, min_count=50)]  # fmt: skip


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
    mon = Monitor(run_dir / "reuters", enc, probe, entities=EntityList(ENTITIES), rules=RULES,
                  window=WEEK)  # fmt: skip
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

    # a planted shift: from the first window of June 2019, the Fed's headlines are bearish tweets
    names = EntityList(ENTITIES)
    bearish = [
        t for t, y in zip(valid_x, valid_y, strict=True) if y == "bearish" and not names.find(t)
    ]
    rng = random.Random(0)
    shift = (parse_time("2019-06-01") // WEEK + 1) * WEEK  # a window's start
    span = (parse_time("2019-01-01"), parse_time("2019-09-01"))
    part = [i for i in items if span[0] <= i["time"] < span[1]]  # type: ignore[operator]
    planted = [
        {"time": i["time"], "text": "Fed: " + rng.choice(bearish)}
        if i["time"] >= shift and "Fed" in names.find(str(i["text"]))  # type: ignore[operator]
        else i
        for i in part
    ]
    write(run_dir / "planted.jsonl", planted)
    mon = Monitor(run_dir / "planted", enc, probe, entities=names, rules=RULES, window=WEEK)
    found = [a for a in mon.run(run_dir / "planted.jsonl") if a.key == "Fed"]
    first = datetime.fromtimestamp(found[0].window, tz=timezone.utc).date() if found else None
    start_day = datetime.fromtimestamp(shift, tz=timezone.utc).date()
    fed = mon.windows("Fed")
    print(f"\nplanted shift (the Fed from {start_day}, Jan-Aug 2019, {len(part):,} headlines, "
          f"weekly windows, Fed {np.mean([w['count'] for w in fed]):.1f} a week): "
          f"first Fed alert in the window of {first}; alerts on other keys: "
          f"{sum(a.key != 'Fed' for a in mon.alerts())}")  # fmt: skip
    shuffled = [dict(i) for i in part]
    times = [i["time"] for i in shuffled]
    rng.shuffle(times)
    for i, t in zip(shuffled, times, strict=True):
        i["time"] = t
    shuffled.sort(key=lambda r: r["time"])  # type: ignore[arg-type,return-value]
    write(run_dir / "shuffled.jsonl", shuffled)
    mon = Monitor(run_dir / "shuffled", enc, probe, entities=names, rules=RULES, window=WEEK)
    print(
        f"the same headlines shuffled in time, no shift: {len(mon.run(run_dir / 'shuffled.jsonl'))} alerts"
    )


if __name__ == "__main__":
    main()
