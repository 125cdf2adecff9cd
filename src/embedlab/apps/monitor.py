"""A sentiment monitor over a stream of dated texts: classify, track by window, alert on rules.

The classifiers and the entity list are in :mod:`embedlab.apps.sentiment` (re-exported here).
``Monitor(folder, encoder, probe, entities, rules)``
keeps its state in ``folder/monitor.sqlite``: every item (time, text, score, entities), each
window's count, score sum and negatives per key (``*`` for all items, else an entity), the
alerts, and the stream position. ``run(stream)`` reads the stream from that position
(:mod:`embedlab.apps.stream`), scores a batch, and commits the batch's items, window counts and
the new position in *one* SQLite transaction: killed at any instant, a restarted monitor ends
with exactly the counts of one that never stopped. When the stream's time passes the end of a
window, the rules (:class:`Rule`: a threshold on a window's mean score or share negative, a
z-score against the trailing windows, a jump in volume, a new topic) are checked on it for
every key, and each alert carries the most negative headlines of its window. Alerts are written
to the state, returned, and handed to the ``sinks`` (callables: stdout, a JSONL file, a webhook).

With ``topics`` (a fitted :class:`embedlab.apps.topics.Topics`) each item also goes to its
nearest topic, counted under the key ``topic:NAME``; an item near none is kept aside with its
vector. A ``new_topic`` rule looks for dense groups among a closed window's kept-aside items;
each group found becomes a topic named by its keywords (stored with the state), the kept-aside
items near it from that window on are counted under it, and later items are assigned to it: a
new story alerts once and is then tracked like the others.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, ParameterError, check_choice
from ..rows import normalized
from .sentiment import (
    DEFAULT_VALUES,
    EntityList,
    FineTunedSentiment,
    SentimentProbe,
    ZeroShotSentiment,
)
from .stream import Position, Record, parse_time, read_stream
from .topics import Topics, emerging, keywords

__all__ = [
    "DEFAULT_VALUES",
    "Alert",
    "EntityList",
    "FineTunedSentiment",
    "Monitor",
    "Rule",
    "SentimentProbe",
    "Topics",
    "ZeroShotSentiment",
    "jsonl_sink",
    "webhook_sink",
]

DB = "monitor.sqlite"


@dataclass(frozen=True)
class Rule:
    """``kind``: ``threshold`` (``metric`` below ``below`` or above ``above``), ``zscore`` (the
    metric ``z`` standard deviations from its mean over the ``trailing`` windows before),
    ``volume`` (the count at least ``factor`` times its trailing mean), ``new_topic`` (at least
    ``min_count`` items that no known topic holds, each within cosine ``similarity`` of one
    another's centre: needs the monitor's ``topics``). ``key``: ``*`` for all items, an entity,
    a topic (``topic:NAME``), ``each`` for every entity or ``topics`` for every topic. Windows
    with fewer than ``min_count`` items are not judged, and a trailing comparison needs
    ``trailing`` judged windows before it (the latest that many with enough items, however far
    back: a quiet entity is still watched). A z-score alert needs two things: the change is
    ``z`` times the larger of the trailing windows' spread and ``min_sd``, and a window of this
    many items would change that much by chance no more often than a normal variable passes
    ``z``, given how many items the trailing rate rests on (for ``share_negative`` the
    beta-binomial predictive tail, for ``mean`` a normal tail with the items' spread): a quiet
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
    similarity: float = 0.5

    def __post_init__(self) -> None:
        check_choice("kind", "Rule", self.kind, ("threshold", "zscore", "volume", "new_topic"))
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
    """See the module docstring. ``window`` is in seconds (86,400: days). ``encoder`` may be
    None when the classifier reads texts itself (:class:`FineTunedSentiment`) and no topics are
    tracked."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        encoder: Any,
        probe: SentimentProbe | ZeroShotSentiment | FineTunedSentiment,
        *,
        entities: EntityList | None = None,
        rules: Sequence[Rule] = (),
        window: float = 86_400.0,
        sinks: Sequence[Callable[[Alert], None]] = (),
        negative_below: float = -0.3,
        topics: Topics | None = None,
    ) -> None:
        if window <= 0:
            raise ParameterError(f"window must be positive seconds; got {window}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.encoder, self.probe = encoder, probe
        self.entities = entities or EntityList()
        self.rules, self.window, self.sinks = list(rules), float(window), list(sinks)
        self.negative_below = negative_below
        self.topics = topics
        if topics is None and any(r.kind == "new_topic" for r in self.rules):
            raise ParameterError("a new_topic rule needs the monitor's topics (Topics().fit(...))")
        if encoder is None and (topics is not None or not isinstance(probe, FineTunedSentiment)):
            raise ParameterError("the monitor needs a sentence encoder for its probe or topics")
        self.con = sqlite3.connect(
            self.folder / DB, isolation_level=None, timeout=60, check_same_thread=False
        )
        self._lock = threading.RLock()  # one batch at a time (the server calls from threads)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.executescript(
            "CREATE TABLE IF NOT EXISTS items (time REAL, text TEXT, label TEXT, score REAL, "
            "entities TEXT, topic TEXT);"
            "CREATE TABLE IF NOT EXISTS windows (key TEXT, start REAL, count INTEGER, "
            "score_sum REAL, negatives INTEGER, score_sq REAL, PRIMARY KEY (key, start));"
            "CREATE TABLE IF NOT EXISTS position (source TEXT PRIMARY KEY, offset INTEGER, "
            "line INTEGER, bad INTEGER);"
            "CREATE TABLE IF NOT EXISTS judged (start REAL PRIMARY KEY);"
            "CREATE TABLE IF NOT EXISTS alerts (rule TEXT, key TEXT, window REAL, value REAL, "
            "baseline REAL, headlines TEXT, PRIMARY KEY (rule, key, window));"
            # items no topic holds (their vectors, for the new_topic rule), and the topics found
            "CREATE TABLE IF NOT EXISTS outliers (item INTEGER, time REAL, text TEXT, vector BLOB);"
            "CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, since REAL, centre BLOB);"
        )
        columns = {c[1] for c in self.con.execute("PRAGMA table_info(items)")}
        if "topic" not in columns:  # a state written before topics were tracked
            self.con.execute("ALTER TABLE items ADD COLUMN topic TEXT")

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
        """Process the stream's new complete lines; returns the alerts raised. ``stream`` is a
        file that may grow, ``-`` for stdin, or a folder whose files (``.jsonl``, ``.csv``,
        ``.tsv``; in name order, so name them by time) may grow and multiply: each is resumed
        from its own position."""
        files = stream_files(stream) if stream != "-" and Path(stream).is_dir() else [stream]
        alerts: list[Alert] = []
        for path in files:
            source = os.fspath(path)
            key = os.path.abspath(source) if source != "-" else "-"
            pos = self.position(key)
            batch = []
            records = read_stream(path, start=pos, time_field=time_field, text_field=text_field,
                                  skip_bad=skip_bad)  # fmt: skip
            for record in records:
                batch.append(record)
                if len(batch) >= batch_size:
                    alerts += self._commit(batch, key, pos)
                    batch = []
            alerts += self._commit(batch, key, pos)
        return alerts

    def lines_read(self, stream: str | os.PathLike[str]) -> Position:
        """Lines read so far (and bad lines skipped) of a stream file, or of a folder's files."""
        if stream == "-" or not Path(stream).is_dir():
            return self.position(os.path.abspath(stream) if stream != "-" else "-")
        seen = [self.position(os.path.abspath(f)) for f in stream_files(stream)]
        return Position(0, sum(p.line for p in seen), sum(p.bad for p in seen))

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
        texts = [r.text for r in batch]
        vectors, scores = np.zeros((0, 0), np.float32), np.zeros(0)
        labels: list[str] = []
        probe = self.probe
        if batch and (self.topics is not None or not isinstance(probe, FineTunedSentiment)):
            vectors = np.asarray(self.encoder.encode(texts, normalize=True))
        if batch:
            if isinstance(probe, FineTunedSentiment):
                labels, scores = probe.predict_texts(texts)
            else:
                labels, scores = probe.predict(vectors)
        topic_of = self._topic_names(vectors)
        end = batch[-1].offset if batch else pos.offset
        line = batch[-1].line if batch else pos.line
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            for i, (r, label, score) in enumerate(zip(batch, labels, scores, strict=True)):
                found = self.entities.find(r.text)
                topic = topic_of[i] if topic_of else None
                row = con.execute("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)",
                            (r.time, r.text, label, float(score), json.dumps(found), topic))  # fmt: skip
                if topic_of and topic is None:
                    con.execute("INSERT INTO outliers VALUES (?, ?, ?, ?)", (row.lastrowid,
                                r.time, r.text, np.asarray(vectors[i], "<f4").tobytes()))  # fmt: skip
                keys = ["*", *found] + ([f"topic:{topic}"] if topic is not None else [])
                for k in keys:
                    self._count(k, r.time, float(score))
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

    def _count(self, key: str, when: float, score: float) -> None:
        """One item more in ``key``'s window at ``when`` (inside the caller's transaction)."""
        self.con.execute(
            "INSERT INTO windows VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT(key, start) "
            "DO UPDATE SET count=count+1, score_sum=score_sum+excluded.score_sum, "
            "negatives=negatives+excluded.negatives, score_sq=score_sq+excluded.score_sq",
            (key, math.floor(when / self.window) * self.window, score,
             int(score <= self.negative_below), score**2),
        )  # fmt: skip

    # -- topics ----------------------------------------------------------------------------------
    def _known_topics(self) -> tuple[list[str], np.ndarray]:
        """The fitted topics and those found in the stream since: names and unit centres."""
        assert self.topics is not None
        names, centres = list(self.topics.names_), [self.topics.centres_]
        for name, blob in self.con.execute("SELECT name, centre FROM topics ORDER BY since"):
            names.append(name)
            centres.append(np.frombuffer(blob, "<f4")[None, :])
        return names, np.vstack(centres).astype(np.float32)

    def _topic_names(self, vectors: np.ndarray) -> list[str | None]:
        """Each vector's nearest known topic, None below the topics' ``min_similarity``; []
        without topics."""
        if self.topics is None or not len(vectors):
            return []
        names, centres = self._known_topics()
        sims = normalized(vectors) @ centres.T
        best = sims.argmax(axis=1)
        return [
            names[int(b)] if s >= self.topics.min_similarity else None
            for b, s in zip(best, sims.max(axis=1), strict=True)
        ]

    def _new_topics(self, rule: Rule, start: float) -> list[Alert]:
        """The dense groups among the window's items no topic held; each becomes a known topic
        (later items are counted under it) unless it is near one found since they arrived."""
        assert self.topics is not None
        rows = self.con.execute("SELECT text, vector FROM outliers WHERE time>=? AND time<? "
                                "ORDER BY time", (start, start + self.window)).fetchall()  # fmt: skip
        if len(rows) < rule.min_count:
            return []
        texts = [t for t, _ in rows]
        x = np.vstack([np.frombuffer(v, "<f4") for _, v in rows])
        out = []
        for members in emerging(x, similarity=rule.similarity, min_size=rule.min_count):
            centre = normalized(x[members].mean(axis=0, keepdims=True))[0]
            names, centres = self._known_topics()
            if float((centres @ centre).max()) >= self.topics.min_similarity:
                continue
            inside = set(members.tolist())
            rest = [t for i, t in enumerate(texts) if i not in inside]
            base = keywords([[texts[i] for i in members], rest], self.topics.keywords)[0]
            name, n = base, 1
            while name in names:
                n += 1
                name = f"{base}-{n}"
            self.con.execute("INSERT INTO topics VALUES (?, ?, ?)",
                             (name, start, centre.astype("<f4").tobytes()))  # fmt: skip
            self._adopt(name, centre, start)
            headlines = [texts[i] for i in members[:5]]
            out.append(
                Alert(rule.name, f"topic:{name}", start, float(len(members)), None, headlines)
            )
        return out

    def _adopt(self, name: str, centre: np.ndarray, start: float) -> None:
        """Count the items no topic held, from the window ``start`` on, that are near a new
        topic's ``centre`` under it (they came before it was known)."""
        assert self.topics is not None
        rows = self.con.execute(
            "SELECT o.rowid, o.item, o.time, o.vector, i.score FROM outliers o "
            "JOIN items i ON i.rowid = o.item WHERE o.time >= ?", (start,)
        ).fetchall()  # fmt: skip
        for rowid, item, when, blob, score in rows:
            if float(np.frombuffer(blob, "<f4") @ centre) >= self.topics.min_similarity:
                self.con.execute("UPDATE items SET topic=? WHERE rowid=?", (name, item))
                self.con.execute("DELETE FROM outliers WHERE rowid=?", (rowid,))
                self._count(f"topic:{name}", when, float(score))

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
        if rule.kind == "new_topic":
            return self._new_topics(rule, start)
        if rule.key in ("each", "topics"):
            keys = [k for (k,) in self.con.execute(
                "SELECT key FROM windows WHERE start=? AND key != '*'", (start,))
                if k.startswith("topic:") == (rule.key == "topics")]  # fmt: skip
        else:
            keys = [rule.key]
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
            if abs(value - mean) >= rule.z * max(sd, rule.min_sd) and self._by_chance(
                rule, judged, row, value, mean
            ) <= _normal_tail(rule.z):
                out.append(self._alert(rule, key, start, value, mean))
        return out

    @staticmethod
    def _by_chance(rule: Rule, history: list[Any], row: Any, value: float, mean: float) -> float:
        """How often a window of this many items, drawn like the trailing windows' items, is as
        far out on the same side, the trailing rate's own uncertainty included: for the
        negative share the beta-binomial predictive tail (the trailing negatives and others,
        one of each added), for the mean score a normal tail with the items' spread over both
        the window's and the trailing items' counts; 0 for the count."""
        from scipy import stats

        count, negatives = int(row[0]), int(row[2])
        n = sum(h[0] for h in history)
        if rule.metric == "share_negative":
            bad = sum(h[2] for h in history)
            predictive = stats.betabinom(count, bad + 1, n - bad + 1)
            if value > mean:
                return float(predictive.sf(negatives - 1))
            return float(predictive.cdf(negatives))
        if rule.metric == "mean":
            centre = sum(h[1] for h in history) / n
            var = max(sum(h[3] for h in history) / n - centre**2, 1e-12)
            return _normal_tail(abs(value - centre) / math.sqrt(var * (1 / count + 1 / n)))
        return 0.0

    def _alert(self, rule: Rule, key: str, start: float, value: float, base: float | None) -> Alert:
        """An alert with the window's most negative texts of ``key`` (all, an entity, a topic)."""
        rows = self.con.execute(
            "SELECT text, entities, topic FROM items WHERE time>=? AND time<? ORDER BY score, time",
            (start, start + self.window),
        ).fetchall()
        topic = key.removeprefix("topic:") if key.startswith("topic:") else None
        texts = [
            t for t, e, k in rows
            if key == "*" or (k == topic if topic is not None else key in json.loads(e))
        ][:5]  # fmt: skip
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


def stream_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The stream files of a folder, in name order (hidden and other files left out)."""
    return sorted(
        f for f in Path(folder).iterdir()
        if f.is_file() and not f.name.startswith(".") and f.suffix in (".jsonl", ".csv", ".tsv")
    )  # fmt: skip


def _normal_tail(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


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
