"""Build tests/data/tiny_fasttext.bin and the vectors fastText itself gives for it.

Run in the bench venv (it needs the `fasttext` package): .bench-venv/bin/python
benchmarks/make_fasttext_fixture.py. The test suite then checks that embedlab reproduces fastText's
in-vocabulary and out-of-vocabulary word vectors from the .bin alone.

Training runs in a fresh child process: the pip build of fastText 0.9.3 intermittently reports
"Encountered NaN" with tiny bucket counts once the parent process has allocated much memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "corpora" / "en_gutenberg_1m.txt"
OUT = ROOT / "tests" / "data"
TMP = Path("/tmp/embedlab_fasttext_fixture.txt")
EXTRA = "café naïve façade über crème brûlée 北京 大学 北京大学 東京 naïveté "  # non-ASCII n-grams
TRAIN = """
import fasttext, sys
m = fasttext.train_unsupervised(sys.argv[1], dim=8, minCount=5, bucket=3000, minn=3, maxn=6,
                                epoch=1, thread=1, verbose=0)
m.save_model(sys.argv[2])
"""


def main() -> None:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:20000]
    TMP.write_text(
        "".join(
            ln.lower() + (" " + EXTRA * 2 if i % 200 == 0 else "") + "\n"
            for i, ln in enumerate(lines)
        ),
        encoding="utf-8",
    )
    target = OUT / "tiny_fasttext.bin"
    for _ in range(10):
        if subprocess.run([sys.executable, "-c", TRAIN, str(TMP), str(target)]).returncode == 0:
            break
    else:
        raise SystemExit("fastText kept failing")
    import fasttext

    model = fasttext.load_model(str(target))
    words = model.words
    known = [w for w in ["the", "and", "café", "北京", "naïve", "</s>"] if w in words] + words[-3:]
    oov = ["embedlab", "cafés", "北京城", "zzzq", "a", "naïvetés", "brûlées"]
    expected = {
        "nwords": len(words),
        "first_words": words[:20],
        "known": {w: model.get_word_vector(w).tolist() for w in known},
        "oov": {w: model.get_word_vector(w).tolist() for w in oov},
    }
    (OUT / "tiny_fasttext_expected.json").write_text(
        json.dumps(expected, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    print(len(words), "words;", target.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
