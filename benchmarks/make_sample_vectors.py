"""Rebuild src/embedlab/data/sample_vectors (run in the bench venv: it trains with gensim).

Reads ../shared/data/corpora/en_gutenberg_10m.txt; about 100 s on 2 cores.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from gensim.models import Word2Vec

from embedlab import Vectors, save_vectors

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "corpora" / "en_gutenberg_10m.txt"
WORK = ROOT / "benchmarks" / "_work"
TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")


class Sentences:
    def __iter__(self):  # type: ignore[no-untyped-def]
        with open(CORPUS, encoding="utf-8") as f:
            for line in f:
                tokens = TOKEN.findall(line.lower())
                if tokens:
                    yield tokens


def main() -> None:
    model = Word2Vec(
        Sentences(),
        vector_size=100,
        window=5,
        min_count=5,
        sg=1,
        negative=5,
        sample=1e-3,
        epochs=5,
        workers=2,
        seed=1,
    )
    WORK.mkdir(exist_ok=True)
    model.wv.save_word2vec_format(str(WORK / "gutenberg_sg100.bin"), binary=True)
    model.wv.save_word2vec_format(str(WORK / "gutenberg_sg100.txt"), binary=False)
    keys = model.wv.index_to_key[:15000]
    sample = Vectors(keys, model.wv.vectors[:15000])
    save_vectors(sample, ROOT / "src" / "embedlab" / "data" / "sample_vectors", dtype="float16")
    print("wrote sample and full vectors", file=sys.stderr)


if __name__ == "__main__":
    main()
