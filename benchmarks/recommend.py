"""Recommendations on MovieLens: popularity, item2vec, content, the hybrid, and implicit's ALS.

Run: .bench-venv/bin/python benchmarks/recommend.py   (needs `implicit` in the bench venv)

ml-latest-small (100,836 ratings, 610 users, 9,742 movies), every rating an interaction. Time
split: the last 20% of each user's ratings are held out (the test); the training histories are
split the same way once more for validation, where the hybrid's blend weights and ALS's factors /
regularisation are chosen (the test is used once, at the end). Content: title + genres + up to 20
tags per movie through all-MiniLM-L6-v2. Metrics (embedlab.apps.recommend): recall@10/20 and
NDCG@10 over the held-out items of each user (seen items excluded from the ranking), coverage of
the catalogue by anyone's top 10; and recall on the cold-start items (held out, never in training),
also for the hybrid with two places of each list kept for them (``cold_slots=2``).
"""

from __future__ import annotations

import time

import numpy as np

from _common import SHARED, machine, table
from embedlab.apps.interactions import Histories, read_interactions, read_item_texts, time_split
from embedlab.apps.recommend import Recommender, _metrics, evaluate_recommender

DATA = SHARED / "recsys" / "ml-latest-small"


class ALS:
    """implicit's AlternatingLeastSquares behind the same scores() the metrics take."""

    def __init__(self, like: Recommender, train: Histories, factors: int, reg: float) -> None:
        import scipy.sparse as sp
        from implicit.als import AlternatingLeastSquares

        self.items_, self.index_ = like.items_, like.index_
        self.users = {u: n for n, u in enumerate(train.items)}
        rows, cols = [], []
        for u, items in train.items.items():
            for i in items:
                rows.append(self.users[u])
                cols.append(self.index_[i])
        matrix = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)),
            shape=(len(self.users), len(self.items_)),
        )
        self.model = AlternatingLeastSquares(
            factors=factors, regularization=reg, iterations=20, random_state=0
        )
        self.model.fit(matrix, show_progress=False)
        self.user_rows = {u: n for n, u in enumerate(train.items)}
        self.histories = {tuple(v): u for u, v in train.items.items()}

    def scores(self, histories):  # type: ignore[no-untyped-def]
        users = [self.user_rows[self.histories[tuple(h)]] for h in histories]
        u = np.asarray(self.model.user_factors)[users]
        return u @ np.asarray(self.model.item_factors).T


def main() -> None:
    print(
        f"# recommendations on MovieLens ({machine()}, {time.strftime('%Y-%m-%d')})\n", flush=True
    )
    histories = read_interactions(DATA / "ratings.csv")
    train, test = time_split(histories, 0.2)
    inner, held = time_split(train, 0.2)
    texts = read_item_texts(DATA / "movies.csv", tags=DATA / "tags.csv")
    from embedlab.encoders import load_encoder

    start = time.perf_counter()
    encoder = load_encoder(None)
    keys = list(texts)
    content = dict(zip(keys, encoder.encode([texts[k] for k in keys], normalize=True), strict=True))
    print(
        f"content vectors of {len(keys):,} movies: {time.perf_counter() - start:.0f} s", flush=True
    )
    cold = {i for items in test.items.values() for i in items} - train.catalogue()
    rows, fitted = [], {}
    for mode in ("popularity", "item2vec", "content", "hybrid"):
        start = time.perf_counter()
        model = Recommender(mode=mode).fit(train, content_vectors=content)
        took = time.perf_counter() - start
        fitted[mode] = model
        r = evaluate_recommender(model, train, test)
        rc = evaluate_recommender(model, train, test, items=cold)
        label = f"{mode} (weights {model.weights_})" if mode == "hybrid" else mode
        rows.append([label, f"{r['recall@10']:.4f}", f"{r['recall@20']:.4f}", f"{r['ndcg@10']:.4f}",
                     f"{r['coverage']:.3f}", f"{rc['recall@20']:.4f}", f"{took:.0f} s"])  # fmt: skip
        print(rows[-1], flush=True)
    like = fitted["hybrid"]
    like.cold_slots = 2  # the same model, two places of each list kept for unseen movies
    r = evaluate_recommender(like, train, test)
    rc = evaluate_recommender(like, train, test, items=cold)
    rows.append(["hybrid, 2 places for unseen movies (cold_slots=2)", f"{r['recall@10']:.4f}",
                 f"{r['recall@20']:.4f}", f"{r['ndcg@10']:.4f}", f"{r['coverage']:.3f}",
                 f"{rc['recall@20']:.4f}", "-"])  # fmt: skip
    print(rows[-1], flush=True)
    like.cold_slots = 0
    best = None
    for factors in (32, 64, 128):
        for reg in (0.01, 0.1, 1.0):
            als = ALS(like, inner, factors, reg)
            users = [u for u in held.items if inner.items.get(u)]
            score = _metrics(like, als.scores([inner.items[u] for u in users]), users, inner, held,
                             (10,))["ndcg@10"]  # fmt: skip
            if best is None or score > best[0]:
                best = (score, factors, reg)
    assert best is not None
    start = time.perf_counter()
    als = ALS(like, train, best[1], best[2])
    took = time.perf_counter() - start
    users = [u for u in test.items if train.items.get(u)]
    r = _metrics(like, als.scores([train.items[u] for u in users]), users, train, test, (10, 20))
    rows.append([f"implicit ALS ({best[1]} factors, reg {best[2]}; chosen on validation)",
                 f"{r['recall@10']:.4f}", f"{r['recall@20']:.4f}", f"{r['ndcg@10']:.4f}",
                 f"{r['coverage']:.3f}", "0 (no factors)", f"{took:.0f} s"])  # fmt: skip
    print()
    print(f"{len(train)} users, {train.interactions():,} training and {test.interactions():,} "
          f"held-out interactions; {len(cold):,} held-out movies never seen in training\n")  # fmt: skip
    header = ["model", "recall@10", "recall@20", "NDCG@10", "coverage", "cold recall@20", "fit"]
    print(table(header, rows))
    print(f"\nchance recall@20 on cold items: about {20 / len(like.items_):.4f}")


if __name__ == "__main__":
    main()
