"""Mutation fuzzing of every reader, run by test_fuzz_readers.py in its own process under an
address-space limit (so an allocation a header talked a reader into fails, and is reported).

Each case mutates a small valid file (every vector format, the search index folders, record files
and corpora): bit flips, truncation, byte edits, huge header numbers, NaN/inf text, rows with the
wrong number of floats, gzip/bz2 of garbage or of a mutated file.
The only acceptable outcomes are a successful load or FormatError / ParameterError (whose cause
is not a MemoryError); each case must finish within a second. Prints one JSON summary line.

Usage: python fuzz_readers.py MAX_EXAMPLES ADDRESS_SPACE_MB
"""

from __future__ import annotations

import bz2
import gzip
import json
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedlab import Vectors, load_vectors, save_vectors
from embedlab.errors import FormatError, ParameterError
from embedlab.search import BM25Index, ExactIndex, HNSWIndex

DATA = Path(__file__).parent.parent / "data"
SAMPLE = Vectors(
    ["the", "cat", "été", "北京", "a b"][:4],
    (np.arange(12, dtype=np.float32).reshape(4, 3) - 5) / 7,
    [4, 3, 2, 1],
)
HUGE = [2**31 - 1, 2**31, 2**32, 2**40, 2**63 - 1, 2**63, 2**64, 10**30, 4_294_967_296]
ODD_FLOATS = [b"nan", b"inf", b"-inf", b"1e999", b"-1e999", b"NaN", b"0x1p3", b"1e-999", b"--1"]
seen: Counter[str] = Counter()
slowest = [0.0, ""]


def files() -> dict[str, bytes]:
    """name -> bytes of a small valid file in each single-file format (and compressed ones)."""
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as d:
        for name in ("v.txt", "v.vec", "g.glove.txt", "v.bin", "v.txt.gz", "v.bin.bz2"):
            fmt = "glove" if name.startswith("g.") else None
            save_vectors(SAMPLE, Path(d) / name, fmt)  # type: ignore[arg-type]
            out[name] = (Path(d) / name).read_bytes()
    out["m.ftz.bin"] = (DATA / "tiny_fasttext.bin").read_bytes()
    return out


FILES = files()


def folders(root: Path) -> dict[str, Path]:
    """name -> a valid folder in each folder format (vectors and search indexes)."""
    out: dict[str, Path] = {}
    for fmt, storage in (("native", "safetensors"), ("native", "npy")):
        save_vectors(SAMPLE, root / f"{fmt}-{storage}", fmt, storage=storage)  # type: ignore[arg-type]
        out[f"{fmt}-{storage}"] = root / f"{fmt}-{storage}"
    for fmt in ("projector", "keras"):
        save_vectors(SAMPLE, root / fmt, fmt)  # type: ignore[arg-type]
        out[fmt] = root / fmt
    subword = load_vectors(DATA / "tiny_fasttext.bin")
    save_vectors(subword, root / "native-subword")
    out["native-subword"] = root / "native-subword"
    rng = np.random.default_rng(0)
    keys = [f"d{i}" for i in range(12)]
    x = rng.normal(size=(12, 8)).astype(np.float32)
    for name, index in (("exact", ExactIndex(8)), ("hnsw", HNSWIndex(8))):
        index.add(keys, x)
        index.save(root / name)
        out[name] = root / name
    bm25 = BM25Index()
    bm25.add(keys, [f"word{i} shared text {i % 3}" for i in range(12)])
    bm25.save(root / "bm25")
    out["bm25"] = root / "bm25"
    return out


