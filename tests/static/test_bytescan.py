"""The compiled scan of pre-tokenized lines (``Corpus(tokenizer=str.split)``) gives the same
words, ids, counts, sentence boundaries and work items as the Python scan of the same sentences:
every whitespace ``str.split`` knows (ASCII, \\x1c-\\x1f, the Unicode spaces), CRLF, blank lines,
a last line without newline, several and gzip files, long lines cut, tables that grow. A bad
byte is an error naming the file and line, as iterating the corpus says it."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import FormatError
from embedlab.static._bytescan import ByteVocab
from embedlab.static._encode import EncodedCorpus
from embedlab.text import Corpus

SPACES = [c for c in map(chr, range(0x3001)) if c.isspace()]  # all of str.split's (U+3000 last)


def _encoded(source: object, **kw: object) -> tuple[list[str], list[int], list[int], list[int]]:
    with EncodedCorpus.build(source, show_progress=False, **kw) as e:  # type: ignore[arg-type]
        ids, bounds = e.read(0, e.n_sentences)
        return e.words, e.counts.tolist(), ids.tolist(), bounds.tolist() + e.chunk_starts


def _same_as_python(paths: list[Path], **kw: object) -> None:
    corpus = Corpus(paths, tokenizer=str.split)
    assert corpus.whitespace_lines
    fast = _encoded(corpus, **kw)
    slow = _encoded(iter(list(corpus)), **kw)  # a plain iterable: the Python scan
    assert fast == slow
    assert fast[0]  # something was read


def test_every_whitespace_crlf_blank_and_unterminated_lines(tmp_path: Path) -> None:
    rng = random.Random(3)
    words = ["the", "cat", "Ünïcödé", "猫", "a\u200bb", "x\ufeffy", "é", "naïve", "🙂", "\x00z"]
    lines = []
    for _ in range(400):
        parts = [rng.choice(words) for _ in range(rng.randint(0, 12))]
        seps = [rng.choice([*SPACES, " ", " ", "  "]) for _ in parts]
        lines.append("".join(p + s for p, s in zip(parts, seps)))
    text = "\n".join(lines) + "\r\n\n   \n\u3000\n" + "last line without newline"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    _same_as_python([tmp_path / "a.txt"])
    tokens = Corpus(tmp_path / "a.txt", tokenizer=str.split)
    assert sum(map(len, tokens)) == len(text.split())  # what str.split sees, line ends aside


def test_several_files_gzip_long_lines_and_growing_tables(tmp_path: Path) -> None:
    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(30_000)]  # more words than the tables start with
    (tmp_path / "d").mkdir()
    with gzip.open(tmp_path / "d" / "1.txt.gz", "wt", encoding="utf-8") as f:
        for _ in range(300):
            f.write(" ".join(rng.choice(vocab) for _ in range(rng.randint(1, 300))) + "\n")
    (tmp_path / "d" / "2.txt").write_text("one two\n" * 50 + "w1 " * 2500, encoding="utf-8")
    _same_as_python([tmp_path / "d"], max_sentence_length=100, chunk_tokens=500)
    vocab_small = ByteVocab(capacity=4)  # grows its table, word arrays and arena many times
    ids, lines = vocab_small.scan(b"a b c d e f g h a b\n\n c c d\xc2\xa0z\n")
    assert vocab_small.words == ["a", "b", "c", "d", "e", "f", "g", "h", "z"]
    assert ids.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 2, 3, 8]
    assert lines.tolist() == [10, 4]


def test_max_vocab_size_and_other_tokenizers_take_the_python_path(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a b c\na a d\n", encoding="utf-8")
    assert not Corpus(tmp_path / "a.txt").whitespace_lines  # the default Tokenizer
    assert not Corpus(tmp_path / "a.txt", tokenizer=str.split, encoding="latin-1").whitespace_lines
    _same_as_python([tmp_path / "a.txt"], max_vocab_size=2)


def test_a_bad_byte_names_file_and_line(tmp_path: Path) -> None:
    lines = [b"fine line %d" % i for i in range(20_000)]
    lines[15_001] = b"caf\xe9 au lait"
    (tmp_path / "l.txt").write_bytes(b"\n".join(lines))
    corpus = Corpus(tmp_path / "l.txt", tokenizer=str.split)
    with pytest.raises(
        FormatError, match=r"l.txt, line 15002: expected utf-8 text, found byte 0xe9"
    ):
        _encoded(corpus)
    with pytest.raises(
        FormatError, match=r"l.txt, line 15002: expected utf-8 text, found byte 0xe9"
    ):
        list(corpus)  # the same words as the line reader's


def test_blocks_end_at_line_ends(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"ab cd\n" * 1000 + b"tail")
    (tmp_path / "b.txt").write_bytes(b"\xe7\x8c\xab \xe7\x8c\xab\n" * 500)
    blocks = list(
        Corpus([tmp_path / "a.txt", tmp_path / "b.txt"], tokenizer=str.split).line_blocks(size=100)
    )
    assert all(b.endswith(b"\n") for b in blocks) and len(blocks) > 20
    assert b"".join(blocks) == b"ab cd\n" * 1000 + b"tail\n" + b"\xe7\x8c\xab \xe7\x8c\xab\n" * 500
    assert np.array_equal(ByteVocab().scan(b"".join(blocks))[1][-1:], [2])


RUN = r"""
import json, logging, sys
said = []
class Keep(logging.Handler):
    def emit(self, record):
        said.append(record.getMessage())
logging.getLogger("embedlab").addHandler(Keep())
logging.getLogger("embedlab").setLevel(logging.INFO)
from embedlab.static._encode import EncodedCorpus
from embedlab.text import Corpus
with EncodedCorpus.build(Corpus(sys.argv[1], tokenizer=str.split), show_progress=False) as e:
    print(json.dumps({"said": [m for m in said if "compiling" in m], "words": e.words}))
"""


def test_the_scanner_says_it_compiles_once_then_loads_from_the_cache(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "a.txt").write_text("b a\u00a0b\n", encoding="utf-8")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", RUN, str(tmp_path / "a.txt")], env=env,
                                  capture_output=True, text=True, check=True, timeout=600).stdout)
        for _ in range(2)
    ]  # fmt: skip
    assert runs[0]["said"] and "compiling the corpus scanner" in runs[0]["said"][0]
    assert runs[1] == {"said": [], "words": ["b", "a"]}
