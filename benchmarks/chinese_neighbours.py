"""Chinese word2vec: train on the four classic novels (segmented by jieba) and print neighbours.

Run: .venv/bin/python benchmarks/chinese_neighbours.py (needs the zh extra). Reads
../shared/data/corpora/zh_four_classics.txt (三国演义, 水浒传, 西游记, 红楼梦).
"""

from __future__ import annotations

import time

from _common import SHARED, machine
from embedlab.static import Word2Vec
from embedlab.text import Corpus, Tokenizer

QUERIES = ("孔明", "宝玉", "悟空", "宋江", "曹操", "黛玉")


def main() -> None:
    corpus = Corpus(
        SHARED / "corpora" / "zh_four_classics.txt", tokenizer=Tokenizer(stopwords="zh")
    )
    start = time.perf_counter()
    model = Word2Vec(dim=100, window=5, min_count=5, epochs=5, seed=1).fit(corpus)
    took = time.perf_counter() - start
    print(f"# Chinese word2vec on zh_four_classics ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(
        f"{model.vocab_.total:,} tokens after jieba + stop words, {len(model.vocab_):,} words; "
        f"{took:.1f} s including segmentation\n"
    )
    print("| query | nearest neighbours |")
    print("|---|---|")
    for q in QUERIES:
        near = ", ".join(f"{k} ({s:.2f})" for k, s in model.vectors_.most_similar(q, topn=8))
        print(f"| {q} | {near} |")


if __name__ == "__main__":
    main()
