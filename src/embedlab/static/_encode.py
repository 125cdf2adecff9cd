"""Stream a corpus once into an on-disk token-id file, counting words as it goes.

``EncodedCorpus.build(sentences)`` assigns every distinct token a provisional id in order of first
appearance, writes the ids (int32) and sentence boundaries (int64) to a temporary folder, keeps
per-id counts, and notes where each work item of about ``chunk_tokens`` tokens starts. Training
epochs then read the files back one block at a time (:meth:`EncodedCorpus.read`) instead of
re-reading and re-tokenizing text, so memory stays flat whatever the corpus size (the word -> id
dict grows with the vocabulary only). Sentences longer than ``max_sentence_length`` are split, as
gensim does. ``max_vocab_size`` prunes rare words during the scan the way gensim does (their
earlier occurrences are dropped).

This module does not choose the final vocabulary (``Word2Vec`` does, from the counts) or train.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from array import array
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..text import Vocabulary

logger = logging.getLogger(__name__)

_FLUSH = 1 << 20  # tokens buffered before a write


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
        index: dict[str, int] = {}
        words: list[str] = []
        alive: list[bool] = []
        counts = np.zeros(0, dtype=np.int64)
        min_reduce = 1
        n_tokens = n_sentences = 0
        chunk_starts = [0]
        next_cut = chunk_tokens
        buf = array("i")
        bnd = array("q", [0])
        try:
            with (
                open(folder / "ids.i32", "wb") as f_ids,
                open(folder / "bounds.i64", "wb") as f_bnd,
                progress(
                    total=None, desc="scanning corpus", unit="tok", enabled=show_progress
                ) as bar,
            ):
                for sentence in sentences:
                    for k in range(0, len(sentence), max_sentence_length):
                        part = sentence[k : k + max_sentence_length]
                        for tok in part:
                            i = index.get(tok)
                            if i is None:
                                i = index[tok] = len(words)
                                words.append(tok)
                                alive.append(True)
                            buf.append(i)
                        n_tokens += len(part)
                        n_sentences += 1
                        bnd.append(n_tokens)
                        if n_tokens >= next_cut:  # the next sentence opens a new work item
                            chunk_starts.append(n_sentences)
                            next_cut = n_tokens + chunk_tokens
                    too_many = max_vocab_size is not None and len(index) > max_vocab_size
                    if len(buf) >= _FLUSH or too_many:
                        counts = _flush(buf, bnd, f_ids, f_bnd, counts, len(words))
                        bar.update(len(buf))
                        buf, bnd = array("i"), array("q")
                    if too_many and max_vocab_size is not None:
                        min_reduce = _prune(index, counts, alive, min_reduce, max_vocab_size)
                bar.update(len(buf))
                counts = _flush(buf, bnd, f_ids, f_bnd, counts, len(words))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if chunk_starts[-1] != n_sentences:
            chunk_starts.append(n_sentences)
        return cls(folder, words, counts, np.array(alive, dtype=bool), n_tokens, chunk_starts)

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


def _flush(
    buf: array[int],
    bnd: array[int],
    f_ids: IO[bytes],
    f_bnd: IO[bytes],
    counts: npt.NDArray[np.int64],
    n_ids: int,
) -> npt.NDArray[np.int64]:
    """Append buffered ids and boundaries to their files; return the counts grown by them."""
    ids = np.frombuffer(buf, dtype=np.int32) if len(buf) else np.zeros(0, np.int32)
    f_ids.write(ids.tobytes())
    if len(bnd):
        f_bnd.write(np.frombuffer(bnd, dtype=np.int64).tobytes())
    grown = np.zeros(n_ids, dtype=np.int64)
    grown[: counts.shape[0]] = counts
    if ids.size:
        grown += np.bincount(ids, minlength=n_ids)
    return grown


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
