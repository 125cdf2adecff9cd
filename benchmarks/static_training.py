"""Static training benchmark: embedlab Word2Vec against gensim 4.4, same corpus, same settings.

Run in the bench venv: .bench-venv/bin/python benchmarks/static_training.py [--seeds 3] [--modes sg,cbow]
Corpus: ../shared/data/corpora/en_gutenberg_10m.txt tokenized once as lowercase [a-z]+('[a-z]+)?
runs (one line per input line) into benchmarks/_work/en10m.tok, which both tools read (gensim through
corpus_file). dim 100, window 5, negative 5, sample 1e-3, min_count 5, 5 epochs, 2 threads. Each run
is a fresh process (clean peak-RSS figure); time includes the vocabulary scan. Quality: Google
analogies (restrict_vocab 30000), WS-353 and SimLex-999 Spearman, scored by embedlab.evaluate
(which matches gensim's own evaluations, see crosscheck_gensim.py).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time

from _common import SHARED, WORK, machine, table

TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
SETTINGS = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5, workers=2)

RUN = r"""
import json, resource, sys, time
tool, mode, seed, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = json.loads(sys.argv[5])
sg = mode == "sg"
start = time.perf_counter()
if tool == "gensim":
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
from embedlab.evaluate import word_analogy, word_similarity
out = {
    "time": took, "words": words, "words_per_s": words * s["epochs"] / took,
    "analogy": word_analogy(vectors, "google", restrict_vocab=30000).accuracy,
    "ws353": word_similarity(vectors, "ws353").spearman,
    "simlex": word_similarity(vectors, "simlex999").spearman,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
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


def run(tool: str, mode: str, seed: int, path: str, settings: dict[str, object]) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", RUN, tool, mode, str(seed), path, json.dumps(settings)],
        capture_output=True, text=True, check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"  {tool:8} {mode:4} seed {seed}: {result['time']:.1f} s, "
          f"{result['words_per_s'] / 1e6:.2f}M w/s, analogy {result['analogy']:.4f}, "
          f"ws353 {result['ws353']:.4f}, simlex {result['simlex']:.4f}, {result['rss_mb']:.0f} MB",
          file=sys.stderr, flush=True)
    return result


def mean(rows: list[dict[str, float]], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--modes", default="sg,cbow")
    args = ap.parse_args()
    big = tokenize("en_gutenberg_10m.txt", "en10m.tok")
    small = tokenize("en_gutenberg_1m.txt", "en1m.tok")
    rows = []
    for mode in args.modes.split(","):
        results = {tool: [run(tool, mode, seed, big, SETTINGS) for seed in range(1, args.seeds + 1)]
                   for tool in ("embedlab", "gensim")}
        e, g = results["embedlab"], results["gensim"]
        rows.append([
            f"word2vec {mode}", f"{mean(e, 'words_per_s') / 1e6:.2f}M w/s ({mean(e, 'time'):.1f} s)",
            f"{mean(g, 'words_per_s') / 1e6:.2f}M w/s ({mean(g, 'time'):.1f} s)",
            f"{mean(e, 'words_per_s') / mean(g, 'words_per_s'):.2f}x",
        ])
        for key, label in (("analogy", "Google analogy (30k)"), ("ws353", "WS-353"),
                           ("simlex", "SimLex-999")):
            diff = 100 * (mean(e, key) - mean(g, key))
            rows.append([f"  {mode} {label}, mean of {args.seeds}", f"{mean(e, key):.4f}",
                         f"{mean(g, key):.4f}", f"{diff:+.2f} points"])
        rows.append([f"  {mode} peak RSS", f"{mean(e, 'rss_mb'):.0f} MB", f"{mean(g, 'rss_mb'):.0f} MB", "-"])
    one = run("embedlab", "sg", 1, small, {**SETTINGS, "min_count": 5})
    rows.append(["embedlab sg peak RSS, 1M vs 10M corpus", f"{one['rss_mb']:.0f} MB (1M)",
                 "-", "see 10M row above"])
    print(f"# static_training ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(table(["measure", "embedlab", "gensim 4.4", "ratio / difference"], rows))


if __name__ == "__main__":
    main()
