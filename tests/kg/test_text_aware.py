"""Text-aware entities: description vectors projected into the graph model, new entities ranked
from their descriptions alone.

The planted graph: ``pair`` links ``a_i`` to ``b_perm(i)``, and the two descriptions are near
copies of one random vector, so "the b whose description matches" is the rule. Ten ``a``s are held
out of training entirely; only a model that reads descriptions can place them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab import load_vectors
from embedlab.errors import ParameterError
from embedlab.kg import DistMult, RotatE, Triples, link_prediction, tune_text_weight
from embedlab.kg.store import load_model, save_model
from embedlab.kg.text import describe
from embedlab.vectors import Vectors

N, HELD = 60, 10


def matched_text() -> tuple[Triples, Triples, Vectors]:
    rng = np.random.default_rng(0)
    perm = rng.permutation(N)
    u = rng.normal(size=(N, 32))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    table = np.zeros((2 * N, 32), np.float32)
    table[:N] = u
    table[N + perm] = u + 0.1 * rng.normal(size=(N, 32))
    text = Vectors([f"a{i}" for i in range(N)] + [f"b{i}" for i in range(N)], table)
    rows = [(f"a{i}", "pair", f"b{perm[i]}") for i in range(HELD, N)]
    rows += [(f"b{i}", "next", f"b{(i + 1) % N}") for i in range(N)]
    train = Triples.from_names(rows)
    test = Triples.from_names(
        [(f"a{i}", "pair", f"b{perm[i]}") for i in range(HELD)], like=train, unseen="add"
    )
    return train, test, text


def small(kind: Any = DistMult, **kw: Any) -> Any:
    params = {"dim": 16, "epochs": 200, "negatives": 8, "lr": 0.01, "batch_size": 32}
    return kind(**{**params, **kw}, workers=1, show_progress=False)


def test_new_entities_are_ranked_from_their_descriptions() -> None:
    train, test, text = matched_text()
    new = test.entities[train.num_entities :]
    assert new == [f"a{i}" for i in range(HELD)]
    blind = small().fit(train)
    with pytest.raises(ParameterError, match="structure-only models cannot rank them"):
        link_prediction(blind, test, known=[train])
    with pytest.raises(ParameterError, match="trained without entity descriptions"):
        blind.add_entities(new, text)
    for kind, least in ((DistMult, 0.45), (RotatE, 0.25)):
        model = small(kind).fit(train, text=text)
        model.add_entities(new, text)
        tail = link_prediction(model, test, known=[train]).metrics["tail"]
        # chance is ~0.045 among the 120 entities
        assert tail["count"] == HELD and tail["mrr"] > least, kind


def test_the_structure_expert_is_the_structure_only_model() -> None:
    train, _, text = matched_text()
    blind = small(RotatE, epochs=30).fit(train)
    aware = small(RotatE, epochs=30, text_weight=0.0).fit(train, text=text)
    np.testing.assert_array_equal(aware.entity_vectors_.vectors, blind.entity_vectors_.vectors)
    q = train.ids[:20]
    np.testing.assert_array_equal(
        aware.score_candidates(aware.query_vectors(q, True)),
        blind.score_candidates(blind.query_vectors(q, True)),
    )
    assert aware._text is not None
    raw = np.stack([text[e] for e in train.entities])
    np.testing.assert_allclose(aware._text.S, aware._text.reduce(raw) @ aware._text.W, atol=1e-5)


def test_a_query_about_a_new_entity_ranks_by_its_description_alone() -> None:
    train, test, text = matched_text()
    model = small(RotatE, epochs=30).fit(train, text=text)
    model.add_entities(test.entities[train.num_entities :], text)
    q = model.query_vectors(test.ids, True)
    structure, described = model.expert_scores(q)
    assert not structure.any()  # a0..a9 are new: no structure part
    np.testing.assert_allclose(model.score_candidates(q), described, rtol=1e-6)
    back = model.query_vectors(test.ids, False)  # (?, pair, b): the b is known, the a's are not
    structure, _ = model.expert_scores(back)
    seen = len(train.entities)
    np.testing.assert_allclose(  # a new candidate gets the query's mean structure score
        structure[:, seen:], np.repeat(structure[:, :seen].mean(1, keepdims=True), HELD, 1),
        rtol=1e-5,
    )  # fmt: skip


def test_the_text_weight_is_tuned_on_dev() -> None:
    train, test, text = matched_text()
    model = small(epochs=60).fit(train, text=text)
    model.add_entities(test.entities[train.num_entities :], text)
    tried = tune_text_weight(model, test, known=[train], weights=(0.0, 0.5, 1.0, 2.0))
    assert set(tried) == {0.0, 0.5, 1.0, 2.0}
    assert model.text_weight == max(tried, key=lambda w: (tried[w], -w))
    assert tried[model.text_weight] > tried[0.0] + 0.2  # the new a's need the descriptions
    with pytest.raises(ParameterError, match="belongs to text-aware models"):
        tune_text_weight(small(epochs=1).fit(train), test)


def test_saved_model_places_new_entities_as_before(tmp_path: Path) -> None:
    train, test, text = matched_text()
    new = test.entities[train.num_entities :]
    model = small(epochs=20).fit(train, text=text)
    folder = save_model(model, tmp_path / "m", descriptions=text)
    loaded = load_model(folder)
    model.add_entities(new, text)
    loaded.add_entities(new, text)
    np.testing.assert_allclose(
        loaded.entity_vectors_.vectors, model.entity_vectors_.vectors, atol=1e-6
    )
    assert loaded.entities_ == model.entities_
    assert load_vectors(folder / "text").dim == 32  # the descriptions, for search and viz
    assert (
        loaded.predict("pair", head="a3", k=1)[0][0] == model.predict("pair", head="a3", k=1)[0][0]
    )


def test_text_errors() -> None:
    train, _, text = matched_text()
    with pytest.raises(ParameterError, match="name none of the graph's entities"):
        small(epochs=1).fit(train, text=Vectors(["x", "y"], np.ones((2, 4))))
    with pytest.raises(ParameterError, match=r"one description vector per entity \(110 rows\)"):
        small(epochs=1).fit(train, text=np.ones((3, 4)))
    assert small(epochs=1).fit(train, text=np.ones((110, 4)))._text is not None  # aligned rows
    model = small(epochs=1).fit(train, text=text)
    with pytest.raises(ParameterError, match="already in the model: 'a11'"):
        model.add_entities(["a11"], text)
    with pytest.raises(ParameterError, match="1 new entities have no description vector"):
        model.add_entities(["zz"], text)


def test_resume_refuses_a_run_without_the_text(tmp_path: Path) -> None:
    train, _, text = matched_text()
    small(epochs=2, checkpoint_dir=tmp_path / "ck").fit(train, text=text)
    again = small(epochs=4, checkpoint_dir=tmp_path / "ck")
    with pytest.raises(ParameterError, match=r"other settings \(text\)"):
        again.fit(train, resume=True)
    resumed = small(epochs=4, checkpoint_dir=tmp_path / "ck").fit(train, text=text, resume=True)
    straight = small(epochs=4).fit(train, text=text)
    np.testing.assert_allclose(
        resumed.entity_vectors_.vectors, straight.entity_vectors_.vectors, atol=1e-5
    )


class Spy:
    """An encoder that records what it was asked to encode."""

    name, dim, max_length = "spy", 3, None

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray[Any, Any]:
        self.seen = list(texts)
        return np.ones((len(texts), 3), np.float32) / np.sqrt(3)


def test_describe_stands_in_the_id_for_a_missing_description(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spy = Spy()
    with caplog.at_level(logging.WARNING):
        out = describe(["q1", "new_york"], {"q1": "an apple"}, spy)  # type: ignore[arg-type]
    assert spy.seen == ["an apple", "new york"]
    assert list(out.index_to_key) == ["q1", "new_york"] and out.dim == 3
    assert "1 of 2 entities have no description" in caplog.text
