"""Recommendations from behaviour and content: item2vec, item texts through an encoder, and a blend.

``Recommender().fit(train, item_texts=texts, encoder=minilm)`` learns three views of the items:
*collaborative* vectors from item2vec (skip-gram over each user's time-ordered items, Barkan &
Koenigstein 2016, with embedlab's Word2Vec; a window of 50 neighbours), *content* vectors of each
item's text (title, genres, tags) from any sentence encoder, and *popularity* (log count). A user
is the mean of the unit vectors of their ``recent`` latest items in each view; an item's score in
a view is its cosine to the user (popularity: its log count), standardised over the catalogue
(z-score) so the views share one scale, and the hybrid score is ``w_cf * cf + w_content *
content + w_pop * pop``. The weights are learned: the training histories are split again by time,
item2vec is fitted on the earlier part and the weights (a 0.1 grid of the simplex) chosen by
NDCG@10 on the later part, then item2vec is refitted on everything. An item nobody has
interacted with (cold start) has no collaborative vector: its content score stands in.
``recommend(history)`` returns the best unseen items (optionally filtered), ``explain`` the
history items behind one ("because you watched X"), ``similar(item)`` the nearest items.
``evaluate_recommender`` scores recall@k, NDCG@10 and catalogue coverage on held-out future
items. This module does not read
files (:mod:`embedlab.apps.interactions` does) nor serve HTTP.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, NotFittedError, ParameterError, check_choice
from ..files import atomic_dir, read_json
from ..rows import normalized
from .interactions import Histories, time_split

logger = logging.getLogger(__name__)

__all__ = ["Recommender", "evaluate_recommender"]

MODES = ("hybrid", "item2vec", "content", "popularity")
Matrix = npt.NDArray[np.float32]


def _z(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Standardise each row over the catalogue (NaN entries ignored and kept)."""
    mean = np.nanmean(scores, axis=-1, keepdims=True)
    std = np.nanstd(scores, axis=-1, keepdims=True)
    return np.asarray((scores - mean) / np.where(std > 0, std, 1.0), dtype=np.float64)


