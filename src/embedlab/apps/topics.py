"""Topics of a stream: k-means clusters of its embeddings, each named by its keywords.

``Topics(k=12).fit(vectors, texts)`` clusters unit sentence vectors with k-means (scikit-learn,
k-means++ starts, the best of ``n_init``), then names each cluster by the words that set it apart
(class-based TF-IDF, as BERTopic does: a word's frequency in the cluster times the log of how
rare it is across clusters; stop words and numbers left out). ``assign(vectors)`` puts new items
in the nearest cluster, or in none (-1) when their cosine to every centre is below
``min_similarity`` — the items a "new topic" rule watches. This module does not track windows.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import NotFittedError, ParameterError
from ..optional import require
from ..rows import normalized

__all__ = ["Topics"]

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
        counts = [Counter() for _ in range(self.k)]  # type: list[Counter[str]]
        for text, label in zip(texts, labels, strict=True):
            words = re.findall(r"[^\W\d_]{3,}", text.lower())
            counts[int(label)].update(w for w in words if w not in _STOP)
        totals: Counter[str] = Counter()
        for c in counts:
            totals.update(c)
        mean_size = sum(sum(c.values()) for c in counts) / self.k
        names = []
        for c in counts:
            size = max(sum(c.values()), 1)
            scored = {w: (n / size) * math.log(1 + mean_size / totals[w]) for w, n in c.items()}
            best = sorted(scored, key=lambda w: (-scored[w], w))[: self.keywords]
            names.append("-".join(best) or "(empty)")
        return names

    def assign(self, vectors: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The nearest topic of each vector, or -1 below ``min_similarity`` to every centre."""
        if not hasattr(self, "centres_"):
            raise NotFittedError("this Topics is not fitted yet: call fit(vectors, texts) first")
        sims = normalized(np.asarray(vectors, dtype=np.float32)) @ self.centres_.T
        best = sims.argmax(axis=1)
        return np.where(sims.max(axis=1) >= self.min_similarity, best, -1).astype(np.int64)

    def name(self, topic: int) -> Any:
        return self.names_[topic] if topic >= 0 else "(no topic)"
