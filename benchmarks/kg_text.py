"""Text-aware entities on WN18RR: structure-only RotatE against text-aware RotatE, transductive and
inductive.

Run: .venv/bin/python benchmarks/kg_text.py [dev|test]   (default test; tune on dev)
     EPOCHS=2 for a quick look.

The entity descriptions (``entity2text.txt``: lemma and WordNet gloss) are encoded once with the
default encoder (the offline all-MiniLM-L6-v2) and cached in benchmarks/_work. Both models have
kg_training.py's RotatE settings (dim 100, 64 negatives, NSSA margin 6 / temperature 0.5, Adam
lr 2e-3, batch 512, 20 epochs, 2 threads); the text-aware one adds the description projection
(``text_dim`` 128, ``text_dropout`` 0.25, the defaults).

1. Transductive: train.tsv, ranked on the chosen split filtered by all three (PyKEEN's realistic
   ranks; unseen entities dropped, as kg_training.py).
2. Inductive: 10% of all entities (a seeded draw) are taken out of training: every triple that
   names one leaves train.tsv; the triples of the split asked (dev or test) that name one are the
   inductive set, ranked against all entities (trained ones and the new ones, which the
   text-aware model places from their descriptions; the structure-only one has no vector for
   them, so it cannot rank them at all). A random ranker's expected MRR is printed beside.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np

from _common import SHARED, WORK, machine, table

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


def inductive_split(split: str, seed: int = 0):  # type: ignore[no-untyped-def]
    """(train without the removed entities, the asked split's triples that name one)."""
    from embedlab.kg import Triples

    named = {s: Triples.read(DATA / f"{s}.tsv").named() for s in ("train", "dev", "test")}
    entities = sorted({e for rows in named.values() for h, _, t in rows for e in (h, t)})
    rng = np.random.default_rng(seed)
    out = set(rng.choice(entities, size=len(entities) // 10, replace=False).tolist())
    keep = [row for row in named["train"] if row[0] not in out and row[2] not in out]
    asked = [row for row in named[split] if row[0] in out or row[2] in out]
    train = Triples.from_names(keep)
    relations = {r for _, r, _ in asked} - set(train.relations)
    asked = [row for row in asked if row[1] not in relations]
    others = [r for s in ("train", "dev", "test") for r in named[s]]
    known = Triples.from_names(others, like=train, unseen="add")  # every entity, trained first
    test = Triples.from_names(asked, like=known)
    return train, test, known, len(out)


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
    from embedlab.kg import link_prediction, read_splits

    warnings.simplefilter("ignore")
    split = (sys.argv[1:] or ["test"])[0]
    epochs = int(os.environ.get("EPOCHS", CONFIG["epochs"]))
    text = descriptions()
    rows = []
    train, dev, test = read_splits(DATA, unseen="drop")
    asked = test if split == "test" else dev
    known = [train, dev if split == "test" else test]
    for name, given in (("structure only", None), ("text-aware", text)):
        model, per_epoch = fit(train, given, epochs)
        m = link_prediction(model, asked, known=known).metrics["both"]
        rows.append(["transductive", name, f"{per_epoch:.2f} s", f"{m['mrr']:.4f}",
                     f"{m['hits@1']:.4f}", f"{m['hits@10']:.4f}", f"{int(m['count']) // 2:,}"])  # fmt: skip
        print(rows[-1], flush=True)
    train, ind, everything, removed = inductive_split(split)
    chance = random_mrr(ind, everything)
    new = ind.entities[train.num_entities :]
    for name, given in (("structure only", None), ("text-aware", text)):
        model, per_epoch = fit(train, given, epochs)
        if given is None:
            cells = ["cannot rank: no vector for the new entities", "", ""]
        else:
            model.add_entities(new, text)
            m = link_prediction(model, ind, known=[everything]).metrics["both"]
            cells = [f"{m['mrr']:.4f}", f"{m['hits@1']:.4f}", f"{m['hits@10']:.4f}"]
        rows.append(["inductive", name, f"{per_epoch:.2f} s", *cells, f"{len(ind):,}"])
        print(rows[-1], flush=True)
    rows.append(["inductive", "random ranker (expected)", "", f"{chance:.5f}", "", "", ""])
    print(
        f"\n# kg_text ({machine()}, {time.strftime('%Y-%m-%d')}, split {split}, {epochs} epochs)\n"
        f"\nRotatE {CONFIG}; text-aware: MiniLM descriptions, text_dim 128, text_dropout 0.25; "
        f"inductive: {removed:,} entities (10%) out of training, {train.num_entities:,} left\n"
    )
    header = ["setting", "model", "s / epoch", "MRR", "Hits@1", "Hits@10", "triples"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
