"""GloVe's co-occurrences on disk, in bounded memory: count and spill, merge, shuffle, read back.

What GloVe C's ``cooccur -memory`` and ``shuffle -memory`` do, for :class:`~embedlab.static.GloVe`
with ``memory=MB``. Counting keeps the dense table of frequent pairs in memory (sized to a
quarter of the budget) and reduces the sparse records block by block; whenever the reduced records
exceed their share they are written, sorted by key, to a run file. The runs are merged k-way
(a slice of each in memory, everything up to the smallest last key of the slices reduced and
written) into one file of ``(row int32, col int32, value float32)`` records, the dense table's
first. That file is shuffled in two passes as GloVe C's shuffle does: blocks shuffled in memory
into temporary files, then slices of every temporary file drawn together, shuffled and appended.
Training reads the shuffled file a block at a time, every epoch in the same order (GloVe C's too).

Memory is the budget plus the vocabulary-sized model, whatever the corpus: the shares are set in
:class:`Budget`. Files live in a temporary folder that :class:`CooccurrenceFile` removes.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _glove_kernels as GK

__all__ = ["RECORD", "Budget", "CooccurrenceFile", "count_to_file"]

RECORD = np.dtype([("row", "<i4"), ("col", "<i4"), ("value", "<f4")])
_KEY_BYTES = 12  # int64 key + float32 weight of a sparse record while counting


@dataclass(frozen=True)
class Budget:
    """How ``memory`` megabytes are shared: the dense table a quarter, the counting scratch and
    the reduced records held before a spill a quarter each (reducing needs about three times a
    part), merging, shuffling and training an eighth each, in records. ``held``, ``io`` and
    ``tokens`` set those sizes directly (tests make them tiny to force every path)."""

    megabytes: float
    held: int | None = None
    io: int | None = None
    tokens: int | None = None

    @property
    def bytes(self) -> int:
        return int(self.megabytes * 2**20)

    def dense_rows(self, wanted: int) -> int:
        return min(wanted, int((self.bytes / 4 / 4) ** 0.5))

    def block_tokens(self, window: int) -> int:
        """Tokens counted per kernel call: 2 * window records a token, and reduce's copies."""
        if self.tokens is not None:
            return self.tokens
        return max(1 << 12, self.bytes // 4 // (3 * _KEY_BYTES * 2 * window))

    @property
    def held_records(self) -> int:
        return (
            self.held
            if self.held is not None
            else max(1 << 16, self.bytes // 4 // (3 * _KEY_BYTES))
        )

    @property
    def io_records(self) -> int:
        return self.io if self.io is not None else max(1 << 16, self.bytes // 8 // RECORD.itemsize)


class CooccurrenceFile:
    """The merged, shuffled co-occurrences in a temporary folder: ``blocks()`` reads them back."""

    def __init__(self, folder: Path, path: Path, count: int, block: int) -> None:
        self.folder, self.path, self.count, self.block = folder, path, count, block

    def blocks(self) -> Iterator[tuple[npt.NDArray[np.int32], ...]]:
        """``(rows, cols, values)`` contiguous arrays of at most ``block`` records each."""
        with open(self.path, "rb") as f:
            while True:
                part = np.fromfile(f, dtype=RECORD, count=self.block)
                if part.size == 0:
                    return
                yield (
                    np.ascontiguousarray(part["row"]),
                    np.ascontiguousarray(part["col"]),
                    np.ascontiguousarray(part["value"]),
                )

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> CooccurrenceFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def count_to_file(
    encoded: Any,
    remap: npt.NDArray[np.int32],
    n_rows: int,
    *,
    window: int,
    dense_rows: int,
    budget: Budget,
    rng: np.random.Generator,
    update: Callable[[int], object],
    workdir: str | Path | None = None,
) -> CooccurrenceFile:
    """Count ``encoded``'s co-occurrences within ``budget``; the shuffled records on disk."""
    folder = Path(tempfile.mkdtemp(prefix="embedlab-glove-", dir=workdir))
    try:
        rows = budget.dense_rows(min(dense_rows, n_rows))
        dense = np.zeros((rows, rows), dtype=np.float32)
        runs: list[tuple[Path, Path, int]] = []
        parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = []
        held = 0
        for s0, s1 in itertools.pairwise(encoded.chunk_starts):
            for ids, bounds in _pieces(encoded, s0, s1, budget.block_tokens(window)):
                room = 2 * window * int(bounds[-1])
                keys = np.empty(room, dtype=np.int64)
                weights = np.empty(room, dtype=np.float32)
                n = GK.count_block(ids, bounds, remap, window, dense, rows, n_rows, keys, weights)
                parts.append(reduce_records(keys[:n], weights[:n]))
                del keys, weights
                held += parts[-1][0].size
                if held > budget.held_records:
                    parts = [reduce_records(*(np.concatenate(x) for x in zip(*parts)))]
                    held = parts[0][0].size
                    if held > budget.held_records // 2:  # reducing no longer shrinks it: spill
                        runs.append(_write_run(folder, len(runs), *parts[0]))
                        parts, held = [], 0
                update(int(bounds[-1]))
        if parts:
            last = reduce_records(*(np.concatenate(x) for x in zip(*parts)))
            runs.append(_write_run(folder, len(runs), *last))
            del last
        parts = []
        merged = folder / "cooccurrence.bin"
        count = _merge(runs, dense, n_rows, merged, budget.io_records)
        del dense
        shuffled = folder / "cooccurrence.shuf.bin"
        _shuffle(merged, shuffled, folder, budget.io_records, rng)
        merged.unlink()
        return CooccurrenceFile(folder, shuffled, count, budget.io_records)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def reduce_records(
    keys: npt.NDArray[np.int64], weights: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Sum the weights of equal keys, sorted by key: ``[5, 2, 5], [1, 1, 2] -> [2, 5], [1, 3]``."""
    if keys.size == 0:
        return keys, weights
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inverse, weights=weights, minlength=uniq.size).astype(np.float32)


def _pieces(
    encoded: Any, s0: int, s1: int, tokens: int
) -> Iterator[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]]:
    """A work item's sentences in pieces of about ``tokens`` tokens (whole sentences)."""
    ids, bounds = encoded.read(s0, s1)
    start = 0
    while start < bounds.size - 1:
        stop = int(np.searchsorted(bounds, bounds[start] + tokens, side="right")) - 1
        stop = max(stop, start + 1)
        yield ids[bounds[start] : bounds[stop]], bounds[start : stop + 1] - bounds[start]
        start = stop


def _write_run(
    folder: Path, n: int, keys: npt.NDArray[np.int64], weights: npt.NDArray[np.float32]
) -> tuple[Path, Path, int]:
    k, w = folder / f"run-{n:05d}.keys", folder / f"run-{n:05d}.weights"
    keys.tofile(k)
    weights.tofile(w)
    return k, w, int(keys.size)


def _merge(
    runs: list[tuple[Path, Path, int]], dense: np.ndarray, n_rows: int, out: Path, slice_: int
) -> int:
    """Write the dense table's non-zeros, then the k-way merge of the sorted runs; the count."""
    written = 0
    step = max(1, slice_ // max(dense.shape[0], 1))  # dense rows per slice
    with open(out, "wb") as f:
        for lo in range(0, dense.shape[0], step):
            block = dense[lo : lo + step]
            r, c = np.nonzero(block)
            rec = np.empty(r.size, dtype=RECORD)
            rec["row"], rec["col"], rec["value"] = r + lo, c, block[r, c]
            rec.tofile(f)
            written += r.size
        each = max(1, slice_ // max(len(runs), 1))
        readers = [r for r in (_RunReader(k, w, n, each) for k, w, n in runs) if not r.done]
        while readers:
            bound = min(r.last for r in readers)
            keys, weights = zip(*(r.take(bound) for r in readers))
            k, w = reduce_records(np.concatenate(keys), np.concatenate(weights))
            rec = np.empty(k.size, dtype=RECORD)
            rec["row"], rec["col"], rec["value"] = k // n_rows, k % n_rows, w
            rec.tofile(f)
            written += k.size
            readers = [r for r in readers if not r.done]
    for key_file, weight_file, _ in runs:
        key_file.unlink()
        weight_file.unlink()
    return written


class _RunReader:
    """A sorted run read a slice at a time: ``take(bound)`` gives (and drops) its keys <= bound."""

    def __init__(self, keys: Path, weights: Path, count: int, slice_: int) -> None:
        self.k, self.w = open(keys, "rb"), open(weights, "rb")  # noqa: SIM115 - closed when done
        self.left, self.slice = count, slice_
        self._fill()
        if self.done:
            self.k.close()
            self.w.close()

    def _fill(self) -> None:
        n = min(self.slice, self.left)
        self.keys = np.fromfile(self.k, dtype=np.int64, count=n)
        self.weights = np.fromfile(self.w, dtype=np.float32, count=n)
        self.left -= n

    @property
    def last(self) -> int:
        return int(self.keys[-1])

    @property
    def done(self) -> bool:
        return self.keys.size == 0

    def take(self, bound: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        cut = int(np.searchsorted(self.keys, bound, side="right"))
        got = self.keys[:cut], self.weights[:cut]
        self.keys, self.weights = self.keys[cut:], self.weights[cut:]
        if self.keys.size == 0:
            self._fill()
            if self.keys.size == 0:
                self.k.close()
                self.w.close()
        return got


def _shuffle(src: Path, dst: Path, folder: Path, block: int, rng: np.random.Generator) -> None:
    """GloVe C's two-pass shuffle: shuffled blocks to temporary files, then slices of all of
    them drawn together, shuffled again and appended."""
    temps = []
    with open(src, "rb") as f:
        for n in itertools.count():
            part = np.fromfile(f, dtype=RECORD, count=block)
            if part.size == 0:
                break
            rng.shuffle(part)
            temps.append(folder / f"shuf-{n:05d}.bin")
            part.tofile(temps[-1])
    sources = [open(t, "rb") for t in temps]  # noqa: SIM115 - closed below
    each = max(1, block // max(len(temps), 1))
    try:
        with open(dst, "wb") as out:
            while sources:
                parts = [np.fromfile(s, dtype=RECORD, count=each) for s in sources]
                mixed = np.concatenate(parts)
                rng.shuffle(mixed)
                mixed.tofile(out)
                for s, p in zip(list(sources), parts):
                    if p.size < each:
                        s.close()
                        sources.remove(s)
    finally:
        for s in sources:
            s.close()
        for t in temps:
            t.unlink(missing_ok=True)
