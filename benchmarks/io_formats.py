"""IO benchmark: native mmap open, and word2vec text/binary load and save against gensim.

Run in the bench venv (gensim installed): .bench-venv/bin/python benchmarks/io_formats.py
Files are written under benchmarks/_work (about 1.7 GB, reused between runs).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from gensim.models import KeyedVectors

from _common import WORK, best_of, machine, table
from embedlab import Vectors, load_vectors, save_vectors


def native_open() -> list[list[str]]:
    n, dim = 1_000_000, 300
    path = WORK / "native_1m_300"
    if not (path / "header.json").exists():
        rng = np.random.default_rng(0)
        keys = [f"w{i}" for i in range(n)]
        save_vectors(Vectors(keys, rng.standard_normal((n, dim), dtype=np.float32)), path)
    opened, v = best_of(lambda: load_vectors(path), repeat=5)
    rng = np.random.default_rng(1)
    picks = [f"w{i}" for i in rng.integers(0, n, 1000)]
    start = time.perf_counter()
    rows = [v[k] for k in picks]
    per_row = (time.perf_counter() - start) / len(picks)
    assert rows[0].shape == (dim,) and v.is_mmap
    return [
        ["native 1,000,000 x 300 open (mmap)", f"{opened * 1000:.1f} ms", "-", "goal < 50 ms"],
        ["native random row read by key", f"{per_row * 1e6:.1f} us", "-", "binary search, no dict"],
    ]


def word2vec_files(n: int, dim: int) -> tuple[KeyedVectors, str]:
    rng = np.random.default_rng(2)
    kv = KeyedVectors(dim)
    kv.add_vectors([f"word{i}" for i in range(n)], rng.standard_normal((n, dim), dtype=np.float32))
    stem = WORK / f"w2v_{n}_{dim}"
    for binary in (False, True):
        target = f"{stem}.{'bin' if binary else 'txt'}"
        kv.save_word2vec_format(target, binary=binary)
    return kv, str(stem)


def compare(label: str, stem: str, suffix: str, binary: bool) -> list[list[str]]:
    path = f"{stem}.{suffix}"
    repeat = 3 if binary else 1
    g_load, kv = best_of(lambda: KeyedVectors.load_word2vec_format(path, binary=binary), repeat)
    e_load, v = best_of(lambda: load_vectors(path), repeat)
    assert list(v.index_to_key) == list(kv.index_to_key)
    assert np.array_equal(v.vectors, kv.vectors)
    out_g, out_e = f"{path}.gensim-out", f"{path}.embedlab-out.{suffix}"
    g_save, _ = best_of(lambda: kv.save_word2vec_format(out_g, binary=binary), 1)
    e_save, _ = best_of(lambda: save_vectors(v, out_e), 1)
    assert np.array_equal(load_vectors(out_e).vectors, v.vectors)
    return [
        [f"{label} {suffix} load", f"{e_load:.3f} s", f"{g_load:.3f} s", f"{g_load / e_load:.1f}x"],
        [f"{label} {suffix} save", f"{e_save:.3f} s", f"{g_save:.3f} s", f"{g_save / e_save:.1f}x"],
    ]


FASTTEXT_TRAIN = """
import fasttext, sys
m = fasttext.train_unsupervised(sys.argv[1], dim=100, epoch=1, thread=2, verbose=0)
m.save_model(sys.argv[2])
"""


def fasttext_bin() -> list[list[str]]:
    """Load a real 2M-bucket fastText model: embedlab vs fastText itself vs gensim."""
    import subprocess

    import fasttext
    from gensim.models.fasttext import load_facebook_vectors

    from _common import SHARED

    path = WORK / "gutenberg1m_ft100.bin"
    if not path.exists():
        corpus = SHARED / "corpora" / "en_gutenberg_1m.txt"
        subprocess.run([sys.executable, "-c", FASTTEXT_TRAIN, str(corpus), str(path)], check=True)
    e_load, v = best_of(lambda: load_vectors(path), 3)
    f_load, model = best_of(lambda: fasttext.load_model(str(path)), 3)
    g_load, kv = best_of(lambda: load_facebook_vectors(str(path)), 1)
    words = [*model.words[:2000:97], "unseenword", "embedlab", "gutenbergian"]
    worst = max(float(np.abs(v[w] - model.get_word_vector(w)).max()) for w in words)
    g_diff = {w: float(np.abs(kv[w] - model.get_word_vector(w)).max()) for w in words}
    g_eos = g_diff.pop(
        "</s>", 0.0
    )  # gensim gives the end-of-sentence token n-grams; fastText does not
    g_worst = max(g_diff.values())
    label = f"fastText .bin {len(v):,} words + {v.bucket:,} buckets x {v.dim}"
    return [
        [f"{label}: load", f"{e_load:.2f} s", f"{g_load:.2f} s", f"{g_load / e_load:.1f}x"],
        [
            f"{label}: load vs fastText 0.9.3 itself",
            f"{e_load:.2f} s",
            f"{f_load:.2f} s (fastText)",
            f"{f_load / e_load:.1f}x",
        ],
        [
            "max abs diff to fastText's get_word_vector (in-vocab and OOV)",
            f"{worst:.1e}",
            f"{g_worst:.1e} (and {g_eos:.2f} on </s>)",
            "-",
        ],
    ]


def main() -> None:
    WORK.mkdir(exist_ok=True)
    rows = native_open()
    for n, dim in ((100_000, 300),):
        _, stem = word2vec_files(n, dim)
        for suffix, binary in (("txt", False), ("bin", True)):
            rows += compare(f"{n:,} x {dim}", stem, suffix, binary)
    rows += fasttext_bin()
    real = WORK / "gutenberg_sg100"
    if (real.with_suffix(".txt")).exists():
        for suffix, binary in (("txt", False), ("bin", True)):
            rows += compare("gutenberg 41,730 x 100", str(real), suffix, binary)
    print(f"# io_formats ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    print(table(["measure", "embedlab", "gensim 4.4", "speed-up"], rows))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
