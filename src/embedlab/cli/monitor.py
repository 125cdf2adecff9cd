"""``embedlab monitor train|run|report``: the sentiment monitor as thin shells.

``train LABELLED.csv -o probe.json`` fits :class:`embedlab.apps.monitor.SentimentProbe` on a
sentence encoder (``--label-names 0=bearish,1=bullish,2=neutral`` maps numeric labels);
``run STREAM -s STATE --probe probe.json`` (or ``--classifier FOLDER`` for a model from
``finetune classify``) reads the stream from where the state stopped
(``-`` for stdin, ``--follow`` to keep waiting for new lines), tracks windows and prints alerts
(and appends them to ``--alerts FILE`` / POSTs them to ``--webhook URL``); ``report STATE -o
report.html`` draws sentiment over time per entity with the alerts marked. ``topics HISTORY
-o topics.json --k 16`` clusters past texts into named topics; ``run --topics topics.json``
then tracks each topic's sentiment (keys ``topic:NAME``) and lets a ``new_topic`` rule find
the groups of texts none of them holds.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer

monitor_app = typer.Typer(
    help="Watch the sentiment of a stream of dated texts.", no_args_is_help=True
)


@monitor_app.command("train")
def train(
    data: Annotated[Path, typer.Argument(help="Labelled texts (CSV/TSV/JSONL).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The probe (JSON).")],
    text: Annotated[str, typer.Option(help="Text column.")] = "text",
    label: Annotated[str, typer.Option(help="Label column.")] = "label",
    label_names: Annotated[
        Optional[str], typer.Option(help="Map labels to names, e.g. 0=bearish,1=bullish,2=neutral.")
    ] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Sentence encoder.")] = None,
) -> None:
    """Fit a sentiment probe (logistic regression on sentence vectors)."""
    from ..apps.monitor import DEFAULT_VALUES, SentimentProbe
    from ..encoders import load_encoder
    from ..errors import ParameterError
    from ..records import read_columns

    rows = read_columns(data, {"text": text, "label": label})
    names = _names(label_names)
    labels = [names.get(str(x), str(x)) for x in rows["label"]]
    unknown = sorted(set(labels) - set(DEFAULT_VALUES))
    if unknown:
        raise ParameterError(
            f"labels {unknown[:5]} are not sentiment names ({', '.join(DEFAULT_VALUES)}); "
            "map them with --label-names 0=bearish,1=bullish,2=neutral"
        )
    start = time.perf_counter()
    probe = SentimentProbe(encoder=model).fit(load_encoder(model), rows["text"], labels)
    probe.save(output)
    typer.echo(f"probe on {len(labels):,} texts ({', '.join(probe.labels_)}) in "
               f"{time.perf_counter() - start:.0f} s -> {output}")  # fmt: skip


@monitor_app.command("topics")
def topics(
    data: Annotated[Path, typer.Argument(help="Past texts (CSV/TSV/JSONL).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The topics (JSON).")],
    text: Annotated[str, typer.Option(help="Text column.")] = "text",
    k: Annotated[int, typer.Option("--k", help="How many topics (k-means).")] = 16,
    keywords: Annotated[int, typer.Option(help="Words in a topic's name.")] = 4,
    min_similarity: Annotated[
        float, typer.Option(help="Cosine to a topic's centre below which a text has none.")
    ] = 0.3,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Sentence encoder.")] = None,
) -> None:
    """Cluster past texts into topics named by their keywords."""
    from ..apps.topics import Topics
    from ..encoders import load_encoder
    from ..records import read_columns

    texts = [str(t) for t in read_columns(data, {"text": text})["text"]]
    start = time.perf_counter()
    vectors = load_encoder(model).encode(texts, normalize=True, show_progress=True)
    found = Topics(k, keywords=keywords, min_similarity=min_similarity).fit(vectors, texts)
    found.save(output)
    sizes = np.bincount(found.labels_, minlength=k)
    for n in np.argsort(-sizes):
        typer.echo(f"{sizes[n]:>7,}  {found.names_[n]}")
    typer.echo(f"{k} topics of {len(texts):,} texts in {time.perf_counter() - start:.0f} s "
               f"-> {output}")  # fmt: skip


@monitor_app.command("run")
def run(
    stream: Annotated[
        str,
        typer.Argument(help="A JSONL/CSV file or a folder of them that may grow, or - for stdin."),
    ],
    state: Annotated[Path, typer.Option("--state", "-s", help="The monitor's folder.")],
    probe: Annotated[Optional[Path], typer.Option(help="A probe from `monitor train`.")] = None,
    classifier: Annotated[
        Optional[Path], typer.Option(help="Instead of a probe: a `finetune classify` model folder.")
    ] = None,
    label_names: Annotated[
        Optional[str],
        typer.Option(help="The classifier's labels, e.g. 0=bearish,1=bullish,2=neutral."),
    ] = None,
    model: Annotated[
        Optional[str], typer.Option("--model", "-m", help="Encoder (default: the probe's).")
    ] = None,
    entities: Annotated[Optional[Path], typer.Option(help="Entity list (.json or .txt).")] = None,
    rules: Annotated[Optional[Path], typer.Option(help="Alert rules (.json or .yaml).")] = None,
    topics: Annotated[Optional[Path], typer.Option(help="Topics from `monitor topics`.")] = None,
    window: Annotated[float, typer.Option(help="Window length in hours.")] = 24.0,
    time_field: Annotated[str, typer.Option(help="Time field or column.")] = "time",
    text_field: Annotated[str, typer.Option(help="Text field or column.")] = "text",
    skip_bad: Annotated[bool, typer.Option(help="Skip malformed lines (counted).")] = False,
    alerts: Annotated[Optional[Path], typer.Option(help="Append alerts here (JSONL).")] = None,
    webhook: Annotated[Optional[str], typer.Option(help="POST each alert to this URL.")] = None,
    follow: Annotated[
        bool, typer.Option(help="Keep waiting for new lines (Ctrl-C stops).")
    ] = False,
) -> None:
    """Process a stream's new lines: windows per entity, alerts on rules."""
    from ..apps.monitor import (
        EntityList,
        FineTunedSentiment,
        Monitor,
        Rule,
        SentimentProbe,
        Topics,
        jsonl_sink,
        webhook_sink,
    )
    from ..encoders import load_encoder
    from ..errors import ParameterError

    clf: Any
    if (probe is None) == (classifier is None):
        raise ParameterError("give the monitor a --probe or a --classifier (one of them)")
    if classifier is not None:
        clf = FineTunedSentiment.load(classifier, label_names=_names(label_names))
    else:
        clf = SentimentProbe.load(probe)  # type: ignore[arg-type]
    needs_encoder = probe is not None or topics is not None
    sinks: list[Any] = [lambda a: typer.echo("ALERT " + json.dumps(asdict(a), ensure_ascii=False))]
    if alerts is not None:
        sinks.append(jsonl_sink(alerts))
    if webhook is not None:
        sinks.append(webhook_sink(webhook))
    mon = Monitor(
        state, load_encoder(model or getattr(clf, "encoder", None)) if needs_encoder else None, clf,
        entities=EntityList.read(entities) if entities else None,
        rules=Rule.read(rules) if rules else (), window=window * 3600, sinks=sinks,
        topics=Topics.load(topics) if topics else None,
    )  # fmt: skip
    start = time.perf_counter()
    before = mon.lines_read(stream).line
    try:
        while True:
            mon.run(stream, time_field=time_field, text_field=text_field, skip_bad=skip_bad)
            if not follow or stream == "-":
                break
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    pos = mon.lines_read(stream)
    typer.echo(f"read lines {before + 1:,}-{pos.line:,} of {stream} in "
               f"{time.perf_counter() - start:.1f} s; {pos.bad} bad lines skipped; "
               f"{len(mon.alerts())} alerts in all", err=True)  # fmt: skip


def _names(label_names: str | None) -> dict[str, str]:
    """``0=bearish,1=bullish`` -> ``{"0": "bearish", "1": "bullish"}``."""
    from ..errors import ParameterError

    out = {}
    for item in (label_names or "").split(","):
        if item.strip():
            key, sep, name = item.partition("=")
            if not sep:
                raise ParameterError(f"--label-names takes LABEL=NAME pairs; got {item!r}")
            out[key.strip()] = name.strip()
    return out


@monitor_app.command("report")
def report(
    state: Annotated[Path, typer.Argument(help="The monitor's folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="report.html (+ report.png).")],
    top: Annotated[int, typer.Option(help="Entities drawn (the most mentioned).")] = 6,
) -> None:
    """Sentiment over time per entity, alerts marked: HTML with a PNG."""
    from ..apps.monitor_report import write_report

    html, png = write_report(state, output, top=top)
    typer.echo(f"wrote {html} and {png}")
