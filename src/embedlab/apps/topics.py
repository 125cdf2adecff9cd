"""Topics of a stream: k-means clusters of its embeddings, each named by its keywords.

``Topics(k=12).fit(vectors, texts)`` clusters unit sentence vectors with k-means (scikit-learn,
k-means++ starts, the best of ``n_init``), then names each cluster by the words that set it apart
(class-based TF-IDF, as BERTopic does: a word's frequency in the cluster times the log of how
rare it is across clusters; stop words and numbers left out). ``assign(vectors)`` puts new items
in the nearest cluster, or in none (-1) when their cosine to every centre is below
``min_similarity`` — the items a "new topic" rule watches. ``emerging(vectors)`` finds the
dense groups among such items (each item's neighbours above a cosine, the densest first), and
``keywords(groups)`` names groups of texts against each other. ``save``/``load`` keep a fitted
model as JSON. This module does not track windows (:mod:`embedlab.apps.monitor` does).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, NotFittedError, ParameterError
from ..files import atomic_file, read_json
from ..optional import require
from ..rows import normalized

__all__ = ["Topics", "emerging", "keywords"]

# fmt: off
_STOP = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
    "into", "is", "it", "its", "of", "on", "or", "over", "says", "say", "that", "the", "their",
    "this", "to", "up", "was", "were", "will", "with", "after", "new", "more", "than", "amid",
    "about", "against", "out", "off", "us",
])
# fmt: on


class Topics:
    """k-means topics with keyword names; sklearn shape."""

    def __init__(self, k: int = 12, *, keywords: int = 4, min_similarity: float = 0.3,
                 n_init: int = 4, seed: int = 0) -> None:  # fmt: skip
        self.k, self.keywords, self.min_similarity = k, keywords, min_similarity
        self.n_init, self.seed = n_init, seed

    def fit(self, vectors: npt.ArrayLike, texts: Sequence[str]) -> Topics:
        x = normalized(np.asarray(vectors, dtype=np.float32))
        if len(x) != len(texts) or len(x) < self.k:
            raise ParameterError(f"need one text per vector and at least k={self.k} of them")
        cluster = require("sklearn.cluster", "viz", "topic clusters")
        km = cluster.KMeans(n_clusters=self.k, n_init=self.n_init, random_state=self.seed).fit(x)
        self.centres_ = normalized(np.asarray(km.cluster_centers_, dtype=np.float32))
        self.labels_ = np.asarray(km.labels_, dtype=np.int64)
        self.names_ = self._names(texts, self.labels_)
        return self

    def _names(self, texts: Sequence[str], labels: npt.NDArray[np.int64]) -> list[str]:
        groups: list[list[str]] = [[] for _ in range(self.k)]
        for text, label in zip(texts, labels, strict=True):
            groups[int(label)].append(text)
        return keywords(groups, self.keywords)

    def assign(self, vectors: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The nearest topic of each vector, or -1 below ``min_similarity`` to every centre."""
        if not hasattr(self, "centres_"):
            raise NotFittedError("this Topics is not fitted yet: call fit(vectors, texts) first")
        sims = normalized(np.asarray(vectors, dtype=np.float32)) @ self.centres_.T
        best = sims.argmax(axis=1)
        return np.where(sims.max(axis=1) >= self.min_similarity, best, -1).astype(np.int64)

    def name(self, topic: int) -> Any:
        return self.names_[topic] if topic >= 0 else "(no topic)"

    def save(self, path: str | os.PathLike[str]) -> None:
        if not hasattr(self, "centres_"):
            raise NotFittedError("this Topics is not fitted yet: call fit(vectors, texts) first")
        data = {"k": self.k, "keywords": self.keywords, "min_similarity": self.min_similarity,
                "names": self.names_, "centres": self.centres_.tolist()}  # fmt: skip
        with atomic_file(Path(path)) as f:
            f.write((json.dumps(data) + "\n").encode("utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Topics:
        p = Path(path)
        data = read_json(p)
        try:
            topics = cls(int(data["k"]), keywords=int(data["keywords"]),
                         min_similarity=float(data["min_similarity"]))  # fmt: skip
            topics.names_ = [str(n) for n in data["names"]]
            topics.centres_ = normalized(np.asarray(data["centres"], dtype=np.float32))
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(p, f"expected topics saved by Topics.save ({e})") from None
        if topics.centres_.ndim != 2 or len(topics.centres_) != len(topics.names_):
            raise FormatError(p, "expected one centre row per topic name")
        return topics


def keywords(groups: Sequence[Sequence[str]], n: int = 4) -> list[str]:
    """A name for each group of texts: its ``n`` words that set it apart from the other groups
    (class-based TF-IDF, as BERTopic: a word's share of the group's words times the log of one
    plus the mean group size over the word's count in all groups), joined by ``-``."""
    counts = []
    for texts in groups:
        c: Counter[str] = Counter()
        for text in texts:
            c.update(w for w in re.findall(r"[^\W\d_]{3,}", text.lower()) if w not in _STOP)
        counts.append(c)
    totals: Counter[str] = Counter()
    for c in counts:
        totals.update(c)
    mean_size = sum(sum(c.values()) for c in counts) / max(len(counts), 1)
    names = []
    for c in counts:
        size = max(sum(c.values()), 1)
        scored = {w: (k / size) * math.log(1 + mean_size / totals[w]) for w, k in c.items()}
        best = sorted(scored, key=lambda w: (-scored[w], w))[:n]
        names.append("-".join(best) or "(empty)")
    return names


def emerging(
    vectors: npt.ArrayLike, *, similarity: float = 0.5, min_size: int = 5
) -> list[npt.NDArray[np.intp]]:
    """Dense groups among ``vectors``: the item with the most neighbours (cosine >=
    ``similarity``) and those neighbours form a group if they are at least ``min_size``; its
    members leave, and the next densest item is looked at, until none is dense enough. Returns
    each group's row indices, members nearest its centre first, largest group first."""
    x = normalized(np.asarray(vectors, dtype=np.float32))
    if len(x) < min_size:
        return []
    near = (x @ x.T) >= similarity
    left = np.ones(len(x), dtype=bool)
    groups = []
    while True:
        degree = (near & left).sum(axis=1) * left
        seed = int(degree.argmax())
        if degree[seed] < min_size:
            break
        members = np.flatnonzero(near[seed] & left)
        centre = normalized(x[members].mean(axis=0, keepdims=True))[0]
        groups.append(members[np.argsort(-(x[members] @ centre), kind="stable")])
        left[members] = False
    return groups
