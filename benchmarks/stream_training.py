"""Training on corpora larger than memory: word2vec / fastText over a 100M-token stream of .gz files.

Run: .venv/bin/python benchmarks/stream_training.py [EPOCHS] [word2vec|fasttext]   (default 1 word2vec)

The tokenized en_gutenberg_10m (10.6M tokens, one line per input line) and the same text ten
times over as a folder of ten .gz files (106M tokens). Skip-gram (dim 100, window 5, negative 5,
min_count 5, sample 1e-3, 2 threads) reads each as a stream; each run is a fresh process and
reports its peak RSS, wall time and vocabulary. Goal: the 100M run's peak RSS within 10% of the
10M run's (memory bounded by the vocabulary, not the corpus). Every word is ten times as frequent
in the 100M stream, so min_count 50 there keeps the 10M run's vocabulary exactly (same model
size); the row with min_count 5 shows what a vocabulary 2.7x larger costs. fastText (the same
settings, n-grams 3-6 hashed into 2M buckets: a table of fixed size) runs the first two cases.
"""

from __future__ import annotations

import gzip
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import WORK, machine, table
from static_training import tokenize


def one(path: str, epochs: int, min_count: int, kind: str) -> dict[str, float]:
    from embedlab.static import FastText, Word2Vec
    from embedlab.text import Corpus

    start = time.perf_counter()
    model = (FastText if kind == "fasttext" else Word2Vec)(
        dim=100, window=5, negative=5, min_count=min_count, sample=1e-3, epochs=epochs, workers=2,
        seed=1, show_progress=False,
    ).fit(Corpus(path, tokenizer=str.split))  # fmt: skip
    return {
        "seconds": time.perf_counter() - start,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "vocab": len(model.vectors_),
    }


def ten_times(src: str, folder: Path) -> Path:
    if folder.exists() and len(list(folder.glob("*.gz"))) == 10:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    data = Path(src).read_bytes()
    for k in range(10):
        with gzip.open(folder / f"part-{k:02d}.txt.gz", "wb", compresslevel=1) as f:
            f.write(data)
    return folder


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])))
        return
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    kind = sys.argv[2] if len(sys.argv) > 2 else "word2vec"
    small = tokenize("en_gutenberg_10m.txt", "en10m.tok")
    big = ten_times(small, WORK / "en100m_gz")
    runs = {}
    cases = (
        ("10M tokens, one file, min_count 5", small, 5),
        ("106M tokens, 10 .gz files, min_count 50 (the same vocabulary)", str(big), 50),
        ("106M tokens, 10 .gz files, min_count 5", str(big), 5),
    )[: 2 if kind == "fasttext" else 3]
    for name, path, min_count in cases:
        cmd = [sys.executable, __file__, "--one", path, str(epochs), str(min_count), kind]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        runs[name] = json.loads(out.strip().splitlines()[-1])
        print(f"  {name}: {runs[name]}", flush=True)
    base = next(iter(runs.values()))["rss_mb"]
    rows = [
        [
            name,
            f"{r['seconds']:.1f} s",
            f"{r['vocab']:,}",
            f"{r['rss_mb']:.0f} MB",
            f"{100 * (r['rss_mb'] / base - 1):+.1f}%",
        ]
        for name, r in runs.items()
    ]
    print(
        f"\n# stream_training ({machine()}, {kind} sg, {epochs} epoch(s), {time.strftime('%Y-%m-%d')})\n"
    )
    print(table(["corpus", "wall", "vocabulary", "peak RSS", "vs 10M (goal within 10%)"], rows))


if __name__ == "__main__":
    main()
