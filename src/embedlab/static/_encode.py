"""Stream a corpus once into an on-disk token-id file, counting words as it goes.

``EncodedCorpus.build(sentences)`` assigns every distinct token a provisional id in order of first
appearance, writes the ids (int32) and sentence boundaries (int64) to a temporary folder, keeps
per-id counts, and notes where each work item of about ``chunk_tokens`` tokens starts. Training
epochs then read the files back one block at a time (:meth:`EncodedCorpus.read`) instead of
re-reading and re-tokenizing text, so memory stays flat whatever the corpus size (the word -> id
dict grows with the vocabulary only). Sentences longer than ``max_sentence_length`` are split, as
gensim does. ``max_vocab_size`` prunes rare words during the scan the way gensim does (their
earlier occurrences are dropped). A :class:`~embedlab.text.Corpus` of pre-tokenized lines
(``tokenizer=str.split``) is scanned by compiled code (``_bytescan``), to the same ids.

This module does not choose the final vocabulary (``Word2Vec`` does, from the counts) or train.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..text import Corpus, Vocabulary
from ._bytescan import ByteVocab, compiles

logger = logging.getLogger(__name__)

_FLUSH = 1 << 20  # tokens buffered before a write
_BATCH = 256  # sentences looked up at once


class EncodedCorpus:
    """Token ids and sentence boundaries of a corpus, kept on disk in a temporary folder."""

    def __init__(
        self,
        folder: Path,
        words: list[str],
        counts: npt.NDArray[np.int64],
        alive: npt.NDArray[np.bool_],
        n_tokens: int,
        chunk_starts: list[int],
    ) -> None:
        self.folder = folder
        self.words = words
        self.counts = counts
        self.alive = alive  # False for ids pruned by max_vocab_size
        self.n_tokens = n_tokens
        self.n_sentences = chunk_starts[-1]
        self.chunk_starts = chunk_starts  # first sentence of each work item, then n_sentences
        self._ids = open(folder / "ids.i32", "rb")  # noqa: SIM115 - closed by close()
        self._bounds = open(folder / "bounds.i64", "rb")  # noqa: SIM115

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        *,
        max_sentence_length: int = 10_000,
        max_vocab_size: int | None = None,
        chunk_tokens: int = 10_000,
        workdir: str | Path | None = None,
        show_progress: bool | None = None,
    ) -> EncodedCorpus:
        folder = Path(tempfile.mkdtemp(prefix="embedlab-corpus-", dir=workdir))
        scan = _Scan(chunk_tokens)
        # sentences go through in batches so the per-token work runs in C (a dict lookup by
        # map, one array conversion); with max_vocab_size one at a time, so pruning sees every
        # sentence as gensim's does
        size = 1 if max_vocab_size is not None else _BATCH
        min_reduce = 1
        try:
            with (
                open(folder / "ids.i32", "wb") as f_ids,
                open(folder / "bounds.i64", "wb") as f_bnd,
                progress(
                    total=None, desc="scanning corpus", unit="tok", enabled=show_progress
                ) as bar,
            ):
                f_bnd.write(np.zeros(1, np.int64).tobytes())  # the first sentence starts at 0
                # pre-tokenized lines: the compiled scan (max_vocab_size prunes per sentence)
                if (
                    isinstance(sentences, Corpus)
                    and sentences.whitespace_lines
                    and max_vocab_size is None
                ):
                    _scan_lines(scan, sentences, max_sentence_length, f_ids, f_bnd, bar)
                else:
                    for batch in _batches(sentences, max_sentence_length, size):
                        scan.add(batch)
                        if scan.buffered >= _FLUSH or max_vocab_size is not None:
                            bar.update(scan.flush(f_ids, f_bnd))
                        if max_vocab_size is not None and len(scan.index) > max_vocab_size:
                            min_reduce = _prune(
                                scan.index, scan.counts, scan.alive, min_reduce, max_vocab_size
                            )
                bar.update(scan.flush(f_ids, f_bnd))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        chunk_starts = scan.chunk_starts
        if chunk_starts[-1] != scan.n_sentences:
            chunk_starts.append(scan.n_sentences)
        return cls(
            folder,
            scan.words,
            scan.counts,
            np.array(scan.alive, dtype=bool),
            scan.n_tokens,
            chunk_starts,
        )

    def read(self, s_begin: int, s_end: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """Token ids and sentence boundaries (rebased to 0) of sentences ``[s_begin, s_end)``,
        read from disk: only one block is ever in memory."""
        self._bounds.seek(8 * s_begin)
        bounds = np.fromfile(self._bounds, dtype=np.int64, count=s_end - s_begin + 1)
        self._ids.seek(4 * int(bounds[0]))
        ids = np.fromfile(self._ids, dtype=np.int32, count=int(bounds[-1] - bounds[0]))
        return ids, bounds - bounds[0]

    def close(self) -> None:
        """Close and delete the temporary files."""
        self._ids.close()
        self._bounds.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> EncodedCorpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _batches(
    sentences: Iterable[Sequence[str]], max_length: int, size: int
) -> Iterator[list[Sequence[str]]]:
    """Lists of ``size`` non-empty sentences, longer ones cut every ``max_length`` tokens."""
    batch: list[Sequence[str]] = []
    for sentence in sentences:
        if len(sentence) > max_length:
            batch.extend(sentence[k : k + max_length] for k in range(0, len(sentence), max_length))
        elif sentence:
            batch.append(sentence)
        else:
            continue
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _scan_lines(
    scan: _Scan,
    corpus: Corpus,
    max_length: int,
    f_ids: IO[bytes],
    f_bnd: IO[bytes],
    bar: Any,
) -> None:
    """Scan a corpus of pre-tokenized lines by the compiled scanner (``_bytescan``): the same
    words, ids and sentences as ``scan.add`` of its token lists. Not with ``max_vocab_size``,
    whose pruning goes sentence by sentence."""
    if compiles():
        logger.info(
            "compiling the corpus scanner (first run after an install, a few seconds); later "
            "runs load it from numba's cache"
        )
        bar.set_description("scanning corpus: compiling (first run only)")
    vocab = ByteVocab()
    for block in corpus.line_blocks():
        ids, lengths = vocab.scan(block)
        new = vocab.words[len(scan.words) :]
        scan.words.extend(new)
        scan.alive.extend([True] * len(new))
        scan.take(ids, _cut(lengths, max_length))
        if scan.buffered >= _FLUSH:
            bar.update(scan.flush(f_ids, f_bnd))


def _cut(lengths: npt.NDArray[np.int64], max_length: int) -> npt.NDArray[np.int64]:
    """Sentence lengths with each longer than ``max_length`` cut into pieces as ``_batches``
    cuts the sentences: ``[7], 3 -> [3, 3, 1]``."""
    if not lengths.size or lengths.max() <= max_length:
        return lengths
    pieces: list[int] = []
    for n in lengths.tolist():
        full, rest = divmod(n, max_length)
        pieces.extend([max_length] * full)
        if rest:
            pieces.append(rest)
    return np.array(pieces, dtype=np.int64)


class _Ids(dict[str, int]):
    """word -> provisional id; a word not in it gets the next id, in order of first appearance."""

    def __init__(self, words: list[str], alive: list[bool]) -> None:
        super().__init__()
        self.words = words
        self.alive = alive

    def __missing__(self, word: str) -> int:
        i = self[word] = len(self.words)
        self.words.append(word)
        self.alive.append(True)
        return i


class _Scan:
    """The scan's state: the word -> provisional id dict, counts, and the ids and sentence ends
    buffered until the next :meth:`flush`."""

    def __init__(self, chunk_tokens: int) -> None:
        self.words: list[str] = []
        self.alive: list[bool] = []
        self.index = _Ids(self.words, self.alive)
        self.counts = np.zeros(0, dtype=np.int64)
        self.chunk_tokens = chunk_tokens
        self.chunk_starts = [0]  # first sentence of each work item
        self.next_cut = chunk_tokens
        self.n_tokens = 0
        self.n_sentences = 0
        self.buffered = 0
        self._ids: list[npt.NDArray[np.int32]] = []
        self._ends: list[npt.NDArray[np.int64]] = []

    def add(self, batch: list[Sequence[str]]) -> None:
        """Number the tokens of a batch of sentences and buffer them."""
        lengths = np.fromiter(map(len, batch), np.int64, len(batch))
        n = int(lengths.sum())
        # one C loop: dict lookups (a new word's id given by _Ids.__missing__) straight into int32
        self.take(
            np.fromiter(map(self.index.__getitem__, chain.from_iterable(batch)), np.int32, n),
            lengths,
        )

    def take(self, ids: npt.NDArray[np.int32], lengths: npt.NDArray[np.int64]) -> None:
        """Buffer the ids of sentences of ``lengths`` tokens (none empty)."""
        ends = self.n_tokens + np.cumsum(lengths)
        n = ids.shape[0]
        # a work item ends after the sentence that reaches its quota of tokens
        while ends.size and ends[-1] >= self.next_cut:
            k = int(np.searchsorted(ends, self.next_cut))
            self.chunk_starts.append(self.n_sentences + k + 1)
            self.next_cut = int(ends[k]) + self.chunk_tokens
        self._ids.append(ids)
        self._ends.append(ends)
        self.n_tokens += n
        self.n_sentences += lengths.shape[0]
        self.buffered += n

    def flush(self, f_ids: IO[bytes], f_bnd: IO[bytes]) -> int:
        """Append the buffered ids and sentence ends to their files, count them; how many ids."""
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, np.int32)
        f_ids.write(ids.tobytes())
        for ends in self._ends:
            f_bnd.write(ends.tobytes())
        grown = np.zeros(len(self.words), dtype=np.int64)
        grown[: self.counts.shape[0]] = self.counts
        if ids.size:
            grown += np.bincount(ids, minlength=len(self.words))
        self.counts = grown
        self._ids, self._ends = [], []
        done, self.buffered = self.buffered, 0
        return done


def _prune(
    index: dict[str, int],
    counts: npt.NDArray[np.int64],
    alive: list[bool],
    min_reduce: int,
    max_size: int,
) -> int:
    """gensim's prune_vocab: drop words seen fewer than ``min_reduce`` times, raising the bar until
    the dictionary fits."""
    while len(index) > max_size:
        doomed = [w for w, i in index.items() if counts[i] < min_reduce]
        for w in doomed:
            alive[index.pop(w)] = False
        logger.info("pruned %d words seen fewer than %d times", len(doomed), min_reduce)
        min_reduce += 1
    return min_reduce


def select_vocabulary(
    encoded: EncodedCorpus, min_count: int
) -> tuple[Vocabulary, npt.NDArray[np.int32]]:
    """Words seen at least ``min_count`` times, most frequent first (ties: first seen first), and
    the map from provisional ids to vocabulary rows (-1 = dropped)."""
    from ..errors import ParameterError

    if encoded.n_tokens == 0:
        raise ParameterError("the corpus is empty: no tokens to train on.")
    ok = encoded.alive & (encoded.counts >= min_count)
    ids = np.nonzero(ok)[0]
    if ids.size == 0:
        raise ParameterError(
            f"no word of the corpus occurs at least min_count={min_count} times "
            f"({encoded.n_tokens} tokens, {len(encoded.words)} distinct); lower min_count or "
            "give more text."
        )
    order = ids[np.argsort(-encoded.counts[ids], kind="stable")]
    remap = np.full(len(encoded.words), -1, dtype=np.int32)
    remap[order] = np.arange(order.size, dtype=np.int32)
    vocab = Vocabulary(
        [encoded.words[i] for i in order], encoded.counts[order], total=encoded.n_tokens
    )
    logger.info(
        "vocabulary: %d words (min_count=%d) of %d distinct, %d tokens",
        len(vocab),
        min_count,
        len(encoded.words),
        encoded.n_tokens,
    )
    return vocab, remap
