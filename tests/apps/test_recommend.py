"""The recommender on planted tastes: two groups of users who watch disjoint items, items whose
texts name their group, a cold item only content can place; metrics on hand-computed cases."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from embedlab.apps.interactions import Histories, read_interactions, read_item_texts, time_split
from embedlab.apps.recommend import Recommender, evaluate_recommender
from embedlab.errors import FormatError, ParameterError
from toyencoders import WordHash

GROUPS = {"a": "space rocket stars galaxy", "b": "cooking kitchen recipe bread"}


def _world(users: int = 60, items: int = 20, length: int = 15) -> tuple[Histories, dict[str, str]]:
    rng = random.Random(0)
    hist = Histories()
    for u in range(users):
        group = "a" if u % 2 == 0 else "b"
        seq = [f"{group}{rng.randrange(items)}" for _ in range(length)]
        hist.items[f"u{u}"], hist.times[f"u{u}"] = seq, [float(t) for t in range(length)]
    texts = {
        f"{g}{i}": f"film {i} about {words}" for g, words in GROUPS.items() for i in range(items)
    }
    texts["a-cold"] = "film about space rocket stars galaxy"  # nobody has seen it
    return hist, texts


@pytest.mark.parametrize("mode", ["item2vec", "content", "hybrid"])
def test_users_get_items_of_their_own_taste(mode: str) -> None:
    hist, texts = _world()
    train, test = time_split(hist, 0.2)
    model = Recommender(mode=mode, dim=16, epochs=5, window=5).fit(
        train, item_texts=texts, encoder=WordHash()
    )
    recs = model.recommend(train.items["u0"], 5)
    assert len(recs) == 5 and all(item.startswith("a") for item, _ in recs)
    assert not set(i for i, _ in recs) & set(train.items["u0"])
    scores = evaluate_recommender(model, train, test)
    pop = evaluate_recommender(Recommender(mode="popularity").fit(train), train, test)
    assert scores["ndcg@10"] > pop["ndcg@10"]


def test_a_cold_item_is_placed_by_content_and_filters_apply() -> None:
    hist, texts = _world()
    model = Recommender(mode="content").fit(hist, item_texts=texts, encoder=WordHash())
    assert "a-cold" in [i for i, _ in model.recommend(["a1", "a2", "a3"], 10)]
    assert "a-cold" not in [i for i, _ in model.recommend(["b1", "b2", "b3"], 10)]
    only_b = model.recommend(["a1"], 3, keep=lambda i: i.startswith("b"))
    assert len(only_b) == 3 and all(i.startswith("b") for i, _ in only_b)
    hybrid = Recommender(dim=16, epochs=5, window=5).fit(hist, item_texts=texts, encoder=WordHash())
    assert sum(hybrid.weights_) == pytest.approx(1) and hybrid.validation_ndcg_ > 0
    because = hybrid.explain(["b5", "a1", "a2", "b7"], "a3")
    assert because and because[0][0] in {"a1", "a2"}


def test_save_and_load_give_the_same_recommendations(tmp_path: Path) -> None:
    hist, texts = _world()
    model = Recommender(dim=16, epochs=3, window=5).fit(hist, item_texts=texts, encoder=WordHash())
    model.save(tmp_path / "rec")
    again = Recommender.load(tmp_path / "rec")
    assert again.weights_ == model.weights_
    assert again.recommend(["a1", "b2"], 8) == model.recommend(["a1", "b2"], 8)
    assert not list((tmp_path / "rec").glob("*.pkl"))


def test_metrics_on_a_hand_computed_case() -> None:
    train, test = Histories(), Histories()
    train.items = {"u": ["x"], "v": ["y"]}
    test.items = {"u": ["p", "q"], "v": ["r"]}
    model = Recommender(mode="popularity").fit(
        Histories(items={"w": ["p", "p", "p", "r", "r", "z", "x", "y", "q"]})
    )
    # popularity ranks p, r, then q/x/y/z (one each); u's top 10 holds p and q, v's r
    got = evaluate_recommender(model, train, test, ks=(1, 10))
    assert got["recall@1"] == pytest.approx((0.5 + 0.0) / 2)  # v's first unseen is p, not r
    assert got["recall@10"] == 1.0
    ndcg_u = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3))  # p at rank 1, q at rank 3 (after r)
    ndcg_v = (1 / np.log2(3)) / 1  # r at rank 2 (after p)
    assert got["ndcg@10"] == pytest.approx((ndcg_u + ndcg_v) / 2)


def test_time_split_and_readers(tmp_path: Path) -> None:
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("userId,movieId,rating,timestamp\n1,10,4.0,30\n1,11,2.0,10\n1,12,5.0,20\n"
                       "1,13,3.5,40\n1,14,4.5,50\n2,10,5.0,5\n")  # fmt: skip
    h = read_interactions(ratings)
    assert h.items["1"] == ["11", "12", "10", "13", "14"] and h.items["2"] == ["10"]
    liked = read_interactions(ratings, min_rating=4.0)
    assert liked.items["1"] == ["12", "10", "14"]
    train, test = time_split(h, 0.2)
    assert train.items["1"] == ["11", "12", "10", "13"] and test.items["1"] == ["14"]
    assert train.items["2"] == ["10"] and "2" not in test.items
    (tmp_path / "bad.csv").write_text("userId,movieId,timestamp\n1,10,5\n1,11,soon\n")
    with pytest.raises(FormatError, match=r"bad\.csv, line 3: column 'time': expected a number"):
        read_interactions(tmp_path / "bad.csv")
    (tmp_path / "short.csv").write_text("userId,timestamp\n1,5\n")
    with pytest.raises(FormatError, match=r"short\.csv, line 1: expected a column 'movieId'"):
        read_interactions(tmp_path / "short.csv")
    movies = tmp_path / "movies.csv"
    movies.write_text(
        'movieId,title,genres\n10,Alien (1979),Horror|Sci-Fi\n11,"Up, Up",(no genres listed)\n'
    )
    (tmp_path / "tags.csv").write_text(
        "userId,movieId,tag,timestamp\n1,10,space,1\n2,10,space,2\n2,10,creepy,3\n"
    )
    texts = read_item_texts(movies, tags=tmp_path / "tags.csv")
    assert texts == {"10": "Alien (1979). Horror Sci-Fi. space, creepy", "11": "Up, Up"}
    with pytest.raises(ParameterError, match="weights"):
        Recommender(weights=(0.5, 0.6, 0.1)).fit(h)


def test_the_recommend_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from clirun import run

    hist, texts = _world(users=30, items=8, length=8)
    lines = ["userId,movieId,timestamp"]
    for u, items in hist.items.items():
        lines += [f"{u},{i},{t}" for t, i in enumerate(items)]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "items.csv").write_text(
        "movieId,title,genres\n" + "".join(f'{k},"{v}",x\n' for k, v in texts.items())
    )
    out = tmp_path / "rec"
    code, stdout, err = run(capsys, "recommend", "train", str(tmp_path / "r.csv"), "-o", str(out),
                            "--mode", "item2vec")  # fmt: skip
    assert code == 0, err
    assert "30 users, 240 interactions" in stdout and (out / "recommender.json").exists()
    code, stdout, err = run(
        capsys, "recommend", "user", str(out), "--history", "a1,a2,a3", "-k", "3"
    )
    assert code == 0, err
    rows = stdout.strip().split("\n")
    assert (
        len(rows) == 3 and all(r.split()[1].startswith("a") for r in rows) and "because" in rows[0]
    )
    code, stdout, _ = run(capsys, "recommend", "similar", str(out), "b1", "-k", "2")
    assert code == 0 and all(r.split()[1].startswith("b") for r in stdout.strip().split("\n"))
    code, _, err = run(capsys, "recommend", "user", str(out))
    assert code == 1 and "give --history" in err
    (tmp_path / "bad.csv").write_text("userId,movieId\n1,2\n")
    code, _, err = run(
        capsys, "recommend", "train", str(tmp_path / "bad.csv"), "-o", str(tmp_path / "x")
    )
    assert code == 1 and "bad.csv" in err and not (tmp_path / "x").exists()


def test_the_recommend_route(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from embedlab.server import ServerConfig
    from embedlab.server.app import create_app
    from serverrun import Running

    hist, _ = _world(users=30, items=8, length=8)
    Recommender(mode="item2vec", dim=16, epochs=5, window=5).fit(hist).save(tmp_path / "rec")
    (tmp_path / "server.json").write_text('{"recommenders": {"films": {"path": "rec"}}}')
    cfg = ServerConfig.load(tmp_path / "server.json")
    cfg.models = {}
    with Running(create_app(cfg)) as url:
        body = {"recommender": "films", "history": ["a1", "a2"], "k": 3, "explain": True}
        r = httpx.post(f"{url}/v1/recommend", json=body, timeout=30)
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert len(data) == 3 and all(d["id"].startswith("a") for d in data)
        assert all(set(d["because"]) <= {"a1", "a2"} and d["because"] for d in data)
        r = httpx.post(f"{url}/v1/recommend", json={**body, "recommender": "nope"}, timeout=30)
        assert r.status_code == 404 and "not served" in r.json()["error"]["message"]
        r = httpx.post(f"{url}/v1/recommend", json={**body, "k": 0}, timeout=30)
        assert r.status_code == 422
        r = httpx.post(f"{url}/v1/recommend", json={**body, "cold_slots": -1}, timeout=30)
        assert r.status_code == 422
        r = httpx.post(f"{url}/v1/recommend", json={**body, "cold_slots": 2}, timeout=30)
        assert [d["id"] for d in r.json()["data"]] == [d["id"] for d in data]  # none is cold


def test_cold_slots_give_new_items_a_place_in_each_list(tmp_path: Path) -> None:
    hist, texts = _world()
    texts["b-cold"] = "film about cooking kitchen recipe bread"
    model = Recommender(dim=16, epochs=5, window=5, weights=(0.3, 0.2, 0.5)).fit(
        hist, item_texts=texts, encoder=WordHash()
    )
    taste = ["a1", "a2", "a3"]
    plain = [i for i, _ in model.recommend(taste, 5)]
    assert not {"a-cold", "b-cold"} & set(plain)  # no popularity: a new item ranks low
    model.cold_slots = 1
    slotted = [i for i, _ in model.recommend(taste, 5)]
    assert slotted[:4] == plain[:4] and slotted[4] == "a-cold"  # the cold item of this taste
    assert [i for i, _ in model.recommend(["b1", "b2"], 5)][4] == "b-cold"
    model.cold_slots = 3  # only two cold items exist: the rest stay warm
    assert [i for i, _ in model.recommend(taste, 5)][:3] == plain[:3]
    assert [i for i, _ in model.recommend(taste, 5, cold_slots=0)] == plain
    model.save(tmp_path / "rec")
    assert Recommender.load(tmp_path / "rec").cold_slots == 3
