"""The sentiment monitor: classifiers on financial tweets, throughput, real streams, planted shifts.

Run: .venv/bin/python benchmarks/monitor.py [--only rules,topics]   (the fine-tuned row needs a model first:
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
4. Rules calibrated on a dev period, measured on a later one, for each classifier. Dev: 2018
   (Mar-Dec); a planted shift replaces every headline naming one entity (Tesla, Facebook,
   Amazon, the Fed, Apple; one stream each) from a window on by bearish tweets of the
   validation split that name no entity, and the same headlines shuffled in time (five seeds)
   carry no shift. A shift counts as caught when the alert comes in the first window the rule
   judges after it (the first with at least ``min_count`` items of the entity: a week with two
   headlines is not judged). Of a small grid (window of 7 or 14 days, z, least items; six
   trailing windows; the share of negative items), the settings with no alert on any shuffled
   stream are kept, then those catching the most shifts, then the strictest (the most margin on
   data not seen). Test: Jan-Aug 2019, the Fed from June, Apple from July and Amazon from May
   planted, five shuffled seeds. ``--classifiers finetuned`` skips the probe here.
5. New topics: k-means topics (k=16) fitted on the 2018 headlines, the 2019-2020 stream run
   with a new_topic rule; the topics found, with their first window and headlines.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sys
import time
from datetime import datetime, timezone

import numpy as np

from _common import SHARED, WORK, machine, table
from embedlab.apps.monitor import EntityList, FineTunedSentiment, Monitor, Rule, SentimentProbe
from embedlab.apps.stream import parse_time
from embedlab.encoders import load_encoder
from embedlab.neural import TextClassifier
from embedlab.records import read_columns

FIN = SHARED / "finance"
NAMES = {0: "bearish", 1: "bullish", 2: "neutral"}
ENTITIES = {"Apple": [], "Amazon": [], "Tesla": [], "Boeing": [], "Facebook": [], "Google": ["Alphabet"],
            "Uber": [], "Netflix": [], "Microsoft": [], "Huawei": [], "Fed": ["Federal Reserve"],
            "China": ["Chinese"]}  # fmt: skip
WEEK = 7 * 86_400.0
SHUFFLES = 5  # shuffled streams per period
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
    only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
    encoders = {
        "torch": load_encoder(None),
        "onnx-int8": load_encoder(None, backend="onnx", int8=True),
    }
    if only:  # the streams only: the int8 probe they use
        del encoders["torch"]
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
    if folder.exists() and not only:
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
    if only:
        if "rules" in only:
            for clf in classifiers(probe):
                planted_and_shuffled(enc, clf, valid_x, valid_y, items, run_dir)
        if "topics" in only:
            new_topics(enc, probe, items, run_dir)
        return
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

    for clf in classifiers(probe):
        planted_and_shuffled(enc, clf, valid_x, valid_y, items, run_dir)
    new_topics(enc, probe, items, run_dir)


class CachedSentiment(FineTunedSentiment):
    """The fine-tuned classifier, remembering what it said of each text."""

    def __init__(self, folder) -> None:  # type: ignore[no-untyped-def]
        super().__init__(
            TextClassifier.load(folder),
            label_names={"0": "bearish", "1": "bullish", "2": "neutral"},
        )
        self.seen = {}  # type: ignore[var-annotated]

    def predict_texts(self, texts):  # type: ignore[no-untyped-def]
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if new:
            labels, scores = super().predict_texts(new)
            self.seen.update(zip(new, zip(labels, scores, strict=True), strict=True))
        return [self.seen[t][0] for t in texts], np.array([self.seen[t][1] for t in texts])


def classifiers(probe):  # type: ignore[no-untyped-def]
    """The probe, and the fine-tuned MiniLM when benchmarks/_work/fin_clf holds one
    (``--classifiers finetuned``: that one only)."""
    out = [("probe on MiniLM (onnx-int8)", probe)]
    if "--classifiers" in sys.argv and sys.argv[sys.argv.index("--classifiers") + 1] == "finetuned":
        out = []
    if (WORK / "fin_clf" / "model").exists():
        out.append(("fine-tuned MiniLM", CachedSentiment(WORK / "fin_clf" / "model")))
    return out


class Cached:
    """An encoder that remembers the vectors of texts it saw (the grid reruns the same streams)."""

    def __init__(self, encoder) -> None:  # type: ignore[no-untyped-def]
        self.encoder, self.seen = encoder, {}  # type: ignore[var-annotated]

    def encode(self, texts, normalize=True):  # type: ignore[no-untyped-def]
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if new:
            self.seen.update(zip(new, self.encoder.encode(new, normalize=True), strict=True))
        return np.vstack([self.seen[t] for t in texts])


def planted(part, names, bearish, entity, shift, seed):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    return [
        {"time": i["time"], "text": f"{entity}: " + rng.choice(bearish)}
        if i["time"] >= shift and entity in names.find(str(i["text"]))
        else i
        for i in part
    ]


def shuffled(part, seed):  # type: ignore[no-untyped-def]
    out = [dict(i) for i in part]
    times = [i["time"] for i in out]
    random.Random(seed).shuffle(times)
    for i, t in zip(out, times, strict=True):
        i["time"] = t
    return sorted(out, key=lambda r: r["time"])


def grid():  # type: ignore[no-untyped-def]
    """(window in days, rules), least strict first: a lower z, fewer items, a shorter window."""
    out = []
    for z in (3.0, 3.5, 4.0):
        for min_count in (5, 10):
            for days in (7, 14):
                out.append((days, [
                    Rule("entity-turns-negative", "zscore", metric="share_negative", key="each",
                         z=z, trailing=6, min_count=min_count),
                    Rule("market-drop", "zscore", key="*", z=4.0, trailing=6, min_count=50),
                ]))  # fmt: skip
    return out


def alerts_of(enc, probe, names, setting, stream, folder, key="*"):  # type: ignore[no-untyped-def]
    """The alerts of a fresh monitor over ``stream``, and ``key``'s windows."""
    days, rules = setting
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write(folder / "stream.jsonl", stream)
    mon = Monitor(folder / "state", enc, probe, entities=names, rules=rules, window=days * 86_400.0)
    try:
        return mon.run(folder / "stream.jsonl"), mon.windows(key)
    finally:
        mon.close()