class Recommender:
    """Item2vec + content + popularity, blended; sklearn shape (``fit`` returns self).
    ``cold_slots``: places in each list kept for items with no interactions (by content: they
    have no popularity to compete with), the last ones of the list; 0 ranks them like the rest."""

    def __init__(
        self,
        *,
        mode: str = "hybrid",
        dim: int = 64,
        window: int = 50,
        epochs: int = 10,
        negative: int = 5,
        sample: float = 0.0,
        recent: int = 30,
        weights: tuple[float, float, float] | None = None,
        validation: float = 0.2,
        seed: int = 1,
        workers: int | None = None,
        cold_slots: int = 0,
    ) -> None:
        self.cold_slots = cold_slots
        self.mode, self.dim, self.window, self.epochs = mode, dim, window, epochs
        self.negative, self.recent, self.weights = negative, recent, weights
        self.sample = sample
        self.validation, self.seed, self.workers = validation, seed, workers

    # -- fitting --------------------------------------------------------------------------------
    def fit(
        self,
        histories: Histories,
        *,
        item_texts: Mapping[str, str] | None = None,
        encoder: Any = None,
        content_vectors: Mapping[str, npt.ArrayLike] | None = None,
    ) -> Recommender:
        """Learn from training ``histories``; content comes from ``item_texts`` + ``encoder``
        (or precomputed ``content_vectors``) and covers items no one has seen yet."""
        check_choice("mode", "Recommender", self.mode, MODES)
        if self.weights is not None and (
            len(self.weights) != 3
            or min(self.weights) < 0
            or not math.isclose(sum(self.weights), 1)
        ):
            raise ParameterError(
                f"weights are 3 non-negative numbers summing to 1; got {self.weights}"
            )
        if self.recent < 1:
            raise ParameterError(f"recent must be >= 1; got {self.recent}")
        counts = Counter(i for items in histories.items.values() for i in items)
        content: dict[str, npt.ArrayLike] = dict(content_vectors or {})
        if item_texts is not None and not content:
            if encoder is None:
                raise ParameterError("item_texts need an encoder (any embedlab sentence encoder)")
            keys = list(item_texts)
            rows = np.asarray(encoder.encode([item_texts[k] for k in keys], normalize=True))
            content = dict(zip(keys, rows, strict=True))
        if self.mode in ("hybrid", "content") and not content:
            raise ParameterError(f"mode {self.mode!r} needs item_texts and an encoder")
        self.items_ = sorted(set(counts) | set(content))
        self.index_ = {k: n for n, k in enumerate(self.items_)}
        self.popularity_ = np.array([counts.get(k, 0) for k in self.items_], dtype=np.float64)
        self.content_ = None
        if content:
            dim = len(next(iter(content.values())))  # type: ignore[arg-type]
            mat = np.zeros((len(self.items_), dim), dtype=np.float32)
            for k, v in content.items():
                mat[self.index_[k]] = v
            self.content_ = normalized(mat)
        self.cf_ = None
        fixed = {
            "item2vec": (1.0, 0.0, 0.0),
            "content": (0.0, 1.0, 0.0),
            "popularity": (0.0, 0.0, 1.0),
        }
        if self.mode == "hybrid":
            self.weights_ = self.weights or self._learn_weights(histories)
        else:
            self.weights_ = fixed[self.mode]
        if self.weights_[0] > 0:
            self.cf_ = self._item2vec(histories)
        return self

    def _item2vec(self, histories: Histories) -> Matrix:
        from ..static import Word2Vec

        model = Word2Vec(
            dim=self.dim, window=self.window, sg=True, negative=self.negative, min_count=1,
            epochs=self.epochs, seed=self.seed, workers=self.workers, sample=self.sample,
            show_progress=False,
        )  # fmt: skip
        model.fit([items for items in histories.items.values() if len(items) > 1])
        vectors = model.vectors_
        mat = np.full((len(self.items_), self.dim), np.nan, dtype=np.float32)
        for k in vectors.index_to_key:
            if k in self.index_:
                mat[self.index_[k]] = vectors.get_vector(k)
        known = ~np.isnan(mat[:, 0])
        mat[known] = normalized(mat[known])
        return mat

    def _learn_weights(self, histories: Histories) -> tuple[float, float, float]:
        """The (item2vec, content, popularity) blend with the best NDCG@10 on the later part of
        the training histories, over a 0.1 grid of the simplex."""
        inner, held = time_split(histories, self.validation)
        self.cf_ = self._item2vec(inner)
        users = [u for u in held.items if inner.items.get(u)]
        views = self._views([inner.items[u] for u in users])
        best, best_w = -1.0, (1 / 3, 1 / 3, 1 / 3)
        for a in range(11):
            for b in range(11 - a):
                w = (a / 10, b / 10, (10 - a - b) / 10)
                rows = _blend(views, w)
                score = _metrics(self, rows, users, inner, held, (10,))["ndcg@10"]
                if score > best:
                    best, best_w = score, w
        logger.info("blend weights %s: NDCG@10 %.4f on the validation split", best_w, best)
        self.validation_ndcg_ = best
        return best_w

    # -- scoring --------------------------------------------------------------------------------
    def _fitted(self) -> None:
        if not hasattr(self, "items_"):
            raise NotFittedError("this Recommender is not fitted yet: call fit(histories) first")

    def _user(self, view: Matrix | None, histories: Sequence[Sequence[str]]) -> Any:
        if view is None:
            return None
        out = np.zeros((len(histories), view.shape[1]), dtype=np.float32)
        for u, history in enumerate(histories):
            rows = [self.index_[i] for i in history[-self.recent :] if i in self.index_]
            vecs = view[rows] if rows else np.zeros((0, view.shape[1]), np.float32)
            vecs = vecs[~np.isnan(vecs).any(axis=1)]
            if len(vecs):
                out[u] = vecs.mean(axis=0)
        return normalized(out)

    def _views(self, histories: Sequence[Sequence[str]]) -> list[Any]:
        """Standardised item2vec, content and popularity scores (None for a view not there)."""
        n = len(histories)
        pop = _z(np.log1p(self.popularity_)[None, :].repeat(n, axis=0))
        ct = None
        if self.content_ is not None:
            ct = _z(self._user(self.content_, histories) @ self.content_.T.astype(np.float64))
        cf = None
        if self.cf_ is not None:
            dense = np.nan_to_num(self.cf_, nan=0.0)
            raw = self._user(dense, histories) @ dense.T.astype(np.float64)
            raw[:, np.isnan(self.cf_[:, 0])] = np.nan
            cf = _z(raw)
        return [cf, ct, pop]

    def scores(self, histories: Sequence[Sequence[str]]) -> npt.NDArray[np.float64]:
        """``(users, catalogue)`` scores of every item for each history (higher is better)."""
        self._fitted()
        return _blend(self._views(histories), self.weights_)

    def recommend(
        self,
        history: Sequence[str],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        keep: Callable[[str], bool] | None = None,
        cold_slots: int | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best items for a history (oldest first), unseen unless asked, ``keep``-ing
        only the items it accepts (e.g. a genre); ``cold_slots`` (default: the model's) of them
        go to items no one has interacted with yet, ranked by content."""
        scores = self.scores([list(history)])[0]
        row = scores.copy()
        if exclude_seen:
            for i in history:
                if i in self.index_:
                    row[self.index_[i]] = -np.inf
        if keep is not None:
            row[[not keep(item) for item in self.items_]] = -np.inf
        slots = self.cold_slots if cold_slots is None else cold_slots
        return [(self.items_[int(j)], float(scores[j])) for j in self._top(row, k, slots)]

    def _top(
        self, row: npt.NDArray[np.float64], k: int, slots: int | None = None
    ) -> npt.NDArray[np.intp]:
        """The ``k`` best of ``row`` (-inf: left out), at least ``slots`` (``cold_slots``) of
        them cold items (none in training: ranked by their content) when there are such, last."""
        best = _best(row, k)
        cold = self.popularity_ == 0
        slots = self.cold_slots if slots is None else slots
        missing = min(slots, len(best)) - int(cold[best].sum())
        if missing <= 0:
            return best
        others = np.where(cold, row, -np.inf)
        others[best] = -np.inf
        extra = _best(others, missing)
        if not len(extra):
            return best
        keep = best[: len(best) - len(extra)]
        return np.concatenate([keep, extra])

    def explain(self, history: Sequence[str], item: str, top: int = 3) -> list[tuple[str, float]]:
        """The history items most like ``item`` (collaborative view, else content): "because you
        watched X"."""
        self._fitted()
        if item not in self.index_:
            raise ParameterError(f"unknown item {item!r}")
        view = (
            self.cf_
            if self.cf_ is not None and not np.isnan(self.cf_[self.index_[item], 0])
            else self.content_
        )
        if view is None:
            return []
        target = view[self.index_[item]]
        pairs = [
            (h, float(view[self.index_[h]] @ target))
            for h in dict.fromkeys(history[-self.recent :])
            if h in self.index_ and h != item and not np.isnan(view[self.index_[h], 0])
        ]
        return sorted(pairs, key=lambda p: -p[1])[:top]

    def similar(self, item: str, k: int = 10) -> list[tuple[str, float]]:
        """Items nearest to ``item`` (the blend, as for a user who saw only it)."""
        self._fitted()
        if item not in self.index_:
            raise ParameterError(f"unknown item {item!r}")
        return self.recommend([item], k)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str]) -> Path:
        """A folder: recommender.json, items.txt, and the views as .npy (no pickle)."""
        self._fitted()
        target = Path(folder)
        with atomic_dir(target) as tmp:
            config = {
                "format": "embedlab.recommender", "version": 1, "mode": self.mode,
                "dim": self.dim, "window": self.window, "epochs": self.epochs,
                "negative": self.negative, "recent": self.recent,
                "weights": list(self.weights_), "sample": self.sample, "seed": self.seed,
                "cold_slots": self.cold_slots,
            }  # fmt: skip
            (tmp / "recommender.json").write_text(json.dumps(config, indent=2) + "\n")
            (tmp / "items.txt").write_text("".join(f"{k}\n" for k in self.items_))
            np.save(tmp / "popularity.npy", self.popularity_, allow_pickle=False)
            for name in ("cf_", "content_"):
                view = getattr(self, name)
                if view is not None:
                    np.save(tmp / f"{name[:-1]}.npy", view, allow_pickle=False)
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Recommender:
        root = Path(folder)
        config = read_json(root / "recommender.json")
        if config.get("format") != "embedlab.recommender" or config.get("version") != 1:
            raise FormatError(root / "recommender.json", "expected an embedlab recommender (v1)")
        model = cls(**{k: config[k] for k in ("mode", "dim", "window", "epochs", "negative",
                                               "recent", "seed")})  # fmt: skip
        model.weights_ = tuple(float(w) for w in config["weights"])  # type: ignore[assignment]
        model.sample = float(config["sample"])
        model.cold_slots = int(config.get("cold_slots", 0))
        model.items_ = (root / "items.txt").read_text().splitlines()
        model.index_ = {k: n for n, k in enumerate(model.items_)}
        model.popularity_ = np.load(root / "popularity.npy", allow_pickle=False)
        for name in ("cf", "content"):
            path = root / f"{name}.npy"
            setattr(model, f"{name}_", np.load(path, allow_pickle=False) if path.exists() else None)
        return model