LOADERS: dict[str, Callable[[Path], object]] = {
    "exact": ExactIndex.load,
    "hnsw": HNSWIndex.load,
    "bm25": BM25Index.load,
}


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """One to four edits of ``data`` of the kinds a broken disk, a bad tool or an attacker makes."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(
            st.sampled_from(
                ["bit", "byte", "delete", "insert", "truncate", "dup", "number", "float", "row"]
            )
        )
        i = draw(st.integers(0, max(0, len(out) - 1)))
        if op == "bit" and out:
            out[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and out:
            out[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del out[i : i + draw(st.integers(1, 8))]
        elif op == "insert":
            out[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "truncate":
            del out[i:]
        elif op == "dup":
            out[i:i] = out[i : i + draw(st.integers(1, 40))]
        elif op == "number":  # a huge number where a number (a header's, a shape's) was
            spots = [m.span() for m in re.finditer(rb"\d+", bytes(out))]
            if spots:
                a, b = draw(st.sampled_from(spots))
                out[a:b] = str(draw(st.sampled_from(HUGE))).encode()
        elif op == "float":  # NaN, infinity, overflow, junk where a float was
            spots = [m.span() for m in re.finditer(rb"-?\d+\.\d+(e-?\d+)?", bytes(out))]
            if spots:
                a, b = draw(st.sampled_from(spots))
                out[a:b] = draw(st.sampled_from(ODD_FLOATS))
        else:  # a row with a float too many or too few
            lines = bytes(out).split(b"\n")
            if len(lines) > 1:
                k = draw(st.integers(0, len(lines) - 1))
                parts = lines[k].split(b" ")
                lines[k] = b" ".join(parts[:-1] if draw(st.booleans()) else [*parts, b"0.5"])
                out = bytearray(b"\n".join(lines))
    return bytes(out)


def attempt(load: Callable[[], object], label: str) -> None:
    start = time.process_time()  # CPU time: a hang detector that a busy host does not trip
    try:
        load()
        seen["loaded"] += 1
    except (FormatError, ParameterError) as e:
        cause = e.__cause__
        while cause is not None:
            if isinstance(cause, MemoryError):
                raise AssertionError(f"{label}: a reader tried a huge allocation: {e}") from e
            cause = cause.__cause__
        seen[type(e).__name__] += 1
    took = time.process_time() - start
    if took > slowest[0]:
        slowest[:] = [took, label]
    if took > 2.0:
        raise AssertionError(f"{label}: one case took {took:.2f} s of CPU")


def fuzz_file(fuzz: settings, work: Path, name: str, data: bytes) -> None:
    @fuzz
    @given(raw=mutated(data), how=st.sampled_from(["plain", "gz", "bz2", "garbage"]))
    def run(raw: bytes, how: str) -> None:
        if how == "gz":
            raw = gzip.compress(raw)
        elif how == "bz2":
            raw = bz2.compress(raw)
        elif how == "garbage":  # a compressed stream cut short, one byte flipped
            packed = bytearray(gzip.compress(raw))
            packed[len(packed) // 3] ^= 0x5A
            raw = bytes(packed[: max(12, 2 * len(packed) // 3)])
        suffix = {"plain": "", "gz": ".gz", "bz2": ".bz2", "garbage": ".gz"}[how]
        path = work / f"case-{name}{suffix}"
        path.write_bytes(raw)
        attempt(lambda: load_vectors(path), f"{name}{suffix}")
        attempt(lambda: load_vectors(path, format="glove"), f"{name}{suffix} as glove")

    run()


RECORDS = {
    "docs.jsonl": b'{"id": "a", "text": "reset my password", "lang": "en"}\n'
    b'{"id": "b", "text": "\\u5317\\u4eac parcel", "lang": "zh"}\n',
    "docs.csv": b'id,text,lang\na,"reset, my password",en\nb,track parcel,en\n',
    "docs.tsv": b"id\ttext\tlang\na\treset my password\ten\nb\ttrack parcel\ten\n",
    "corpus.txt": b"the cat sat on the mat\n\xe5\x8c\x97\xe4\xba\xac is a city\n",
}


def fuzz_records(fuzz: settings, work: Path, name: str, data: bytes) -> None:
    """Record files (``index build``, ``embed``, FAQ input) and corpora (the trainers)."""
    from embedlab.records import read_records
    from embedlab.text import Corpus

    @fuzz
    @given(raw=mutated(data), gz=st.booleans())
    def run(raw: bytes, gz: bool) -> None:
        path = work / (f"case-{name}.gz" if gz else f"case-{name}")
        path.write_bytes(gzip.compress(raw) if gz else raw)
        if name.startswith("corpus"):
            attempt(lambda: list(Corpus(path)), name)
            attempt(lambda: list(Corpus(path, format="jsonl")), f"{name} as jsonl")
        else:
            attempt(lambda: read_records(path, field="text", meta_fields=["lang"]), name)

    run()


def fuzz_folder(fuzz: settings, work: Path, name: str, good: Path) -> None:
    parts = sorted(p.name for p in good.iterdir() if p.is_file())
    loader = LOADERS.get(name)

    @fuzz
    @given(which=st.sampled_from(parts), data=st.data())
    def run(which: str, data: st.DataObject) -> None:
        case = work / f"case-{name}"
        shutil.rmtree(case, ignore_errors=True)
        shutil.copytree(good, case)
        (case / which).write_bytes(data.draw(mutated((good / which).read_bytes())))

        def load() -> object:
            if loader is not None:
                return loader(case)
            v = load_vectors(case)
            for i in range(len(v)):  # lazily decoded keys must fail cleanly too
                v.key_to_index.get(v.index_to_key[i])
            return v

        attempt(load, f"{name}/{which}")

    run()


def main(max_examples: int) -> None:
    fuzz = settings(
        max_examples=max_examples,
        deadline=timedelta(seconds=1),
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,  # the same cases every run: CI is not a lottery
    )
    work = Path(tempfile.mkdtemp(prefix="embedlab-fuzz-"))
    try:
        for name, data in FILES.items():  # warm up: first-use costs (JIT) are not a case's
            (work / name).write_bytes(data)
            load_vectors(work / name)
        from embedlab.text import Corpus

        (work / "corpus.txt").write_bytes(RECORDS["corpus.txt"])
        list(Corpus(work / "corpus.txt"))  # loads jieba's dictionary (Chinese in the corpus)
        from embedlab.records import read_records

        for name in ("docs.jsonl", "docs.csv"):
            (work / name).write_bytes(RECORDS[name])
            read_records(work / name, field="text", meta_fields=["lang"])
        for name, data in FILES.items():
            fuzz_file(fuzz, work, name, data)
        for name, good in folders(work).items():
            fuzz_folder(fuzz, work, name, good)
        for name, data in RECORDS.items():
            fuzz_records(fuzz, work, name, data)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    examples, limit_mb = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
    main(examples)
    print(json.dumps({"cases": sum(seen.values()), "outcomes": seen, "slowest": slowest}))
