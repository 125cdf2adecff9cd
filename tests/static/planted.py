"""Generated corpora with planted structure, shared by the trainer tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def topic_corpus(
    n_topics: int = 6, words: int = 15, sentences: int = 2500, seed: int = 0
) -> list[list[str]]:
    """Sentences drawn from one topic each: words of a topic co-occur, other pairs never do."""
    rng = np.random.default_rng(seed)
    topics = [[f"t{t}_{i}" for i in range(words)] for t in range(n_topics)]
    return [list(rng.choice(topics[rng.integers(n_topics)], 10)) for _ in range(sentences)]


def topic_accuracy(model: Any) -> float:
    """Share of words whose nearest neighbour belongs to the same topic."""
    v = model.vectors_
    hits = [
        v.most_similar(w, topn=1)[0][0].split("_")[0] == w.split("_")[0] for w in v.index_to_key
    ]
    return float(np.mean(hits))
