"""GloVe: co-occurrence counting golden values, planted topics, errors."""

from __future__ import annotations

import numpy as np
import pytest
from planted import topic_accuracy, topic_corpus

from embedlab.errors import NotFittedError, ParameterError
from embedlab.static import GloVe
from embedlab.static._cooccur import Budget, count_to_file
from embedlab.static._encode import EncodedCorpus, select_vocabulary


def cooc(sentences: list[list[str]], window: int, dense_rows: int) -> dict[tuple[str, str], float]:
    model = GloVe(window=window, min_count=1, dense_rows=dense_rows, show_progress=False)
    with EncodedCorpus.build(sentences, chunk_tokens=3) as enc:
        vocab, remap = select_vocabulary(enc, 1)
        rows, cols, values = model.cooccurrences(enc, remap, len(vocab))
    return {(vocab.words[r], vocab.words[c]): float(v) for r, c, v in zip(rows, cols, values)}


@pytest.mark.parametrize("dense_rows", [0, 2, 100])
def test_cooccurrence_counts_are_symmetric_and_distance_weighted(dense_rows: int) -> None:
    # "a b c a": a-b at 1 and 2 (the second a), b-c at 1, a-c at 2 and 1, a-a at 3
    got = cooc([["a", "b", "c", "a"], ["c", "b"]], window=2, dense_rows=dense_rows)
    want = {
        ("a", "b"): 1 + 0.5,
        ("a", "c"): 0.5 + 1,
        ("b", "c"): 1 + 1,
    }
    for (x, y), value in want.items():
        assert got[(x, y)] == pytest.approx(value) and got[(y, x)] == pytest.approx(value)
    assert ("a", "a") not in got  # distance 3 is outside the window
    assert len(got) == 6


def test_planted_topics_are_recovered() -> None:
    # GloVe C's bias step ignores eta, so biases fit log X fast and the vectors learn the rest
    # slowly: on this tiny dense corpus a larger eta helps (0.93-0.97 over seeds 1-8)
    model = GloVe(
        dim=24, window=5, min_count=1, epochs=25, x_max=10.0, eta=0.2, seed=1, show_progress=False
    ).fit(topic_corpus())
    assert topic_accuracy(model) >= 0.9
    assert model.loss_history_[-1] < model.loss_history_[0]
    assert len(model.vectors_) == 90 and model.cooccurrence_nnz_ > 0


def test_deterministic_with_one_worker_and_word_output() -> None:
    corpus = topic_corpus(sentences=400)
    a = GloVe(dim=8, min_count=1, epochs=3, workers=1, output="word", show_progress=False).fit(
        corpus
    )
    b = GloVe(dim=8, min_count=1, epochs=3, workers=1, output="word", show_progress=False).fit(
        corpus
    )
    assert np.array_equal(a.vectors_.vectors, b.vectors_.vectors)


def test_errors() -> None:
    with pytest.raises(ParameterError, match="the corpus is empty"):
        GloVe().fit([[]])
    with pytest.raises(
        ParameterError, match="The 'output' parameter of GloVe must be one of 'sum', 'word'"
    ):
        GloVe(output="both").fit([["a"]])  # type: ignore[arg-type]
    with pytest.raises(NotFittedError):
        GloVe().vectors_  # noqa: B018


# -- GloVe C's -memory: counting spills to disk, merge, two-pass shuffle, streamed training -----
def disk_cooc(
    sentences: list[list[str]], window: int, budget: Budget
) -> tuple[dict[tuple[str, str], float], int, dict[tuple[str, str], float]]:
    """The on-disk records as a dict, how many there were, and the in-memory counting's dict."""
    model = GloVe(window=window, min_count=1, dense_rows=3, show_progress=False)
    with EncodedCorpus.build(sentences, chunk_tokens=7) as enc:
        vocab, remap = select_vocabulary(enc, 1)
        rows, cols, values = model.cooccurrences(enc, remap, len(vocab))
        stored = count_to_file(
            enc, remap, len(vocab), window=window, dense_rows=3, budget=budget,
            rng=np.random.default_rng(0), update=lambda n: None,
        )  # fmt: skip
    with stored:
        got: dict[tuple[str, str], float] = {}
        n = 0
        order = []
        for r, c, v in stored.blocks():
            assert r.flags.c_contiguous and v.dtype == np.float32
            for a, b, x in zip(r, c, v):
                key = (vocab.words[a], vocab.words[b])
                assert key not in got  # every pair once
                got[key] = float(x)
                order.append(int(a))
                n += 1
        folder = stored.folder
    assert not folder.exists()  # the temporary files are gone
    assert order != sorted(order)  # shuffled
    want = {(vocab.words[r], vocab.words[c]): float(v) for r, c, v in zip(rows, cols, values)}
    return got, n, want


def test_spilled_cooccurrences_equal_the_in_memory_ones() -> None:
    corpus = topic_corpus(sentences=300)
    tiny = Budget(16, held=200, io=97, tokens=40)  # dozens of runs, a many-way merge and shuffle
    got, n, want = disk_cooc(corpus, window=4, budget=tiny)
    assert n == len(want) and got.keys() == want.keys()
    assert all(got[k] == pytest.approx(v, rel=1e-5) for k, v in want.items())


def test_glove_with_a_memory_budget_learns_as_in_memory() -> None:
    corpus = topic_corpus()
    kw = dict(dim=24, window=5, min_count=1, epochs=25, x_max=10.0, eta=0.2, seed=1)
    disk = GloVe(memory=16, show_progress=False, **kw).fit(corpus)  # type: ignore[arg-type]
    memory = GloVe(show_progress=False, **kw).fit(corpus)  # type: ignore[arg-type]
    assert disk.cooccurrence_nnz_ == memory.cooccurrence_nnz_
    assert topic_accuracy(disk) >= 0.9
    assert disk.loss_history_[-1] == pytest.approx(memory.loss_history_[-1], rel=0.1)
    with pytest.raises(ParameterError, match="memory"):
        GloVe(memory=1).fit(corpus)
