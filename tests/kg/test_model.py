"""Training finds planted structure, evaluation counts as PyKEEN's realistic rank does, models
round-trip through disk as ordinary vectors, and resuming equals training straight through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab import load_vectors
from embedlab.errors import NotFittedError, ParameterError
from embedlab.kg import MODELS, DistMult, RotatE, TransE, Triples, link_prediction, read_splits
from embedlab.kg.evaluate import rank_metrics
from embedlab.kg.store import load_model, save_model

SETTINGS = {
    "transe": {"dim": 16, "negatives": 8, "lr": 0.02, "epochs": 60, "p": 2},
    "distmult": {"dim": 16, "negatives": 8, "lr": 0.02, "epochs": 60, "loss": "softplus"},
    "complex": {"dim": 8, "negatives": 8, "lr": 0.02, "epochs": 60},
    "rotate": {"dim": 8, "negatives": 8, "lr": 0.02, "epochs": 60},
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_learns_the_planted_twin_relation(graph: Path, name: str) -> None:
    train, _, test = read_splits(graph)
    assert test is not None
    model = MODELS[name](**SETTINGS[name], batch_size=16, workers=1, show_progress=False)
    model.fit(train)
    assert model.loss_history_[-1] < 0.7 * model.loss_history_[0]
    tails = link_prediction(model, test, known=[train]).metrics["tail"]
    # a random ranker's MRR over 80 entities is ~0.06; the twins of ``pair`` are ranked first
    assert tails["mrr"] > 0.5, tails


def test_realistic_ranks_with_ties_and_filtering_are_pykeens(graph: Path) -> None:
    """Integer-valued DistMult tables make exact ties; ranks are checked against a brute force
    written from PyKEEN's definitions (filtered entries are NaN and never counted)."""
    train, _, test = read_splits(graph)
    assert test is not None
    model = DistMult(dim=4, epochs=1, show_progress=False).fit(train)
    rng = np.random.default_rng(0)
    model._E = model._S = rng.integers(-1, 2, size=model._E.shape).astype(np.float32)
    model._R = rng.integers(-1, 2, size=model._R.shape).astype(np.float32)
    everything = Triples(
        np.concatenate([test.ids, train.ids[:30]]), train.entities, train.relations, "mix"
    )
    result = link_prediction(model, everything, known=[train], batch_size=7)
    truth = {tuple(t) for t in np.concatenate([train.ids, everything.ids]).tolist()}
    for side in ("head", "tail"):
        opt, pes = [], []
        for h, r, t in everything.ids.tolist():
            scores = np.array(
                [
                    float(np.sum(model._E[h] * model._R[r] * model._E[e]))
                    if side == "tail"
                    else float(np.sum(model._E[e] * model._R[r] * model._E[t]))
                    for e in range(train.num_entities)
                ]
            )
            target = t if side == "tail" else h
            true = scores[target]
            for e in range(train.num_entities):
                other = (h, r, e) if side == "tail" else (e, r, t)
                if e != target and other in truth:
                    scores[e] = np.nan
            opt.append(1 + np.sum(scores > true))
            pes.append(np.sum(scores >= true))
        np.testing.assert_array_equal(result.optimistic[side], opt)
        np.testing.assert_array_equal(result.pessimistic[side], pes)
        assert result.metrics[side] == rank_metrics(opt, pes)
    assert np.any(result.pessimistic["both"] > result.optimistic["both"])  # ties were there
    m = rank_metrics([1, 2, 4], [1, 3, 4])
    assert m == pytest.approx(
        {"mrr": (1 + 1 / 2.5 + 1 / 4) / 3, "hits@1": 1 / 3, "hits@3": 2 / 3, "hits@10": 1.0,
         "mean_rank": 7.5 / 3, "count": 3.0}
    )  # fmt: skip


def test_save_load_predict_and_open_as_vectors(graph: Path, tmp_path: Path) -> None:
    train, _, test = read_splits(graph)
    assert test is not None
    model = RotatE(**SETTINGS["rotate"], batch_size=16, workers=1, show_progress=False).fit(train)
    save_model(model, tmp_path / "model")
    back = load_model(tmp_path / "model")
    np.testing.assert_allclose(
        back.score_triples(test.ids), model.score_triples(test.ids), atol=1e-5
    )
    assert back.loss_history_ == model.loss_history_ and back.relations_ == ["pair", "twin", "next"]
    first = back.predict("twin", head="a0", k=3)
    assert first[0][0] == "b0" and len(first) == 3 and first[0][1] >= first[1][1]
    assert back.predict("pair", tail="b0", k=1)[0][0] == "a0"
    new = back.predict("pair", head="a0", k=3, exclude=train)  # known answers left out
    assert "b0" not in [e for e, _ in new]
    ents = load_vectors(tmp_path / "model" / "entities")
    assert ents.dim == 16 and len(ents) == 80 and ents.index_to_key[0] == "a0"
    rels = load_vectors(tmp_path / "model" / "relations")
    k = rels.dim // 2
    np.testing.assert_allclose(rels.vectors[:, :k] ** 2 + rels.vectors[:, k:] ** 2, 1.0, atol=1e-5)
    with pytest.raises(ParameterError, match="unknown entity 'nobody'"):
        back.predict("pair", head="nobody")
    with pytest.raises(ParameterError, match="unknown relation 'kin'; known: pair, twin, next"):
        back.predict("kin", head="a0")
    with pytest.raises(ParameterError, match="give the head or the tail"):
        back.predict("pair", head="a0", tail="b0")


def test_resume_continues_exactly(graph: Path, tmp_path: Path) -> None:
    train, _, _ = read_splits(graph)
    kw = {"dim": 8, "negatives": 4, "batch_size": 16, "workers": 1, "show_progress": False}
    straight = TransE(epochs=4, **kw).fit(train)
    ckpt = tmp_path / "ckpt"
    TransE(epochs=2, checkpoint_dir=ckpt, **kw).fit(train)
    resumed = TransE(epochs=4, checkpoint_dir=ckpt, **kw).fit(train, resume=True)
    np.testing.assert_array_equal(resumed._E, straight._E)
    assert resumed.loss_history_ == straight.loss_history_
    with pytest.raises(ParameterError, match=r"other settings \(dim\)"):
        TransE(epochs=4, checkpoint_dir=ckpt, **{**kw, "dim": 9}).fit(train, resume=True)
    other = Triples.from_names([("x", "r", "y")])
    with pytest.raises(ParameterError, match="trained on other triples"):
        TransE(epochs=4, checkpoint_dir=ckpt, **kw).fit(other, resume=True)


def test_parameters_and_state_are_checked(graph: Path) -> None:
    with pytest.raises(ParameterError, match=r"The 'loss' parameter of RotatE must be one of"):
        RotatE(loss="hinge").fit(Triples.from_names([("x", "r", "y")]))
    with pytest.raises(NotFittedError, match="RotatE instance is not fitted yet"):
        RotatE().entity_vectors_  # noqa: B018
    train, _, _ = read_splits(graph)
    unknown = Triples.from_names([("a0", "pair", "zz")], like=train, unseen="add")
    model = TransE(dim=4, epochs=1, show_progress=False).fit(train)
    with pytest.raises(ParameterError, match="names 1 entities the model was not trained on"):
        link_prediction(model, unknown)
