"""One evaluation report over every shared task: MiniLM, its distilled static model, word2vec.

Run: .bench-venv/bin/python benchmarks/eval_report.py   (or .venv; prints the markdown tables)

English tasks: all-MiniLM-L6-v2 (offline package), the static model distilled from it, and
word2vec (skip-gram, dim 100, 5 epochs) trained by embedlab on en_gutenberg_10m, used as a mean
StaticEncoder. Chinese tasks: the same two MiniLM models and word2vec trained on zh_four_classics
(jieba-segmented), also as a StaticEncoder over jieba-segmented text. The wall time covers the
whole run, training and distillation included when nothing is cached in benchmarks/_work.
"""

from __future__ import annotations

import time

from _common import SHARED, WORK, machine
from embedlab import Vectors
from embedlab.encoders import StaticEncoder, TransformerEncoder, distill
from embedlab.evaluate import evaluate, save_report
from embedlab.static import Word2Vec
from embedlab.text import Corpus
from static_training import tokenize


def word2vec(name: str, corpus: Corpus) -> Vectors:
    path = WORK / f"{name}.embedlab"
    if not path.exists():
        Word2Vec(dim=100, window=5, epochs=5, seed=1, show_progress=False).fit(
            corpus
        ).vectors_.save(path)
    return Vectors.load(path)


def main() -> None:
    start = time.perf_counter()
    minilm = TransformerEncoder(threads=2)
    static_dir = WORK / "minilm_static"
    static = StaticEncoder.load(static_dir) if static_dir.exists() else distill(minilm)
    w2v_en = word2vec(
        "w2v_en10m", Corpus(tokenize("en_gutenberg_10m.txt", "en10m.tok"), tokenizer=str.split)
    )
    w2v_zh = word2vec("w2v_zh_classics", Corpus(SHARED / "corpora" / "zh_four_classics.txt"))
    english = evaluate(
        {"all-MiniLM-L6-v2": minilm, "MiniLM distilled (static)": static, "word2vec en10m": w2v_en},
        ["en"],
        data_dir=str(SHARED),
    )
    chinese = evaluate(
        {
            "all-MiniLM-L6-v2": minilm,
            "MiniLM distilled (static)": static,
            "word2vec classics (jieba)": w2v_zh,
        },
        ["zh"],
        data_dir=str(SHARED),
    )
    took = time.perf_counter() - start
    save_report(english, WORK / "eval_report" / "en")
    save_report(chinese, WORK / "eval_report" / "zh")
    print(f"# eval_report ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print("English tasks (main metric x 100):\n")
    print(english.markdown())
    print("\nChinese tasks (main metric x 100):\n")
    print(chinese.markdown())
    print(
        f"\nWall time of the whole run: {took:.0f} s (English {english.seconds:.0f} s, "
        f"Chinese {chinese.seconds:.0f} s, the rest loading/training/distilling)"
    )
    for report in (english, chinese):
        for s in report.scores:
            print(f"  {s.model:<28} {s.task:<22} {s.seconds:6.1f} s  {s.metrics}")


if __name__ == "__main__":
    main()
