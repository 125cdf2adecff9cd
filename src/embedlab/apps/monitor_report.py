"""The monitor's report: sentiment over time per entity with its alerts, as PNG and HTML.

``write_report("state/", "report.html")`` reads the monitor's SQLite state (no model needed),
draws the mean score of each window for all items and the ``top`` most mentioned entities, one
panel each, alerts marked in red at their window, and writes a self-contained HTML page: the
chart (embedded) and a table of the alerts with the headlines behind each. This module does not
classify or alert.
"""

from __future__ import annotations

import base64
import html
import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from ..errors import FormatError
from ..files import atomic_file
from ..optional import pyplot
from .monitor import DB

__all__ = ["write_report"]


def _day(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def write_report(
    state: str | os.PathLike[str], output: str | os.PathLike[str], *, top: int = 6
) -> tuple[Path, Path]:
    """Write ``output`` (HTML) and the PNG beside it; returns both paths."""
    db = Path(state) / DB
    if not db.is_file():
        raise FormatError(db, "expected a monitor's state (run `embedlab monitor run` first)")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        keys = [k for (k,) in con.execute(  # entities first, then topics
            "SELECT key FROM windows WHERE key != '*' GROUP BY key "
            "ORDER BY key LIKE 'topic:%', SUM(count) DESC, key LIMIT ?", (top,))]  # fmt: skip
        series = {
            key: con.execute(
                "SELECT start, score_sum / count, count FROM windows WHERE key=? ORDER BY start",
                (key,),
            ).fetchall()
            for key in ["*", *keys]
        }
        alerts = con.execute("SELECT rule, key, window, value, baseline, headlines FROM alerts "
                             "ORDER BY window, rule").fetchall()  # fmt: skip
    finally:
        con.close()
    if not series["*"]:
        raise FormatError(db, "expected processed items; the state holds none")
    png = Path(output).with_suffix(".png")
    plt = pyplot()
    fig, axes = plt.subplots(len(series), 1, figsize=(10, 2.2 * len(series)), sharex=True,
                             squeeze=False)  # fmt: skip
    for ax, (key, rows) in zip(axes[:, 0], series.items(), strict=True):
        days = [datetime.fromtimestamp(s, tz=timezone.utc) for s, _, _ in rows]
        ax.plot(days, [m for _, m, _ in rows], color="#1f77b4", lw=1.2)
        ax.axhline(0, color="#999", lw=0.6)
        ax.set_ylabel("all items" if key == "*" else key)
        ax.set_ylim(-1.05, 1.05)
        marks = [a for a in alerts if a[1] == key]
        if marks:
            ax.scatter([datetime.fromtimestamp(a[2], tz=timezone.utc) for a in marks],
                       [a[3] if -1 <= a[3] <= 1 else 0 for a in marks], color="#d62728",
                       zorder=3, s=30, label="alert")  # fmt: skip
            ax.legend(loc="lower left", fontsize=8)
    axes[0, 0].set_title("mean sentiment per window (bearish -1 ... bullish +1)")
    fig.tight_layout()
    with atomic_file(png) as f:
        fig.savefig(f, format="png", dpi=90)
    plt.close(fig)
    rows_html = "".join(
        f"<tr><td>{_day(w)}</td><td>{html.escape(k)}</td><td>{html.escape(r)}</td>"
        f"<td>{v:.3f}</td><td>{'' if b is None else f'{b:.3f}'}</td><td>"
        + "<br>".join(html.escape(h) for h in json.loads(hs))
        + "</td></tr>"
        for r, k, w, v, b, hs in alerts
    )
    image = base64.b64encode(png.read_bytes()).decode("ascii")
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>embedlab monitor</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:24px}td,th{border-bottom:1px solid "
        "#ddd;padding:4px 8px;vertical-align:top;font-size:13px}</style></head><body>"
        f"<h2>Sentiment monitor</h2><img alt='sentiment over time' src='data:image/png;base64,"
        f"{image}'><h3>{len(alerts)} alerts</h3><table><tr><th>window</th><th>key</th>"
        f"<th>rule</th><th>value</th><th>baseline</th><th>headlines</th></tr>{rows_html}"
        "</table></body></html>"
    )
    target = Path(output)
    with atomic_file(target) as f:
        f.write(page.encode("utf-8"))
    return target, png
