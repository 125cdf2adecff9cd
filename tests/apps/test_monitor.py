"""The sentiment monitor on planted streams: a shift raises an alert in its first window, no
shift raises none, a killed monitor restarts to the exact counts, bad lines are named."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from monitorkit import DAY, probe, stream

from embedlab.apps.monitor import EntityList, Monitor, Rule, jsonl_sink
from embedlab.errors import FormatError, ParameterError
from toyencoders import WordHash

pytest.importorskip("sklearn")
NAMES = EntityList({"ACME": ["Acme Corp"], "Globex": [], "Initech": []})
RULES = [Rule("acme-drop", "zscore", key="ACME", z=3.0, trailing=7, min_count=3),
         Rule("any-entity-drop", "zscore", key="each", z=4.0, trailing=7, min_count=3)]  # fmt: skip


def test_probe_scores_planted_sentiment() -> None:
    p = probe()
    labels, scores = p.predict(
        WordHash().encode(["shares plunge on heavy losses", "strong growth beats forecasts"])
    )
    assert labels == ["bearish", "bullish"] and scores[0] < -0.5 < 0.5 < scores[1]


def test_a_planted_shift_alerts_in_its_first_window(tmp_path: Path) -> None:
    stream(tmp_path / "news.jsonl", shift_from=15)
    seen = []
    m = Monitor(tmp_path / "m", WordHash(), probe(), entities=NAMES, rules=RULES,
                sinks=[seen.append, jsonl_sink(tmp_path / "alerts.jsonl")])  # fmt: skip
    alerts = m.run(tmp_path / "news.jsonl")
    acme = [a for a in alerts if a.rule == "acme-drop"]
    assert acme and acme[0].window == 15 * DAY  # the first window after the shift
    assert all(a.key == "ACME" for a in alerts)
    assert acme[0].value < acme[0].baseline and all("ACME" in h for h in acme[0].headlines)
    assert len(seen) == len(alerts) == len((tmp_path / "alerts.jsonl").read_text().splitlines())
    days = m.windows("ACME")
    assert len(days) == 24 and days[20]["share_negative"] > 0.9 and days[3]["count"] == 5


def test_no_shift_no_alert(tmp_path: Path) -> None:
    stream(tmp_path / "news.jsonl", seed=3)
    m = Monitor(tmp_path / "m", WordHash(), probe(), entities=NAMES, rules=RULES)
    assert m.run(tmp_path / "news.jsonl") == [] and m.alerts() == []


def test_a_killed_monitor_restarts_to_the_exact_counts(tmp_path: Path) -> None:
    stream(tmp_path / "news.jsonl", days=6)
    probe().save(tmp_path / "probe.json")
    whole = Monitor(tmp_path / "whole", WordHash(), probe())
    whole.run(tmp_path / "news.jsonl", batch_size=7)
    kit = Path(__file__).with_name("monitorkit.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(kit.parent.parent), *sys.path])}
    args = [sys.executable, str(kit), str(tmp_path / "killed"), str(tmp_path / "news.jsonl")]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL)
    db = tmp_path / "killed" / "monitor.sqlite"
    deadline = time.monotonic() + 60
    while True:  # wait until some batches are in, then kill it mid-stream
        assert time.monotonic() < deadline and proc.poll() is None
        try:
            with sqlite3.connect(db) as con:
                row = con.execute("SELECT line FROM position").fetchone()
        except sqlite3.Error:
            row = None
        if row and row[0] > 30:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = Monitor(tmp_path / "killed", WordHash(), probe())
    assert 30 < killed.position(str(tmp_path / "news.jsonl")).line < 120
    killed.run(tmp_path / "news.jsonl", batch_size=7)
    assert killed.counts() == whole.counts()
    assert killed.con.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 120


def test_a_growing_file_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"time": "2020-01-01T10:00:00", "text": "ACME shares soar"}\n{"time": 1577880000'
    )
    m = Monitor(tmp_path / "m", WordHash(), probe())
    m.run(path)
    assert m.position(str(path)).line == 1  # the half-written line waits
    with path.open("a") as f:
        f.write(
            ', "text": "ACME plunge"}\n{"text": "no time here"}\n{"time": 1577890000, "text": "ok"}\n'
        )
    with pytest.raises(FormatError, match=r"s\.jsonl, line 3: expected a time in 'time'"):
        m.run(path)
    m.run(path, skip_bad=True)
    assert m.position(str(path)).line == 4 and m.position(str(path)).bad == 1
    assert sum(w["count"] for w in m.windows()) == 3
    (tmp_path / "e.yaml").write_text("ACME: [Acme Corp]\n")
    with pytest.raises(FormatError, match=r"e\.yaml: expected an entity list as \.json"):
        EntityList.read(tmp_path / "e.yaml")
    (tmp_path / "e.txt").write_text("ACME\tAcme Corp, Acme\nGLX\tGlobex\n")
    names = EntityList.read(tmp_path / "e.txt")
    assert names.find("Acme Corp and $glx beat Globex") == ["ACME", "GLX"]


def test_the_monitor_commands_and_the_report(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import numpy as np
    from monitorkit import BAD, GOOD, PLAIN
    from PIL import Image

    from clirun import run

    # the CLI loads encoders by name; here every name is the word-hash toy
    monkeypatch.setattr("embedlab.encoders.load_encoder", lambda *a, **k: WordHash())
    rows = ["text,label"] + [f"{t} {w},{lab}" for lab, pool in (("0", BAD), ("1", GOOD), ("2", PLAIN))
                             for t in pool for w in ("today", "again", "now")]  # fmt: skip
    (tmp_path / "labelled.csv").write_text("\n".join(rows) + "\n")
    code, _, err = run(
        capsys, "monitor", "train", str(tmp_path / "labelled.csv"), "-o", str(tmp_path / "p.json")
    )
    assert code == 1 and "--label-names 0=bearish" in err
    names = "0=bearish,1=bullish,2=neutral"
    code, out, err = run(capsys, "monitor", "train", str(tmp_path / "labelled.csv"), "-o",
                         str(tmp_path / "p.json"), "--label-names", names)  # fmt: skip
    assert code == 0 and "probe on 27 texts (bearish, bullish, neutral)" in out, err
    stream(tmp_path / "news.jsonl", shift_from=15)
    (tmp_path / "names.json").write_text('{"ACME": ["Acme Corp"], "Globex": []}')
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {name: acme-drop, kind: zscore, key: ACME, min_count: 3}\n"
    )
    state = tmp_path / "state"
    args = ["monitor", "run", str(tmp_path / "news.jsonl"), "-s", str(state), "--probe",
            str(tmp_path / "p.json"), "--entities", str(tmp_path / "names.json"), "--rules",
            str(tmp_path / "rules.yaml"), "--alerts", str(tmp_path / "alerts.jsonl")]  # fmt: skip
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert out.startswith("ALERT ") and '"rule": "acme-drop"' in out and "read lines 1-480" in err
    code, out, err = run(capsys, *args)  # nothing new: no line read twice
    assert code == 0 and out == "" and "read lines 481-480" in err
    code, out, err = run(capsys, "monitor", "report", str(state), "-o", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "acme-drop" in page and "ACME shares plunge" in page and "data:image/png;base64," in page
    png = np.asarray(Image.open(tmp_path / "r.png").convert("RGB")).astype(int)
    assert png.shape[0] > 300 and png.std() > 10  # drawn, not blank
    red = (png[:, :, 0] > 180) & (png[:, :, 1] < 80) & (png[:, :, 2] < 80)
    assert red.sum() > 20  # the alert markers


def test_the_monitor_routes(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from embedlab.server import ServerConfig
    from embedlab.server.app import create_app
    from serverrun import Running

    monitor = Monitor(tmp_path / "state", WordHash(), probe(), entities=NAMES, rules=RULES[:1])
    app = create_app(ServerConfig(models={}), monitors={"news": monitor})
    good, bad = "ACME shares soar on record profit", "ACME lawsuit hits profit warning"
    items = [{"time": d * DAY + n, "text": good if d < 15 else bad}
             for d in range(17) for n in range(4)]  # fmt: skip
    with Running(app) as url:
        r = httpx.post(f"{url}/v1/monitor/news/items", json={"items": items[:60]}, timeout=30)
        assert r.status_code == 200 and r.json()["items"] == 60, r.text
        r = httpx.post(f"{url}/v1/monitor/news/items", json={"items": items[60:]}, timeout=30)
        assert [a["key"] for a in r.json()["alerts"]] == ["ACME"]
        state = httpx.get(
            f"{url}/v1/monitor/news", params={"key": "ACME", "last": 5}, timeout=30
        ).json()
        assert len(state["windows"]) == 5 and state["windows"][-1]["share_negative"] == 1.0
        assert state["alerts"][0]["window"] == 15 * DAY
        bad = {"items": [{"time": "yesterday-ish", "text": "x"}]}
        r = httpx.post(f"{url}/v1/monitor/news/items", json=bad, timeout=30)
        assert r.status_code == 422 and "item 0: expected a 'time'" in r.json()["error"]["message"]
        r = httpx.post(f"{url}/v1/monitor/nope/items", json={"items": items[:1]}, timeout=30)
        assert r.status_code == 404


def test_zero_shot_sentiment_from_label_descriptions(tmp_path: Path) -> None:
    from embedlab.apps.monitor import ZeroShotSentiment
    from embedlab.errors import ParameterError

    zs = ZeroShotSentiment(WordHash(), {"bearish": "plunge losses lawsuit crashes",
                                        "bullish": "soar profit growth rallies"})  # fmt: skip
    labels, scores = zs.predict(
        WordHash().encode(["shares plunge on heavy losses", "stock rallies on profit"])
    )
    assert labels == ["bearish", "bullish"] and scores[0] < 0 < scores[1]
    m = Monitor(tmp_path / "m", WordHash(), zs)  # a drop-in for the probe
    stream(tmp_path / "s.jsonl", days=2)
    m.run(tmp_path / "s.jsonl")
    assert sum(w["count"] for w in m.windows()) == 40
    with pytest.raises(ParameterError, match="have no value"):
        ZeroShotSentiment(WordHash(), {"meh": "so so"})


def test_topics_cluster_and_name_a_planted_stream() -> None:
    from embedlab.apps.topics import Topics

    rng = np.random.default_rng(0)
    themes = {"oil": "oil prices opec crude barrel", "rates": "fed rates inflation bonds",
              "chips": "chip semiconductor shortage factory"}  # fmt: skip
    texts = [
        f"{words.split()[rng.integers(4)]} {words} week"
        for words in themes.values()
        for _ in range(30)
    ]
    vectors = WordHash(dim=64).encode(texts)
    topics = Topics(k=3, keywords=2).fit(vectors, texts)
    named = {topics.name(int(t)) for t in topics.labels_}
    assert len(named) == 3 and all(any(w in n for w in ("oil", "opec", "crude", "barrel", "prices")) or
                                   any(w in n for w in ("fed", "rates", "inflation", "bonds")) or
                                   any(w in n for w in ("chip", "semiconductor", "shortage", "factory"))
                                   for n in named)  # fmt: skip
    assert (
        len({tuple(topics.labels_[i * 30 : (i + 1) * 30]) for i in range(3)}) == 3
    )  # one theme a topic
    new = topics.assign(WordHash(dim=64).encode(["totally unrelated gardening tulips"]))
    assert new.tolist() == [-1]


def test_a_new_topic_alerts_once_then_is_tracked(tmp_path: Path) -> None:
    from embedlab.apps.topics import Topics

    rng = np.random.default_rng(1)
    known = ["oil prices opec crude barrel", "fed rates inflation bonds", "chip shortage factory"]
    novel = "volcano ash grounds flights europe"
    lines, history = [], []
    for day in range(16):
        for n in range(12):
            theme = novel if day >= 10 and n < 6 else known[n % 3]
            words = theme.split()
            text = " ".join(rng.permutation(words)[: len(words) - 1])  # one word left out
            lines.append({"time": day * DAY + n * 600, "text": text})
            if day < 10:
                history.append(text)
    enc = WordHash()
    topics = Topics(k=3, min_similarity=0.5).fit(enc.encode(history), history)
    rules = [Rule("new-topic", "new_topic", min_count=5, similarity=0.5)]
    with pytest.raises(ParameterError, match="needs the monitor's topics"):
        Monitor(tmp_path / "x", enc, probe(), rules=rules)
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    m = Monitor(tmp_path / "m", enc, probe(), rules=rules, topics=topics)
    alerts = m.run(tmp_path / "s.jsonl")
    assert [a.window for a in alerts] == [10 * DAY]  # once, in the window it appeared
    key = alerts[0].key
    assert key.startswith("topic:") and any(w in key for w in novel.split()), key
    assert alerts[0].value == 6 and all(
        set(h.split()) <= set(novel.split()) for h in alerts[0].headlines
    )
    tracked = m.windows(key)  # from its first window on, its items are counted under it
    assert [w["start"] for w in tracked] == [d * DAY for d in range(10, 16)]
    assert all(w["count"] == 6 for w in tracked)
    assert sum(w["count"] for w in m.windows(f"topic:{topics.names_[0]}")) == 10 * 4 + 6 * 2
    topics.save(tmp_path / "topics.json")
    again = Topics.load(tmp_path / "topics.json")
    assert again.names_ == topics.names_ and np.allclose(again.centres_, topics.centres_)
    (tmp_path / "bad.json").write_text('{"k": 3}')
    with pytest.raises(FormatError, match=r"bad\.json: expected topics saved by Topics\.save"):
        Topics.load(tmp_path / "bad.json")


def test_a_small_window_is_judged_against_chance() -> None:
    # four negatives out of five at a trailing rate of 32 in 160 happens by chance about 0.8%
    # of the time (binomial at 0.2: 0.67%; the rate is itself an estimate), more than z=3
    # allows (0.13%); five of five (~0.05%) is an alert; with 4 in 20 before, not even that
    history = [(20, 0.0, 4, 0.0)] * 8
    rule = Rule("r", "zscore", metric="share_negative", key="*", z=3.0, min_count=5)
    four = Monitor._by_chance(rule, history, (5, 0.0, 4), 0.8, 0.2)
    five = Monitor._by_chance(rule, history, (5, 0.0, 5), 1.0, 0.2)
    assert 0.0067 < four < 0.012 and 0.0003 < five < 0.00135
    assert Monitor._by_chance(rule, history[:1], (5, 0.0, 5), 1.0, 0.2) > 0.00135


def test_the_topics_command_and_a_run_with_topics(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clirun import run

    monkeypatch.setattr("embedlab.encoders.load_encoder", lambda *a, **k: WordHash())
    themes = ["oil prices opec crude barrel", "fed rates inflation bonds", "chip shortage factory"]
    history = [" ".join(t.split()[i:] + t.split()[:i]) for t in themes for i in range(5)]
    (tmp_path / "history.jsonl").write_text(
        "".join(json.dumps({"text": t}) + "\n" for t in history)
    )
    code, out, err = run(capsys, "monitor", "topics", str(tmp_path / "history.jsonl"), "-o",
                         str(tmp_path / "topics.json"), "--k", "3", "--min-similarity", "0.5")  # fmt: skip
    assert code == 0, err
    assert "3 topics of 15 texts" in out and any(w in out for w in ("opec", "crude", "barrel"))
    probe().save(tmp_path / "p.json")
    (tmp_path / "rules.json").write_text(
        '{"rules": [{"name": "new", "kind": "new_topic", "min_count": 4}]}'
    )
    items = [{"time": d * DAY + n, "text": themes[n % 3] if d < 3 or n > 3 else
              "volcano ash grounds flights"} for d in range(5) for n in range(8)]  # fmt: skip
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    code, out, err = run(capsys, "monitor", "run", str(tmp_path / "s.jsonl"), "-s",
                         str(tmp_path / "state"), "--probe", str(tmp_path / "p.json"), "--rules",
                         str(tmp_path / "rules.json"), "--topics", str(tmp_path / "topics.json"))  # fmt: skip
    assert code == 0, err
    assert out.count("ALERT ") == 1 and '"key": "topic:' in out and "volcano" in out
    code, out, err = run(capsys, "monitor", "run", str(tmp_path / "s.jsonl"), "-s",
                         str(tmp_path / "other"))  # fmt: skip
    assert code == 1 and "give the monitor a --probe or a --classifier" in err


class Keywords:
    """A stand-in for a fine-tuned classifier: labels 0/1/2 from planted words."""

    labels: ClassVar[list[str]] = ["0", "1", "2"]

    def predict_proba(self, texts, batch_size=64):  # type: ignore[no-untyped-def]
        out = np.full((len(texts), 3), 0.05)
        for i, t in enumerate(texts):
            out[i, 0 if "plunge" in t or "lawsuit" in t or "crashes" in t else
                   1 if "soar" in t or "growth" in t or "rallies" in t else 2] = 0.9  # fmt: skip
        return out


def test_a_fine_tuned_classifier_reads_the_texts_itself(tmp_path: Path) -> None:
    from embedlab.apps.monitor import FineTunedSentiment

    with pytest.raises(ParameterError, match=r"labels \['0', '1', '2'\] have no sentiment value"):
        FineTunedSentiment(Keywords())
    clf = FineTunedSentiment(
        Keywords(), label_names={"0": "bearish", "1": "bullish", "2": "neutral"}
    )
    with pytest.raises(ParameterError, match="needs a sentence encoder"):
        Monitor(tmp_path / "x", None, probe())
    stream(tmp_path / "news.jsonl", shift_from=15)
    m = Monitor(tmp_path / "m", None, clf, entities=NAMES, rules=RULES)  # no encoder at all
    alerts = m.run(tmp_path / "news.jsonl")
    assert [a.window for a in alerts if a.rule == "acme-drop"][:1] == [15 * DAY]
    labels = dict(m.con.execute("SELECT text, label FROM items").fetchall())
    assert labels["ACME shares plunge on heavy losses"] == "bearish"


def test_a_topic_that_turns_negative_alerts_with_its_own_headlines(tmp_path: Path) -> None:
    from embedlab.apps.topics import Topics

    themes = {"oil": "oil opec crude barrel", "chips": "chip wafer foundry fab"}
    lines, history = [], []
    for day in range(14):
        for n in range(10):
            name = "oil" if n % 2 else "chips"
            mood = (
                "shares plunge on heavy losses"
                if name == "oil" and day >= 10
                else "firm opens an office"
            )
            text = f"{themes[name]} {mood}"
            lines.append({"time": day * DAY + n * 600, "text": text})
            history.append(text)
    enc = WordHash()
    topics = Topics(k=2, min_similarity=0.3).fit(enc.encode(history[:100]), history[:100])
    rule = Rule("topic-turns", "zscore", metric="share_negative", key="topics", z=3.0,
                trailing=5, min_count=5)  # fmt: skip
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    m = Monitor(tmp_path / "m", enc, probe(), rules=[rule], topics=topics)
    alerts = m.run(tmp_path / "s.jsonl")
    assert [a.window for a in alerts] == [10 * DAY], alerts
    assert alerts[0].key.startswith("topic:") and "oil" in " ".join(alerts[0].headlines)
    assert all(h.startswith("oil opec crude barrel shares plunge") for h in alerts[0].headlines)


def test_a_folder_that_grows_is_read_file_by_file(tmp_path: Path) -> None:
    stream(tmp_path / "all.jsonl", days=6)
    lines = (tmp_path / "all.jsonl").read_text().splitlines(keepends=True)
    whole = Monitor(tmp_path / "whole", WordHash(), probe(), entities=NAMES)
    whole.run(tmp_path / "all.jsonl")
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "2020-01-01.jsonl").write_text("".join(lines[:40]))
    (folder / "2020-01-02.jsonl").write_text("".join(lines[40:70]))
    (folder / "notes.md").write_text("not a stream\n")
    m = Monitor(tmp_path / "m", WordHash(), probe(), entities=NAMES)
    m.run(folder)
    assert m.lines_read(folder).line == 70
    with (folder / "2020-01-02.jsonl").open("a") as f:  # the last file grows ...
        f.write("".join(lines[70:90]))
    (folder / "2020-01-03.jsonl").write_text("".join(lines[90:]))  # ... and a new one comes
    m.run(folder)
    m.run(folder)  # nothing new: nothing counted twice
    assert m.lines_read(folder).line == 120 and m.counts() == whole.counts()
