"""Static training benchmark: embedlab Word2Vec against gensim 4.4, same corpus, same settings.

Run in the bench venv: .bench-venv/bin/python benchmarks/static_training.py [--seeds 3] [--modes sg,cbow]
Corpus: ../shared/data/corpora/en_gutenberg_10m.txt tokenized once as lowercase [a-z]+('[a-z]+)?
runs (one line per input line) into benchmarks/_work/en10m.tok, which both tools read (gensim through
corpus_file). dim 100, window 5, negative 5, sample 1e-3, min_count 5, 5 epochs (--epochs), 2
threads. Each run is a fresh process (clean peak-RSS figure); time includes the vocabulary scan.
Quality: Google analogies (restrict_vocab 30000), WS-353 and SimLex-999 Spearman, scored by embedlab.evaluate
(which matches gensim's own evaluations, see crosscheck_gensim.py).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from _common import SHARED, WORK, machine, table

TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
SETTINGS = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5, workers=2)

RUN = r"""
import json, resource, sys, time
tool, mode, seed, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = json.loads(sys.argv[5])
sg = mode == "sg"
start = time.perf_counter()
if tool == "fasttext":
    import fasttext
    m = fasttext.train_unsupervised(path, model="skipgram" if sg else "cbow", dim=s["dim"],
                                    ws=s["window"], neg=s["negative"], minCount=s["min_count"],
                                    epoch=s["epochs"], thread=s["workers"], verbose=0)
    took = time.perf_counter() - start
    m.save_model(sys.argv[6])
    from embedlab import load_vectors
    vectors = load_vectors(sys.argv[6])
    words = int(vectors.counts.sum())
elif tool == "embedlab-ft":
    from embedlab.static import FastText
    from embedlab.text import Corpus
    m = FastText(sg=sg, seed=seed, show_progress=False, dim=s["dim"], window=s["window"],
                 negative=s["negative"], min_count=s["min_count"], epochs=s["epochs"],
                 workers=s["workers"]).fit(Corpus(path, tokenizer=str.split))
    took = time.perf_counter() - start
    vectors = m.vectors_
    words = m.vocab_.total
elif tool == "gensim":
    from gensim.models import Word2Vec
    m = Word2Vec(corpus_file=path, vector_size=s["dim"], window=s["window"], min_count=s["min_count"],
                 sg=int(sg), negative=s["negative"], sample=s["sample"], epochs=s["epochs"],
                 workers=s["workers"], seed=seed)
    took = time.perf_counter() - start
    from embedlab import Vectors
    vectors = Vectors(m.wv.index_to_key, m.wv.vectors)
    words = m.corpus_total_words
else:
    from embedlab.static import Word2Vec
    from embedlab.text import Corpus
    m = Word2Vec(sg=sg, seed=seed, show_progress=False, **s).fit(Corpus(path, tokenizer=str.split))
    took = time.perf_counter() - start
    vectors = m.vectors_
    words = m.vocab_.total
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak during training
from embedlab.evaluate import word_analogy, word_similarity
out = {
    "time": took, "words": words, "words_per_s": words * s["epochs"] / took,
    "analogy": word_analogy(vectors, "google", restrict_vocab=30000).accuracy,
    "ws353": word_similarity(vectors, "ws353").spearman,
    "simlex": word_similarity(vectors, "simlex999").spearman,
    "rss_mb": rss,
}
print(json.dumps(out))
"""


def tokenize(src: str, dst: str) -> str:
    target = WORK / dst
    if not target.exists():
        WORK.mkdir(exist_ok=True)
        with open(SHARED / "corpora" / src, encoding="utf-8") as f, open(target, "w") as out:
            for line in f:
                tokens = TOKEN.findall(line.lower())
                if tokens:
                    out.write(" ".join(tokens) + "\n")
    return str(target)


CACHE = WORK / "static_runs.json"  # finished runs, so an interrupted benchmark resumes


def run(
    tool: str, mode: str, seed: int, path: str, settings: dict[str, object]
) -> dict[str, float]:
    key = f"{tool}|{mode}|{seed}|{Path(path).name}|{json.dumps(settings, sort_keys=True)}"
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    if key in cache:
        return dict(cache[key])
    model_out = str(WORK / f"{tool}_{mode}_{seed}.bin")
    for attempt in range(3):  # the pip build of fastText 0.9.3 now and then stops on a false NaN
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                RUN,
                tool,
                mode,
                str(seed),
                path,
                json.dumps(settings),
                model_out,
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode == 0:
            break
        print(
            f"  {tool} {mode} seed {seed} failed (attempt {attempt + 1}): "
            f"{proc.stderr.strip().splitlines()[-1:]}",
            file=sys.stderr,
        )
    else:
        raise SystemExit(f"{tool} kept failing")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    cache[key] = result
    CACHE.write_text(json.dumps(cache, indent=1))
    print(
        f"  {tool:8} {mode:4} seed {seed}: {result['time']:.1f} s, "
        f"{result['words_per_s'] / 1e6:.2f}M w/s, analogy {result['analogy']:.4f}, "
        f"ws353 {result['ws353']:.4f}, simlex {result['simlex']:.4f}, {result['rss_mb']:.0f} MB",
        file=sys.stderr,
        flush=True,
    )
    return result


def fasttext_rows(path: str, seeds: int) -> list[list[str]]:
    """FastText skip-gram against the fastText C++ tool, and OOV vectors read from its .bin."""
    import numpy as np

    e, f = interleaved(("embedlab-ft", "fasttext"), "sg", seeds, path)
    rows = [
        [
            "fastText skip-gram (subwords 3-6, 2M buckets)",
            f"{mean(e, 'words_per_s') / 1e6:.2f}M w/s ({mean(e, 'time'):.1f} s)",
            # same corpus, raw words for both (fastText's own count adds one </s> per line)
            f"{mean(e, 'words') * int(SETTINGS['epochs']) / mean(f, 'time') / 1e6:.2f}M w/s "
            f"({mean(f, 'time'):.1f} s,"
            " fastText 0.9.3)",
            f"{mean(f, 'time') / mean(e, 'time'):.2f}x",
        ]
    ]
    for key, label in (
        ("analogy", "Google analogy (30k)"),
        ("ws353", "WS-353"),
        ("simlex", "SimLex-999"),
    ):
        rows.append(
            [
                f"  fastText sg {label}, mean of {seeds}",
                f"{mean(e, key):.4f}",
                f"{mean(f, key):.4f}",
                f"{100 * (mean(e, key) - mean(f, key)):+.2f} points",
            ]
        )
    rows.append(
        [
            "  fastText sg peak RSS",
            f"{mean(e, 'rss_mb'):.0f} MB",
            f"{mean(f, 'rss_mb'):.0f} MB",
            "-",
        ]
    )
    import fasttext

    from embedlab import load_vectors

    model_path = str(WORK / "fasttext_sg_1.bin")
    ours, theirs = load_vectors(model_path), fasttext.load_model(model_path)
    oov = [
        "gutenbergian",
        "unreadableness",
        "misspeling",
        "rewritable",
        "embedlab",
        "zzyzx",
        "electrodynamics",
        "kingliest",
        "queenship",
        "overthinkingly",
    ]
    cos = []
    for w in oov:
        a, b = ours[w], theirs.get_word_vector(w)
        cos.append(float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))))
    rows.append(
        [
            "  OOV vectors read from fastText's .bin vs get_word_vector (min cosine, 10 words)",
            f"{min(cos):.6f}",
            "-",
            "goal >= 0.999",
        ]
    )
    return rows


def interleaved(
    tools: tuple[str, str], mode: str, seeds: int, path: str
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Each seed's run of both tools, one after the other: the host's drift over minutes (10-20%
    here) falls on both sides of the ratio, not on whichever tool ran last."""
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for seed in range(1, seeds + 1):
        ours.append(run(tools[0], mode, seed, path, SETTINGS))
        theirs.append(run(tools[1], mode, seed, path, SETTINGS))
    return ours, theirs


