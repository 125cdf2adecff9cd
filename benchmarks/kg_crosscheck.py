"""embedlab's link-prediction evaluation against PyKEEN's, given the same scores.

Run: .bench-venv/bin/python benchmarks/kg_crosscheck.py

Two models on WN18RR (test triples with entities unseen in training left out, as both tools do):
a RotatE trained for 3 epochs (continuous scores) and a DistMult whose tables are set to small
integers (scores with many exact ties, where optimistic, realistic and pessimistic ranks differ).
embedlab ranks with :func:`embedlab.kg.link_prediction`; PyKEEN gets the very same score matrices
through its own batch path (``pykeen.evaluation.evaluator._evaluate_batch``: its sparse positive
filter, NaN filtering, ``RankBasedEvaluator``), from a stand-in model whose ``predict`` returns
embedlab's scores. Every metric, side and rank type must agree to float rounding.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from _common import SHARED, machine, table

DATA = SHARED / "kg" / "WN18RR"


class Scores:
    """What PyKEEN's evaluation asks of a model: ``predict`` for a batch and a target side."""

    def __init__(self, model) -> None:
        self.model = model

    def predict(self, hrt_batch, target, slice_size=None, mode=None):
        import torch

        ids = hrt_batch.numpy().astype(np.int64)
        queries = self.model.query_vectors(ids, target == "tail")
        return torch.from_numpy(self.model.score_candidates(queries).astype(np.float32))


def pykeen_metrics(model, test, known) -> dict[str, float]:
    import torch
    from pykeen.evaluation import RankBasedEvaluator
    from pykeen.evaluation.evaluator import _evaluate_batch

    evaluator = RankBasedEvaluator(filtered=True)
    everything = torch.from_numpy(np.concatenate([*(k.ids for k in known), test.ids]))
    batch_all = torch.from_numpy(test.ids)
    stand_in = Scores(model)
    for target in ("head", "tail"):
        relation_filter = None
        for start in range(0, len(batch_all), 256):
            batch = batch_all[start : start + 256]
            _evaluate_batch(
                batch, stand_in, target, evaluator, None, everything, relation_filter, None,
                mode=None,
            )  # fmt: skip
    result = evaluator.finalize()
    out = {}
    for side in ("head", "tail", "both"):
        for rank in ("optimistic", "realistic", "pessimistic"):
            key = f"{side}.{rank}"
            out[f"{key}.mrr"] = result.get_metric(f"{key}.inverse_harmonic_mean_rank")
            out[f"{key}.mean_rank"] = result.get_metric(f"{key}.arithmetic_mean_rank")
            for k in (1, 3, 10):
                out[f"{key}.hits@{k}"] = result.get_metric(f"{key}.hits_at_{k}")
    return out


def embedlab_metrics(model, test, known) -> dict[str, float]:
    from embedlab.kg import link_prediction, rank_metrics

    result = link_prediction(model, test, known=known)
    out = {}
    for side in ("head", "tail", "both"):
        o, p = result.optimistic[side], result.pessimistic[side]
        for rank, (lo, hi) in {
            "optimistic": (o, o),
            "realistic": (o, p),
            "pessimistic": (p, p),
        }.items():
            m = rank_metrics(lo, hi)
            out[f"{side}.{rank}.mrr"] = m["mrr"]
            out[f"{side}.{rank}.mean_rank"] = m["mean_rank"]
            for k in (1, 3, 10):
                out[f"{side}.{rank}.hits@{k}"] = m[f"hits@{k}"]
    return out


def main() -> None:
    from embedlab.kg import DistMult, RotatE, read_splits

    warnings.simplefilter("ignore")
    train, dev, test = read_splits(DATA, unseen="drop")
    rotate = RotatE(dim=32, negatives=16, epochs=3, lr=5e-3, show_progress=False).fit(train)
    tied = DistMult(dim=8, epochs=1, show_progress=False).fit(train)
    rng = np.random.default_rng(0)
    tied._E = tied._S = rng.integers(-1, 2, size=tied._E.shape).astype(np.float32)
    tied._R = rng.integers(-1, 2, size=tied._R.shape).astype(np.float32)
    rows, worst = [], 0.0
    for name, model in (("RotatE (3 epochs)", rotate), ("DistMult, integer tables (ties)", tied)):
        start = time.perf_counter()
        ours = embedlab_metrics(model, test, [train, dev])
        took_ours = time.perf_counter() - start
        start = time.perf_counter()
        theirs = pykeen_metrics(model, test, [train, dev])
        took_theirs = time.perf_counter() - start
        diff = max(abs(ours[k] - theirs[k]) / max(1.0, abs(theirs[k])) for k in theirs)
        worst = max(worst, diff)
        for key in ("both.realistic.mrr", "both.realistic.hits@10", "both.realistic.mean_rank",
                    "both.optimistic.mrr", "both.pessimistic.mrr"):  # fmt: skip
            rows.append([name, key, f"{ours[key]:.6f}", f"{theirs[key]:.6f}"])
        rows.append([name, f"largest difference over all {len(theirs)} metrics", f"{diff:.2e}", ""])
        rows.append(
            [name, "seconds to rank (embedlab / PyKEEN)", f"{took_ours:.1f}", f"{took_theirs:.1f}"]
        )
    import pykeen

    print(
        f"\n# kg_crosscheck ({machine()}, PyKEEN {pykeen.get_version()}, {time.strftime('%Y-%m-%d')})\n"
    )
    print(f"WN18RR test: {len(test):,} triples, both sides, filtered by train + dev + test\n")
    print(table(["scores from", "metric", "embedlab", "PyKEEN"], rows))
    verdict = "exact to float rounding" if worst < 1e-6 else "MISMATCH"
    print(f"\nlargest relative difference: {worst:.2e} ({verdict})")


if __name__ == "__main__":
    main()