def evaluate_recommender(
    model: Recommender,
    train: Histories,
    test: Histories,
    *,
    ks: Sequence[int] = (10, 20),
    items: set[str] | None = None,
) -> dict[str, float]:
    """recall@k (held-out items found in the top k, over the user's held-out items), NDCG@10
    (binary relevance) and coverage (share of the catalogue in anyone's top 10), averaged over
    users with both a training history and held-out items. ``items`` restricts the held-out
    items counted (e.g. the cold-start ones)."""
    users = [u for u in test.items if train.items.get(u)]
    if items is not None:
        users = [u for u in users if set(test.items[u]) & items]
    if not users:
        raise ParameterError("no user has both a training history and held-out items")
    rows = model.scores([train.items[u] for u in users])
    return _metrics(model, rows, users, train, test, ks, items)


def _blend(views: list[Any], weights: Sequence[float]) -> npt.NDArray[np.float64]:
    """``w_cf * cf + w_content * content + w_pop * pop``; a cold item's content score stands in
    for its missing item2vec one (and without content, it ranks last)."""
    cf, ct, pop = views
    out = weights[2] * pop
    if ct is not None and weights[1] > 0:
        out = out + weights[1] * ct
    if cf is not None and weights[0] > 0:
        stand_in = ct if ct is not None else np.full_like(cf, -np.inf)
        out = out + weights[0] * np.where(np.isnan(cf), stand_in, cf)
    return np.asarray(out, dtype=np.float64)


