"""User-item interactions for the recommender: reading them, ordering them, splitting them by time.

``read_interactions("ratings.csv")`` reads ``userId,movieId,rating,timestamp`` rows (any column
names, CSV/TSV/JSONL, compressed too; a missing column or a bad number is a
:class:`~embedlab.errors.FormatError` naming the file and line) into :class:`Histories`: each
user's items in time order (ties keep file order), optionally only ratings at or above
``min_rating``. ``time_split(histories, 0.2)`` holds out the last 20% of each user's items (at
least one, for users with two or more), the protocol of a recommender evaluated on the future.
``read_item_texts("movies.csv", fields=("title", "genres"))`` gives each item a text for a
sentence encoder (``|``-joined genres become words; ``tags=`` adds users' tags). This module
does not train.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import ParameterError
from ..records import read_columns

__all__ = ["Histories", "read_interactions", "read_item_texts", "time_split"]


@dataclass
class Histories:
    """Each user's items in time order (``times`` alongside, Unix seconds or any number)."""

    items: dict[str, list[str]] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)

    def interactions(self) -> int:
        return sum(len(v) for v in self.items.values())

    def catalogue(self) -> set[str]:
        return {i for v in self.items.values() for i in v}


def read_interactions(
    path: str | os.PathLike[str],
    *,
    user: str | int = "userId",
    item: str | int = "movieId",
    time: str | int = "timestamp",
    rating: str | int | None = None,
    min_rating: float | None = None,
) -> Histories:
    """Each user's time-ordered items; with ``min_rating`` only ratings at or above it (the
    ``rating`` column, default ``"rating"`` when a threshold is given)."""
    columns: dict[str, str | int] = {"user": user, "item": item, "time": time}
    if min_rating is not None:
        columns["rating"] = "rating" if rating is None else rating
    numeric = ["time", "rating"] if min_rating is not None else ["time"]
    rows = read_columns(path, columns, numeric=numeric)
    events: dict[str, list[tuple[float, int, str]]] = {}
    for n, (u, i, t) in enumerate(zip(rows["user"], rows["item"], rows["time"], strict=True)):
        if min_rating is not None and rows["rating"][n] < min_rating:
            continue
        events.setdefault(str(u), []).append((float(t), n, str(i)))
    out = Histories()
    for u, evs in events.items():
        evs.sort()
        out.items[u] = [i for _, _, i in evs]
        out.times[u] = [t for t, _, _ in evs]
    if not out.items:
        raise ParameterError(f"{path}: no interaction left (min_rating={min_rating})")
    return out


def time_split(histories: Histories, holdout: float = 0.2) -> tuple[Histories, Histories]:
    """(train, test): the last ``holdout`` share of each user's items held out (at least one for
    users with two or more items; a user with one item stays in train only)."""
    if not 0 < holdout < 1:
        raise ParameterError(f"holdout must be in (0, 1); got {holdout}")
    train, test = Histories(), Histories()
    for u, items in histories.items.items():
        times = histories.times.get(u, [0.0] * len(items))
        n = len(items)
        held = 0 if n < 2 else min(n - 1, max(1, math.ceil(holdout * n)))
        train.items[u], train.times[u] = items[: n - held], times[: n - held]
        if held:
            test.items[u], test.times[u] = items[n - held :], times[n - held :]
    return train, test


def read_item_texts(
    path: str | os.PathLike[str],
    *,
    id: str | int = "movieId",
    fields: Sequence[str | int] = ("title", "genres"),
    tags: str | os.PathLike[str] | None = None,
    tag_item: str | int = "movieId",
    tag_text: str | int = "tag",
) -> dict[str, str]:
    """item id -> "title. genre genre. tag, tag" (fields joined; ``|`` separators become spaces)."""
    columns: dict[str, str | int] = {"id": id}
    columns.update({f"f{k}": f for k, f in enumerate(fields)})
    rows = read_columns(path, columns)
    texts: dict[str, str] = {}
    for n, key in enumerate(rows["id"]):
        parts = [str(rows[f"f{k}"][n]).replace("|", " ") for k in range(len(fields))]
        texts[str(key)] = ". ".join(p for p in parts if p and p != "(no genres listed)")
    if tags is not None:
        t = read_columns(tags, {"item": tag_item, "tag": tag_text})
        extra: dict[str, list[str]] = {}
        for i, tag in zip(t["item"], t["tag"], strict=True):
            words = extra.setdefault(str(i), [])
            if str(tag) not in words:
                words.append(str(tag))
        for i, words in extra.items():
            if i in texts:
                texts[i] += ". " + ", ".join(words[:20])
    return texts