def mean(rows: list[dict[str, float]], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


WARM = r"""
import sys, time
from embedlab.static import FastText, Word2Vec
from embedlab.text import Corpus
corpus = Corpus(sys.argv[1], tokenizer=str.split)  # the scanner of pre-tokenized lines too
for cls in (Word2Vec, FastText):
    start = time.perf_counter()
    cls(dim=int(sys.argv[2]), min_count=1, epochs=1, workers=2, show_progress=False).fit(corpus)
    print(f"  {cls.__name__}: first run {time.perf_counter() - start:.1f} s", file=sys.stderr)
"""


def warm(path: str) -> None:
    """Fill numba's cache for this dimension, and the corpus scanner's, first (a fresh install
    compiles once, and says so; gensim and fastText ship compiled): no timed run pays a compile."""
    subprocess.run(
        [sys.executable, "-c", WARM, path, str(SETTINGS["dim"])], check=True, timeout=1200
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--modes", default="sg,cbow")
    ap.add_argument("--fasttext-seeds", type=int, default=1)
    ap.add_argument(
        "--epochs", type=int, default=5, help="Epochs of every run (5; 1 for large corpora)."
    )
    args = ap.parse_args()
    SETTINGS["epochs"] = args.epochs
    big = tokenize("en_gutenberg_10m.txt", "en10m.tok")
    small = tokenize("en_gutenberg_1m.txt", "en1m.tok")
    warm(small)
    rows = []
    for mode in args.modes.split(","):
        e, g = interleaved(("embedlab", "gensim"), mode, args.seeds, big)
        rows.append(
            [
                f"word2vec {mode}",
                f"{mean(e, 'words_per_s') / 1e6:.2f}M w/s ({mean(e, 'time'):.1f} s)",
                f"{mean(g, 'words_per_s') / 1e6:.2f}M w/s ({mean(g, 'time'):.1f} s)",
                f"{mean(e, 'words_per_s') / mean(g, 'words_per_s'):.2f}x",
            ]
        )
        for key, label in (
            ("analogy", "Google analogy (30k)"),
            ("ws353", "WS-353"),
            ("simlex", "SimLex-999"),
        ):
            diff = 100 * (mean(e, key) - mean(g, key))
            rows.append(
                [
                    f"  {mode} {label}, mean of {args.seeds}",
                    f"{mean(e, key):.4f}",
                    f"{mean(g, key):.4f}",
                    f"{diff:+.2f} points",
                ]
            )
        rows.append(
            [
                f"  {mode} peak RSS",
                f"{mean(e, 'rss_mb'):.0f} MB",
                f"{mean(g, 'rss_mb'):.0f} MB",
                "-",
            ]
        )
    one = run("embedlab", "sg", 1, small, SETTINGS)
    rows.append(
        [
            "embedlab sg peak RSS while training, 1M-word corpus",
            f"{one['rss_mb']:.0f} MB",
            "-",
            "10M: see the sg row above",
        ]
    )
    if args.fasttext_seeds:
        rows += fasttext_rows(big, args.fasttext_seeds)
    print(f"# static_training ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(table(["measure", "embedlab", "gensim 4.4", "ratio / difference"], rows))


if __name__ == "__main__":
    main()