def _best(row: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` largest finite values of ``row``, largest first."""
    k = min(k, int(np.isfinite(row).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    best = np.argpartition(-row, k - 1)[:k] if k < row.size else np.arange(row.size)
    return np.asarray(best[np.argsort(-row[best], kind="stable")], dtype=np.intp)


def _metrics(
    model: Recommender,
    scores: npt.NDArray[np.float64],
    users: Sequence[str],
    train: Histories,
    test: Histories,
    ks: Sequence[int],
    items: set[str] | None = None,
) -> dict[str, float]:
    recall = dict.fromkeys(ks, 0.0)
    ndcg, shown = 0.0, set()
    for row, u in zip(scores, users, strict=True):
        row = row.copy()
        for i in train.items[u]:
            if i in model.index_:
                row[model.index_[i]] = -np.inf
        # each list is ranked on its own: the cold slots are the last of each
        lists = {k: [model.items_[int(j)] for j in model._top(row, k)] for k in {*ks, 10}}
        gold = set(test.items[u]) if items is None else set(test.items[u]) & items
        for k in ks:
            recall[k] += len(gold & set(lists[k])) / len(gold)
        ranked = lists[10]
        gains = sum(1 / math.log2(r + 2) for r, i in enumerate(ranked[:10]) if i in gold)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(len(gold), 10)))
        ndcg += gains / ideal
        shown.update(ranked[:10])
    out = {f"recall@{k}": recall[k] / len(users) for k in ks}
    out["ndcg@10"] = ndcg / len(users)
    out["coverage"] = len(shown) / len(model.items_)
    out["users"] = float(len(users))
    return out
