"""A planted world for the monitor tests: a word-hash encoder, a probe trained on planted
headlines, and dated streams of them (run as a script, it is the process the SIGKILL test kills)."""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from toyencoders import WordHash

GOOD = [
    "shares soar on record profit",
    "strong growth beats forecasts",
    "stock rallies after upgrade",
]
BAD = [
    "shares plunge on heavy losses",
    "lawsuit hits profit warning",
    "stock crashes after downgrade",
]
PLAIN = ["company holds annual meeting", "board names new director", "firm opens an office"]
DAY = 86_400.0


def probe():  # type: ignore[no-untyped-def]
    from embedlab.apps.monitor import SentimentProbe

    texts = [f"{t} {w}" for t in GOOD + BAD + PLAIN for w in ("today", "again", "now", "")]
    labels = ["bullish"] * 12 + ["bearish"] * 12 + ["neutral"] * 12
    return SentimentProbe(c=10.0).fit(WordHash(), texts, labels)


def stream(path: Path, *, days: int = 24, shift_from: int | None = None, seed: int = 0) -> None:
    """20 items a day, a quarter about ACME (good or plain news); from ``shift_from`` on,
    ACME's turn all bad."""
    rng = random.Random(seed)
    lines = []
    for day in range(days):
        for n in range(20):
            entity = "ACME" if n % 4 == 0 else rng.choice(["Globex", "Initech", "$UMBR"])
            pool = rng.choice([GOOD, BAD, PLAIN, PLAIN])
            if entity == "ACME":  # a well-liked company, until the shift
                shifted = shift_from is not None and day >= shift_from
                pool = BAD if shifted else rng.choice([GOOD, PLAIN])
            text = f"{entity} {rng.choice(pool)}"
            lines.append({"time": day * DAY + n * 3000 + rng.randrange(100), "text": text})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


class SlowHash(WordHash):
    def encode(self, texts, **kw):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        return super().encode(texts, **kw)


if __name__ == "__main__":  # the monitor process of the SIGKILL test
    from embedlab.apps.monitor import Monitor, SentimentProbe

    folder, source = Path(sys.argv[1]), sys.argv[2]
    m = Monitor(folder, SlowHash(), SentimentProbe.load(folder.parent / "probe.json"))
    m.run(source, batch_size=7)
    print("done")
