"""Text-aware entities on WN18RR: structure-only RotatE against text-aware RotatE, transductive and
inductive.

Run: .venv/bin/python benchmarks/kg_text.py        (EPOCHS=2 for a quick look)

The entity descriptions (``entity2text.txt``: lemma and WordNet gloss) are encoded once with the
default encoder (the offline all-MiniLM-L6-v2) and cached in benchmarks/_work. Both models have
kg_training.py's RotatE settings (dim 100, 64 negatives, NSSA margin 6 / temperature 0.5, Adam
lr 2e-3, batch 512, 20 epochs, 2 threads, seed 1); the text-aware one adds the description expert
(``text_dim`` 128) and its ``text_weight``, tuned on dev (``tune_text_weight``), never on test.

1. Transductive: train.tsv; test ranked filtered by all three splits (PyKEEN's realistic ranks;
   unseen entities dropped, as kg_training.py).
2. Inductive: 10% of all entities (a seeded draw) are taken out of training: every triple that
   names one leaves train.tsv; the dev and test triples that name one are the inductive dev and
   test sets (the weight is tuned on the first, the second is reported), ranked against all
   entities: trained ones and the new ones, which the text-aware model places from their
   descriptions. The structure-only model has no vector for them, so it cannot rank them at all.
   A random ranker's expected MRR is printed beside.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from _common import SHARED, WORK, machine, table
from embedlab.errors import ParameterError

DATA = SHARED / "kg" / "WN18RR"
CONFIG = {
    "dim": 100, "negatives": 64, "loss": "nssa", "margin": 6.0, "temperature": 0.5, "lr": 2e-3,
    "batch_size": 512, "epochs": 20,
}  # fmt: skip


def descriptions():  # type: ignore[no-untyped-def]
    from embedlab.encoders import load_encoder
    from embedlab.io import load_vectors, save_vectors
    from embedlab.kg import read_entity_text
    from embedlab.kg.text import describe

    cache = WORK / "wn18rr_text_minilm"
    if cache.exists():
        return load_vectors(cache)
    texts = read_entity_text(DATA / "entity2text.txt")
    start = time.perf_counter()
    vectors = describe(sorted(texts), texts, load_encoder(None), show_progress=True)
    print(f"encoded {len(texts):,} descriptions in {time.perf_counter() - start:.0f} s")
    save_vectors(vectors, cache, format="native")
    return vectors


def inductive_split(seed: int = 0):  # type: ignore[no-untyped-def]
    """(train without the removed entities, the dev and test triples that name one, every
    triple of the dataset on one table of all entities, how many were removed)."""
    from embedlab.kg import Triples

    named = {s: Triples.read(DATA / f"{s}.tsv").named() for s in ("train", "dev", "test")}
    entities = sorted({e for rows in named.values() for h, _, t in rows for e in (h, t)})
    rng = np.random.default_rng(seed)
    out = set(rng.choice(entities, size=len(entities) // 10, replace=False).tolist())
    keep = [row for row in named["train"] if row[0] not in out and row[2] not in out]
    train = Triples.from_names(keep)
    others = [r for s in ("train", "dev", "test") for r in named[s]]
    everything = Triples.from_names(others, like=train, unseen="add")  # trained entities first

    def asked(split: str) -> Triples:
        rows = [r for r in named[split] if (r[0] in out or r[2] in out) and r[1] in train.relations]
        return Triples.from_names(rows, like=everything)

    return train, asked("dev"), asked("test"), everything, len(out)


def fit(train, text, epochs):  # type: ignore[no-untyped-def]
    from embedlab.kg import RotatE

    model = RotatE(**{**CONFIG, "epochs": epochs}, workers=2, seed=1, show_progress=False)
    start = time.perf_counter()
    model.fit(train, text=text)
    return model, (time.perf_counter() - start) / epochs


def random_mrr(test, known) -> float:  # type: ignore[no-untyped-def]
    """The expected MRR of a ranker drawing a uniform order of the filtered candidates."""
    from embedlab.kg.evaluate import filters

    out = []
    n = test.num_entities
    for tail_side in (False, True):
        ptr, _ = filters(test.ids, tail_side, np.concatenate([known.ids, test.ids]))
        left = n - (np.diff(ptr) - 1)  # candidates after filtering the other true answers
        out.append(np.array([np.log(m) + 0.5772 + 1 / (2 * m) for m in left]) / left)
    return float(np.concatenate(out).mean())


def main() -> None:
    from embedlab.kg import link_prediction, read_splits, tune_text_weight

    warnings.simplefilter("ignore")
    epochs = int(os.environ.get("EPOCHS", CONFIG["epochs"]))
    text = descriptions()
    rows = []

    def row(setting: str, name: str, per_epoch: float, m: dict | None, n: int, w: str) -> None:
        cells = (
            [f"{m['mrr']:.4f}", f"{m['hits@1']:.4f}", f"{m['hits@10']:.4f}"]
            if m is not None
            else ["cannot rank: no vector for the new entities", "", ""]
        )
        rows.append([setting, name, f"{per_epoch:.2f} s", w, *cells, f"{n:,}"])
        print(rows[-1], flush=True)

    train, dev, test = read_splits(DATA, unseen="drop")
    blind, per_epoch = fit(train, None, epochs)
    m = link_prediction(blind, test, known=[train, dev]).metrics["both"]
    row("transductive", "structure only", per_epoch, m, len(test), "")
    aware, per_epoch = fit(train, text, epochs)
    tried = tune_text_weight(aware, dev, known=[train, test])
    print("dev MRR by text weight:", {w: round(v, 4) for w, v in tried.items()}, flush=True)
    m = link_prediction(aware, test, known=[train, dev]).metrics["both"]
    row("transductive", "text-aware", per_epoch, m, len(test), f"{aware.text_weight:g}")

    train, ind_dev, ind_test, everything, removed = inductive_split()
    chance = random_mrr(ind_test, everything)
    blind, per_epoch = fit(train, None, epochs)
    try:
        link_prediction(blind, ind_test, known=[everything])
        raise SystemExit("a structure-only model ranked entities it never saw")
    except ParameterError as e:
        print(f"structure only: {e}", flush=True)
    row("inductive", "structure only", per_epoch, None, len(ind_test), "")
    aware, per_epoch = fit(train, text, epochs)
    aware.add_entities(everything.entities[train.num_entities :], text)
    tried = tune_text_weight(aware, ind_dev, known=[everything])
    print("inductive dev MRR by text weight:", {w: round(v, 4) for w, v in tried.items()})
    m = link_prediction(aware, ind_test, known=[everything]).metrics["both"]
    row("inductive", "text-aware", per_epoch, m, len(ind_test), f"{aware.text_weight:g}")
    rows.append(["inductive", "random ranker (expected)", "", "", f"{chance:.5f}", "", "", ""])
    print(
        f"\n# kg_text ({machine()}, {time.strftime('%Y-%m-%d')}, {epochs} epochs)\n"
        f"\nRotatE {CONFIG}; text-aware: MiniLM descriptions, text_dim 128, text weight tuned on "
        f"dev; inductive: {removed:,} entities (10%) out of training, {train.num_entities:,} "
        "entities left in it\n"
    )
    header = ["setting", "model", "s / epoch", "text weight", "test MRR", "Hits@1", "Hits@10",
              "test triples"]  # fmt: skip
    print(table(header, rows))


if __name__ == "__main__":
    main()