def window_of(when: float, days: int) -> float:
    """The start of the first whole window of ``days`` at or after ``when``."""
    size = days * 86_400.0
    return math.ceil(when / size) * size


def planted_and_shuffled(enc, named, valid_x, valid_y, items, run_dir) -> None:  # type: ignore[no-untyped-def]
    title, probe = named
    print(f"\n## planted shifts and shuffled streams, classified by the {title}\n", flush=True)
    names = EntityList(ENTITIES)
    enc = Cached(enc)
    bearish = [
        t for t, y in zip(valid_x, valid_y, strict=True) if y == "bearish" and not names.find(t)
    ]
    periods = {
        "dev": ((parse_time("2018-01-01"), parse_time("2019-01-01")),
                [("Tesla", "2018-09-01"), ("Facebook", "2018-10-01"), ("Amazon", "2018-11-01"),
                 ("Fed", "2018-07-01"), ("Apple", "2018-08-01")]),
        "test": ((parse_time("2019-01-01"), parse_time("2019-09-01")),
                 [("Fed", "2019-06-01"), ("Apple", "2019-07-01"), ("Amazon", "2019-05-01")]),
    }  # fmt: skip
    streams = {}
    for period, ((lo, hi), plants) in periods.items():
        part = [i for i in items if lo <= i["time"] < hi]
        streams[period] = (
            part, [(e, parse_time(d), n) for n, (e, d) in enumerate(plants)],
            [shuffled(part, seed) for seed in range(SHUFFLES)],
        )  # fmt: skip
    work = run_dir / "grid"

    def run(period, setting, verbose=False):  # type: ignore[no-untyped-def]
        part, plants, shuffles = streams[period]
        days = setting[0]
        shifted = [
            (e, window_of(t, days), planted(part, names, bearish, e, window_of(t, days), n))
            for e, t, n in plants
        ]
        return outcome(enc, probe, names, setting, shifted, shuffles, work, verbose)

    scored = []
    n_plants = len(streams["dev"][1])
    for n, setting in enumerate(grid()):
        caught, false = run("dev", setting)
        scored.append((n, setting, caught, false))
        print(f"  {describe(setting)}: {caught}/{n_plants} caught, {false} false", flush=True)
    # no false alert on dev; then the most shifts caught; then the strictest (the most margin
    # against false alerts on data not seen): the grid runs from least to most strict
    clean = [s for s in scored if s[3] == 0]
    best = max(clean, key=lambda s: (s[2], s[0])) if clean else None
    rows = [[describe(r), f"{c}/{n_plants}", str(f)] for _, r, c, f in scored]
    print(table(["setting (dev: 2018)", "planted shifts caught in their first judged window",
                 f"alerts on {SHUFFLES} shuffled streams"], rows))  # fmt: skip
    if best is None:
        print("no setting ran the shuffled streams without a false alert")
        return
    print(f"\nchosen on dev: {describe(best[1])}")
    run("dev", best[1], verbose=True)
    caught, false = run("test", best[1], verbose=True)
    print(f"test (Jan-Aug 2019): caught {caught}/{len(streams['test'][1])} planted shifts in "
          f"their first judged window, {false} alerts on {SHUFFLES} shuffled streams")  # fmt: skip


