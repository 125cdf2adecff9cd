"""Knowledge-graph embeddings on WN18RR: embedlab against PyKEEN, side by side in one run.

Run: .bench-venv/bin/python benchmarks/kg_training.py [MODEL ...]   (default: transe rotate)
     EPOCHS=20 overrides the epochs of every model (quick looks: EPOCHS=2).

Each tool trains in a process of its own with 2 threads (torch.set_num_threads(2) for PyKEEN;
numba's 2 threads for embedlab) on ../shared/data/kg/WN18RR/train.tsv with the same settings:
dimension, negatives per positive (the basic sampler: one side of each positive corrupted, a random
other entity), loss, margin, adversarial temperature, Adam with the same learning rate, batch size
and epochs. Test triples naming entities absent from the training split are left out on both sides
(PyKEEN's mapping drops them; embedlab's ``unseen="drop"``), and both rank the rest filtered by
train + dev + test with realistic ranks, each with its own evaluator
(``benchmarks/kg_crosscheck.py`` shows the two evaluators agree exactly on the same scores).
Reported: seconds per training epoch (wall, training only), its ratio, and test MRR / Hits@1 /
Hits@10 (both sides). embedlab's kernels are loaded from numba's cache by a one-epoch warm-up on
600 triples before the clock starts (a first run after an install compiles them, ~20 s, once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from _common import SHARED, machine, table

DATA = SHARED / "kg" / "WN18RR"

# shared settings per model: what PyKEEN and embedlab are both given
CONFIGS = {
    "transe": {
        "dim": 100, "negatives": 16, "loss": "margin", "margin": 1.0, "p": 1, "lr": 1e-3,
        "batch_size": 512, "epochs": 40,
    },
    "rotate": {
        "dim": 100, "negatives": 64, "loss": "nssa", "margin": 6.0, "temperature": 0.5,
        "lr": 2e-3, "batch_size": 512, "epochs": 20,
    },
}  # fmt: skip


def run_embedlab(name: str, cfg: dict) -> dict:
    import warnings

    from embedlab.kg import MODELS, Triples, link_prediction, read_splits

    warnings.simplefilter("ignore")
    train, dev, test = read_splits(DATA, unseen="drop")
    kw = {k: v for k, v in cfg.items() if k in MODELS[name]._SPEC}
    model = MODELS[name](**kw, workers=2, seed=1, show_progress=False)
    warm = MODELS[name](**{**kw, "epochs": 1}, workers=2, show_progress=False)
    warm.fit(Triples(train.ids[:600], train.entities, train.relations))  # numba's cache loaded
    start = time.perf_counter()
    model.fit(train)
    took = time.perf_counter() - start
    start = time.perf_counter()
    result = link_prediction(model, test, known=[train, dev])
    both = result.metrics["both"]
    return {
        "epoch_s": took / cfg["epochs"], "train_s": took, "eval_s": time.perf_counter() - start,
        "mrr": both["mrr"], "hits@1": both["hits@1"], "hits@10": both["hits@10"],
        "test": int(both["count"] // 2), "loss": model.loss_history_[-1],
    }  # fmt: skip


def run_pykeen(name: str, cfg: dict) -> dict:
    import torch
    from pykeen.evaluation import RankBasedEvaluator
    from pykeen.losses import MarginRankingLoss, NSSALoss
    from pykeen.models import RotatE, TransE
    from pykeen.training import SLCWATrainingLoop
    from pykeen.triples import TriplesFactory

    torch.set_num_threads(2)
    torch.manual_seed(1)
    train = TriplesFactory.from_path(DATA / "train.tsv")
    maps = {"entity_to_id": train.entity_to_id, "relation_to_id": train.relation_to_id}
    dev = TriplesFactory.from_path(DATA / "dev.tsv", **maps)
    test = TriplesFactory.from_path(DATA / "test.tsv", **maps)
    if name == "rotate":
        loss = NSSALoss(margin=cfg["margin"], adversarial_temperature=cfg["temperature"])
        model = RotatE(triples_factory=train, embedding_dim=cfg["dim"], loss=loss, random_seed=1)
    else:
        loss = MarginRankingLoss(margin=cfg["margin"])
        model = TransE(
            triples_factory=train, embedding_dim=cfg["dim"], loss=loss, random_seed=1,
            scoring_fct_norm=cfg["p"],
        )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    loop = SLCWATrainingLoop(
        model=model, triples_factory=train, optimizer=optimizer, negative_sampler="basic",
        negative_sampler_kwargs={"num_negs_per_pos": cfg["negatives"]},
    )  # fmt: skip
    start = time.perf_counter()
    losses = loop.train(
        triples_factory=train, num_epochs=cfg["epochs"], batch_size=cfg["batch_size"],
        use_tqdm=False,
    )  # fmt: skip
    took = time.perf_counter() - start
    start = time.perf_counter()
    result = RankBasedEvaluator().evaluate(
        model, test.mapped_triples, batch_size=256, use_tqdm=False,
        additional_filter_triples=[train.mapped_triples, dev.mapped_triples],
    )  # fmt: skip
    get = result.get_metric
    return {
        "epoch_s": took / cfg["epochs"], "train_s": took, "eval_s": time.perf_counter() - start,
        "mrr": get("both.realistic.inverse_harmonic_mean_rank"),
        "hits@1": get("both.realistic.hits_at_1"), "hits@10": get("both.realistic.hits_at_10"),
        "test": int(test.num_triples), "loss": losses[-1],
    }  # fmt: skip


def child(tool: str, name: str) -> None:
    cfg = CONFIGS[name]
    if os.environ.get("EPOCHS"):
        cfg = {**cfg, "epochs": int(os.environ["EPOCHS"])}
    out = run_pykeen(name, cfg) if tool == "pykeen" else run_embedlab(name, cfg)
    print(json.dumps(out))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
        return
    names = sys.argv[1:] or ["transe", "rotate"]
    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    rows = []
    for name in names:
        got = {}
        for tool in ("embedlab", "pykeen"):
            cmd = [sys.executable, __file__, "--child", tool, name]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{tool} {name} failed")
            got[tool] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"  {name} {tool}: {got[tool]}", flush=True)
        ours, peer = got["embedlab"], got["pykeen"]
        for tool, r in got.items():
            rows.append(
                [
                    name, tool, f"{r['epoch_s']:.2f} s",
                    f"**{peer['epoch_s'] / ours['epoch_s']:.2f}x**" if tool == "embedlab" else "1.00x",
                    f"{r['mrr']:.4f}", f"{r['hits@1']:.4f}", f"{r['hits@10']:.4f}",
                    f"{100 * (r['mrr'] - peer['mrr']):+.2f}" if tool == "embedlab" else "",
                    f"{r['test']:,}", f"{r['eval_s']:.1f} s",
                ]
            )  # fmt: skip
    import pykeen

    settings = "; ".join(f"{n}: {json.dumps(CONFIGS[n])}" for n in names)
    print(
        f"\n# kg_training ({machine()}, PyKEEN {pykeen.get_version()}, "
        f"{time.strftime('%Y-%m-%d')})\n\n{settings}\n"
    )
    header = [
        "model", "tool", "s / epoch", "speed vs PyKEEN", "test MRR", "Hits@1", "Hits@10",
        "MRR diff (points)", "test triples", "eval",
    ]  # fmt: skip
    print(table(header, rows))


if __name__ == "__main__":
    main()
