"""A sentiment monitor over a stream of dated texts: classify, track by window, alert on rules.

``SentimentProbe.fit(encoder, texts, labels)`` is the fast classifier: a logistic regression on a
sentence encoder's vectors (seconds to train); its score of a text is the expected value of the
label (bearish -1, neutral 0, bullish +1 by default). ``ZeroShotSentiment(encoder)`` needs no
training: it compares each text with a description of each label. Entities are ``$TICKER`` cash-tags and the
names of a user list (``EntityList``). ``Monitor(folder, encoder, probe, entities, rules)``
keeps its state in ``folder/monitor.sqlite``: every item (time, text, score, entities), each
window's count, score sum and negatives per key (``*`` for all items, else an entity), the
alerts, and the stream position. ``run(stream)`` reads the stream from that position
(:mod:`embedlab.apps.stream`), scores a batch, and commits the batch's items, window counts and
the new position in *one* SQLite transaction: killed at any instant, a restarted monitor ends
with exactly the counts of one that never stopped. When the stream's time passes the end of a
window, the rules (:class:`Rule`: a threshold on a window's mean score or share negative, a
z-score against the trailing windows, a jump in volume) are checked on it for every key, and
each alert carries the most negative headlines of its window. Alerts are written to the state,
returned, and handed to the ``sinks`` (callables: stdout, a JSONL file, a webhook).
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import FormatError, ParameterError, check_choice
from ..files import read_json
from ..optional import require
from .stream import Position, Record, parse_time, read_stream

__all__ = [
    "Alert",
    "EntityList",
    "Monitor",
    "Rule",
    "SentimentProbe",
    "ZeroShotSentiment",
    "jsonl_sink",
    "webhook_sink",
]

DB = "monitor.sqlite"
DEFAULT_VALUES = {
    "bearish": -1.0,
    "negative": -1.0,
    "neutral": 0.0,
    "bullish": 1.0,
    "positive": 1.0,
}


class SentimentProbe:
    """Logistic regression on frozen sentence vectors; ``score`` = expected label value."""

    def __init__(
        self, values: Mapping[str, float] | None = None, c: float = 1.0, encoder: str | None = None
    ) -> None:
        self.values = dict(values or DEFAULT_VALUES)
        self.c = c
        self.encoder = encoder  # how to load the encoder again (a hub id or folder), if known

    def fit(self, encoder: Any, texts: Sequence[str], labels: Sequence[str]) -> SentimentProbe:
        linear = require("sklearn.linear_model", "viz", "the sentiment probe")
        classes = sorted(set(map(str, labels)))
        unknown = [c for c in classes if c not in self.values]
        if unknown:
            raise ParameterError(f"labels {unknown} have no value; give values={{label: score}}")
        x = np.asarray(encoder.encode(list(texts), normalize=True), dtype=np.float64)
        model = linear.LogisticRegression(C=self.c, max_iter=2000).fit(x, list(map(str, labels)))
        self.labels_ = [str(c) for c in model.classes_]
        self.coef_ = np.asarray(model.coef_, dtype=np.float64)
        self.intercept_ = np.asarray(model.intercept_, dtype=np.float64)
        return self

    def proba(self, vectors: np.ndarray) -> np.ndarray:
        logits = np.asarray(vectors, np.float64) @ self.coef_.T + self.intercept_
        if logits.shape[1] == 1:  # binary: sklearn keeps one column
            logits = np.hstack([-logits, logits]) / 2
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return np.asarray(p / p.sum(axis=1, keepdims=True))

    def predict(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Labels and scores (expected label value) of unit sentence vectors."""
        p = self.proba(vectors)
        values = np.array([self.values[c] for c in self.labels_])
        return [self.labels_[int(i)] for i in p.argmax(axis=1)], p @ values

    def save(self, path: str | os.PathLike[str]) -> None:
        data = {"labels": self.labels_, "values": self.values, "coef": self.coef_.tolist(),
                "intercept": self.intercept_.tolist(), "c": self.c, "encoder": self.encoder}  # fmt: skip
        Path(path).write_text(json.dumps(data) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SentimentProbe:
        data = read_json(Path(path))
        probe = cls(data["values"], data["c"], data.get("encoder"))
        probe.labels_ = list(data["labels"])
        probe.coef_ = np.asarray(data["coef"], np.float64)
        probe.intercept_ = np.asarray(data["intercept"], np.float64)
        return probe


class ZeroShotSentiment:
    """Sentiment without training: each label is described in words, and a text's label
    probabilities are a softmax over its cosines to the descriptions (times ``temperature``);
    the score is the expected label value, as the probe's. Drop-in for :class:`SentimentProbe`."""

    DESCRIPTIONS: ClassVar[dict[str, str]] = {
        "bearish": "the stock falls: losses, downgrade, weak results, lawsuit, cuts",
        "neutral": "company news with no clear effect on the stock price",
        "bullish": "the stock rises: profit, upgrade, strong growth, record results",
    }

    def __init__(
        self,
        encoder: Any,
        descriptions: Mapping[str, str] | None = None,
        values: Mapping[str, float] | None = None,
        temperature: float = 50.0,
    ) -> None:
        self.descriptions = dict(descriptions or self.DESCRIPTIONS)
        self.values = dict(values or DEFAULT_VALUES)
        missing = [k for k in self.descriptions if k not in self.values]
        if missing:
            raise ParameterError(f"labels {missing} have no value; give values={{label: score}}")
        self.labels_ = list(self.descriptions)
        rows = encoder.encode([self.descriptions[k] for k in self.labels_], normalize=True)
        self.label_vectors_ = np.asarray(rows, dtype=np.float64)
        self.temperature = temperature

    def predict(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
        logits = self.temperature * (np.asarray(vectors, np.float64) @ self.label_vectors_.T)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        values = np.array([self.values[c] for c in self.labels_])
        return [self.labels_[int(i)] for i in p.argmax(axis=1)], p @ values


class EntityList:
    """Entities to track: ``$TICKER`` cash-tags always; names from a list, case-insensitive."""

    def __init__(self, names: Mapping[str, Sequence[str]] | None = None) -> None:
        self.names = {k: list(v) for k, v in (names or {}).items()}
        self._patterns = [
            (key, re.compile(r"(?<!\w)" + re.escape(alias) + r"(?!\w)", re.IGNORECASE))
            for key, aliases in self.names.items()
            for alias in [key, *aliases]
        ]

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> EntityList:
        """A JSON object ``{"AAPL": ["Apple"], ...}`` or lines ``AAPL<TAB>Apple, Apple Inc``."""
        p = Path(path)
        if p.suffix == ".json":
            data = read_json(p)
            if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
                raise FormatError(p, 'expected {"ENTITY": ["alias", ...], ...}')
            return cls(data)
        if p.suffix not in (".txt", ".tsv"):
            raise FormatError(p, "expected an entity list as .json, or .txt/.tsv lines "
                                 "'ENTITY<TAB>alias, alias'")  # fmt: skip
        names: dict[str, list[str]] = {}
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            key, _, aliases = line.partition("\t")
            if not key.strip():
                raise FormatError(p, "expected 'ENTITY<TAB>alias, alias'", line=n)
            names[key.strip()] = [a.strip() for a in aliases.split(",") if a.strip()]
        return cls(names)

    def find(self, text: str) -> list[str]:
        found = {m.upper() for m in re.findall(r"\$([A-Za-z]{1,6})\b", text)}
        found |= {key for key, pattern in self._patterns if pattern.search(text)}
        return sorted(found)


@dataclass(frozen=True)
class Rule:
    """``kind``: ``threshold`` (``metric`` below ``below`` or above ``above``), ``zscore`` (the
    metric ``z`` standard deviations from its mean over the ``trailing`` windows before),
    ``volume`` (the count at least ``factor`` times its trailing mean). ``key``: ``*`` for all
    items, an entity, or ``each`` for every entity. Windows with fewer than ``min_count`` items
    are not judged, and a trailing comparison needs ``trailing`` judged windows before it (the
    latest that many with enough items, however far back: a quiet entity is still watched). The
    spread a z-score divides by is the largest of the trailing windows' spread, the chance spread
    of a window of this many items (from the trailing items' own spread) and ``min_sd``: a quiet
    history, or a window of five headlines, does not make every wobble an alert."""

    name: str
    kind: str
    metric: str = "mean"
    key: str = "*"
    below: float | None = None
    above: float | None = None
    z: float = 3.0
    trailing: int = 7
    factor: float = 3.0
    min_count: int = 5
    min_sd: float = 0.1

    def __post_init__(self) -> None:
        check_choice("kind", "Rule", self.kind, ("threshold", "zscore", "volume"))
        check_choice("metric", "Rule", self.metric, ("mean", "share_negative", "count"))

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> list[Rule]:
        from ..records import read_mapping

        p = Path(path)
        raw = read_mapping(p, "alert rules")
        rules = raw.get("rules")
        if not isinstance(rules, list):
            raise FormatError(p, 'expected {"rules": [{"name": ..., "kind": ...}, ...]}')
        try:
            return [cls(**r) for r in rules]
        except TypeError as e:
            raise FormatError(p, f"a rule: {e}") from None


@dataclass
class Alert:
    rule: str
    key: str
    window: float
    value: float
    baseline: float | None
    headlines: list[str]


class Monitor:
    """See the module docstring. ``window`` is in seconds (86,400: days)."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        encoder: Any,
        probe: SentimentProbe | ZeroShotSentiment,
        *,
        entities: EntityList | None = None,
        rules: Sequence[Rule] = (),
        window: float = 86_400.0,
        sinks: Sequence[Callable[[Alert], None]] = (),
        negative_below: float = -0.3,
    ) -> None:
        if window <= 0:
            raise ParameterError(f"window must be positive seconds; got {window}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.encoder, self.probe = encoder, probe
        self.entities = entities or EntityList()
        self.rules, self.window, self.sinks = list(rules), float(window), list(sinks)
        self.negative_below = negative_below
        self.con = sqlite3.connect(
            self.folder / DB, isolation_level=None, timeout=60, check_same_thread=False
        )
        self._lock = threading.RLock()  # one batch at a time (the server calls from threads)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.executescript(
            "CREATE TABLE IF NOT EXISTS items (time REAL, text TEXT, label TEXT, score REAL, "
            "entities TEXT);"
            "CREATE TABLE IF NOT EXISTS windows (key TEXT, start REAL, count INTEGER, "
            "score_sum REAL, negatives INTEGER, score_sq REAL, PRIMARY KEY (key, start));"
            "CREATE TABLE IF NOT EXISTS position (source TEXT PRIMARY KEY, offset INTEGER, "
            "line INTEGER, bad INTEGER);"
            "CREATE TABLE IF NOT EXISTS judged (start REAL PRIMARY KEY);"
            "CREATE TABLE IF NOT EXISTS alerts (rule TEXT, key TEXT, window REAL, value REAL, "
            "baseline REAL, headlines TEXT, PRIMARY KEY (rule, key, window));"
        )

    def close(self) -> None:
        self.con.close()

    # -- the stream ---------------------------------------------------------------------------------
    def position(self, source: str) -> Position:
        with self._lock:
            row = self.con.execute(
                "SELECT offset, line, bad FROM position WHERE source=?", (source,)
            ).fetchone()
        return Position(*row) if row else Position()

    def run(
        self,
        stream: str | os.PathLike[str],
        *,
        time_field: str = "time",
        text_field: str = "text",
        skip_bad: bool = False,
        batch_size: int = 256,
    ) -> list[Alert]:
        """Process the stream's new complete lines; returns the alerts raised."""
        source = os.fspath(stream)
        pos = self.position(os.path.abspath(source) if source != "-" else "-")
        key = os.path.abspath(source) if source != "-" else "-"
        alerts: list[Alert] = []
        batch = []
        records = read_stream(stream, start=pos, time_field=time_field, text_field=text_field,
                              skip_bad=skip_bad)  # fmt: skip
        for record in records:
            batch.append(record)
            if len(batch) >= batch_size:
                alerts += self._commit(batch, key, pos)
                batch = []
        alerts += self._commit(batch, key, pos)
        return alerts

    def ingest(self, items: Sequence[Mapping[str, Any]]) -> list[Alert]:
        """Process items given directly (``{"time": ..., "text": ...}``, e.g. posted to the
        server) as one batch; a bad item is a ParameterError naming it, and nothing is kept."""
        records = []
        for n, item in enumerate(items):
            text = item.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ParameterError(f"item {n}: expected a non-empty 'text'")
            try:
                when = parse_time(item.get("time"))
            except (ValueError, TypeError):
                raise ParameterError(
                    f"item {n}: expected a 'time', found {item.get('time')!r}"
                ) from None
            extra = {k: v for k, v in item.items() if k not in ("time", "text")}
            records.append(Record(when, text.strip(), extra, n + 1, 0))
        return self._commit(records, "api", self.position("api"))

    def _commit(self, batch: list[Any], source: str, pos: Position) -> list[Alert]:
        with self._lock:
            return self._commit_locked(batch, source, pos)

    def _commit_locked(self, batch: list[Any], source: str, pos: Position) -> list[Alert]:
        if batch:
            vectors = np.asarray(self.encoder.encode([r.text for r in batch], normalize=True))
            labels, scores = self.probe.predict(vectors)
        else:
            labels, scores = [], np.zeros(0)
        end = batch[-1].offset if batch else pos.offset
        line = batch[-1].line if batch else pos.line
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            for r, label, score in zip(batch, labels, scores, strict=True):
                found = self.entities.find(r.text)
                con.execute("INSERT INTO items VALUES (?, ?, ?, ?, ?)",
                            (r.time, r.text, label, float(score), json.dumps(found)))  # fmt: skip
                start = math.floor(r.time / self.window) * self.window
                negative = int(score <= self.negative_below)
                for k in ["*", *found]:
                    con.execute(
                        "INSERT INTO windows VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT(key, start) "
                        "DO UPDATE SET count=count+1, score_sum=score_sum+excluded.score_sum, "
                        "negatives=negatives+excluded.negatives, "
                        "score_sq=score_sq+excluded.score_sq",
                        (k, start, float(score), negative, float(score) ** 2),
                    )
            con.execute("INSERT OR REPLACE INTO position VALUES (?, ?, ?, ?)",
                        (source, max(end, pos.offset), max(line, pos.line), pos.bad))  # fmt: skip
            alerts = self._judge()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        for alert in alerts:
            for sink in self.sinks:
                sink(alert)
        return alerts

    # -- rules -----------------------------------------------------------------------------------
    def _judge(self) -> list[Alert]:
        """Check the rules on every window that has closed (the stream's time passed its end)
        and was not judged yet; inside the caller's transaction."""
        latest = self.con.execute("SELECT MAX(time) FROM items").fetchone()[0]
        if latest is None:
            return []
        open_start = math.floor(latest / self.window) * self.window
        starts = [s for (s,) in self.con.execute(
            "SELECT DISTINCT start FROM windows WHERE start < ? AND start NOT IN "
            "(SELECT start FROM judged) ORDER BY start", (open_start,))]  # fmt: skip
        alerts = []
        for start in starts:
            for rule in self.rules:
                alerts += self._check(rule, start)
            self.con.execute("INSERT INTO judged VALUES (?)", (start,))
        for a in alerts:
            self.con.execute("INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?, ?, ?)",
                             (a.rule, a.key, a.window, a.value, a.baseline,
                              json.dumps(a.headlines)))  # fmt: skip
        return alerts

    def _metric(self, rule: Rule, count: int, score_sum: float, negatives: int) -> float:
        if rule.metric == "count":
            return float(count)
        if rule.metric == "share_negative":
            return negatives / count
        return score_sum / count

    def _check(self, rule: Rule, start: float) -> list[Alert]:
        keys = [rule.key] if rule.key != "each" else [
            k for (k,) in self.con.execute(
                "SELECT key FROM windows WHERE start=? AND key != '*'", (start,))
        ]  # fmt: skip
        out = []
        for key in keys:
            row = self.con.execute("SELECT count, score_sum, negatives FROM windows "
                                   "WHERE key=? AND start=?", (key, start)).fetchone()  # fmt: skip
            count = row[0] if row else 0
            if rule.kind != "volume" and count < rule.min_count:
                continue
            # the trailing windows: the latest ``trailing`` before this one with enough items to
            # judge (for volume: the latest ``trailing`` windows, empty ones counting as zero)
            floor = rule.min_count if rule.kind != "volume" else 0
            history = self.con.execute(
                "SELECT count, score_sum, negatives, score_sq FROM windows WHERE key=? AND "
                "start<? AND start>=? AND count>=? ORDER BY start DESC LIMIT ?",
                (key, start, start - rule.trailing * self.window if rule.kind == "volume"
                 else float("-inf"), floor, rule.trailing),
            ).fetchall()  # fmt: skip
            if rule.kind == "volume":
                if len(history) < rule.trailing:
                    continue
                base = float(np.mean([h[0] for h in history]))
                if count >= rule.min_count and count >= rule.factor * max(base, 1.0):
                    out.append(self._alert(rule, key, start, float(count), base))
                continue
            value = self._metric(rule, *row[:3])
            if rule.kind == "threshold":
                if (rule.below is not None and value < rule.below) or (
                    rule.above is not None and value > rule.above
                ):
                    out.append(self._alert(rule, key, start, value, None))
                continue
            judged = [h for h in history if h[0] >= rule.min_count]
            if len(judged) < rule.trailing:
                continue
            past = [self._metric(rule, *h[:3]) for h in judged]
            mean, sd = float(np.mean(past)), float(np.std(past))
            if abs(value - mean) >= rule.z * max(sd, self._noise(rule, judged, count), rule.min_sd):
                out.append(self._alert(rule, key, start, value, mean))
        return out

    @staticmethod
    def _noise(rule: Rule, history: list[Any], count: int) -> float:
        """The spread a window of ``count`` items has by chance, from the items of the trailing
        windows: sd/sqrt(n) of the scores, or of the negative share (binomial)."""
        n = sum(h[0] for h in history)
        if rule.metric == "mean":
            mean = sum(h[1] for h in history) / n
            var = max(sum(h[3] for h in history) / n - mean**2, 0.0)
        elif rule.metric == "share_negative":
            p = sum(h[2] for h in history) / n
            var = p * (1 - p)
        else:
            return 0.0
        return math.sqrt(var / max(count, 1))

    def _alert(self, rule: Rule, key: str, start: float, value: float, base: float | None) -> Alert:
        rows = self.con.execute(
            "SELECT text, entities FROM items WHERE time>=? AND time<? ORDER BY score, time",
            (start, start + self.window),
        ).fetchall()
        texts = [t for t, e in rows if key == "*" or key in json.loads(e)][:5]
        return Alert(rule.name, key, start, value, base, texts)

    # -- reading the state ---------------------------------------------------------------------
    def windows(self, key: str = "*") -> list[dict[str, float]]:
        """Per window of ``key``: start, count, mean score, share negative."""
        with self._lock:
            return self._windows(key)

    def _windows(self, key: str) -> list[dict[str, float]]:
        return [
            {"start": s, "count": c, "mean": total / c, "share_negative": n / c}
            for s, c, total, n in self.con.execute(
                "SELECT start, count, score_sum, negatives FROM windows WHERE key=? "
                "ORDER BY start", (key,))
        ]  # fmt: skip

    def alerts(self) -> list[Alert]:
        with self._lock:
            return self._alerts()

    def _alerts(self) -> list[Alert]:
        return [
            Alert(r, k, w, v, b, json.loads(h))
            for r, k, w, v, b, h in self.con.execute("SELECT * FROM alerts ORDER BY window, rule")
        ]

    def counts(self) -> dict[tuple[str, float], tuple[int, float, int]]:
        """Every (key, window) -> (count, score sum, negatives): what a restart must reproduce."""
        return {
            (k, s): (c, round(t, 6), n)
            for k, s, c, t, n, _ in self.con.execute("SELECT * FROM windows")
        }


def jsonl_sink(path: str | os.PathLike[str]) -> Callable[[Alert], None]:
    """Append each alert as a JSON line."""

    def write(alert: Alert) -> None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(alert), ensure_ascii=False) + "\n")

    return write


def webhook_sink(url: str, timeout: float = 10.0) -> Callable[[Alert], None]:
    """POST each alert as JSON to ``url`` (errors are logged, the monitor goes on)."""
    import logging
    import urllib.request

    log = logging.getLogger(__name__)

    def post(alert: Alert) -> None:
        body = json.dumps(asdict(alert)).encode("utf-8")
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout):
                pass
        except OSError as e:
            log.warning("webhook %s failed: %s", url, e)

    return post