def describe(setting) -> str:  # type: ignore[no-untyped-def]
    days, rules = setting
    r = rules[0]
    return f"{days}-day windows, {r.metric} z={r.z} min_count={r.min_count} trailing={r.trailing}"


def outcome(enc, probe, names, setting, plants, shuffles, work, verbose=False):  # type: ignore[no-untyped-def]
    rules = setting[1]
    caught = 0
    for entity, shift, stream in plants:
        alerts, windows = alerts_of(enc, probe, names, setting, stream, work, entity)
        first = [a for a in alerts if a.key == entity and a.window >= shift]
        # the first window the rule judges: from the shift on, with enough items of the entity
        judged = [w for w in windows if w["start"] >= shift and w["count"] >= rules[0].min_count]
        hit = bool(first) and bool(judged) and first[0].window == judged[0]["start"]
        caught += hit
        if verbose:
            before = [w for w in windows if w["start"] < shift][-6:]
            w = (
                judged[0]
                if judged
                else {"start": shift, "count": 0, "share_negative": 0.0, "mean": 0.0}
            )
            counts = [b["count"] for b in before]
            share = np.average([b["share_negative"] for b in before], weights=counts)
            early = [a for a in alerts if a.key == entity and a.window < shift]
            day = datetime.fromtimestamp(shift, tz=timezone.utc).date()
            seen = datetime.fromtimestamp(w["start"], tz=timezone.utc).date()
            said = "alert in that window" if hit else "no alert in that window"
            if first:
                later = datetime.fromtimestamp(first[0].window, tz=timezone.utc).date()
                said += (
                    f" (first alert {later}: {first[0].value:.2f} against {first[0].baseline:.2f})"
                )
            print(f"  {entity} replaced from {day}: first judged window {seen}, {w['count']} "
                  f"items, share negative {w['share_negative']:.2f}; the 6 windows before: "
                  f"{sum(counts)} items, share negative {share:.2f}; {said}; {len(early)} alerts "
                  f"on {entity} before the shift")  # fmt: skip
    false = 0
    for stream in shuffles:
        alerts, _ = alerts_of(enc, probe, names, setting, stream, work)
        false += len(alerts)
        if verbose:
            for a in alerts:
                day = datetime.fromtimestamp(a.window, tz=timezone.utc).date()
                print(f"  shuffled: {day} {a.key} {a.value:.2f} against {a.baseline:.2f}")
    return caught, false


def new_topics(enc, probe, items, run_dir) -> None:  # type: ignore[no-untyped-def]
    from embedlab.apps.monitor import Topics

    enc = Cached(enc)
    cut = parse_time("2019-01-01")
    history = [str(i["text"]) for i in items if i["time"] < cut]
    topics = Topics(k=16).fit(enc.encode(history), history)
    print("\ntopics fitted on 2018: " + ", ".join(topics.names_))
    rules = [Rule("new-topic", "new_topic", min_count=8, similarity=0.55)]
    folder = run_dir / "topics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write(folder / "stream.jsonl", [i for i in items if i["time"] >= cut])
    mon = Monitor(folder / "state", enc, probe, rules=rules, window=WEEK, topics=topics)
    found = mon.run(folder / "stream.jsonl")
    print(f"new topics in 2019-2020 (weekly windows): {len(found)}")
    for a in found:
        day = datetime.fromtimestamp(a.window, tz=timezone.utc).date()
        print(f"  {day} {a.key} ({a.value:.0f} headlines): {a.headlines[0][:80]}")
    mon.close()


if __name__ == "__main__":
    main()
