"""`Vocabulary`: word counts from one streaming pass, in frequency order.

``Vocabulary.build([["a", "b", "a"]], min_count=1)`` -> words ``["a", "b"]``, counts ``[2, 1]``.
Ties keep first-seen order (as gensim does). ``keep_probabilities(sample)`` gives word2vec C's
subsampling: a word of count c among T retained tokens is kept with probability
``min(1, (sqrt(c / (sample*T)) + 1) * (sample*T) / c)``. Saved as a two-column TSV, atomically.

This module does not tokenize (``tokenize``) or read files (``corpus``).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .._progress import progress as _progress
from ..errors import FormatError, ParameterError
from ..files import atomic_file, open_read

logger = logging.getLogger(__name__)

__all__ = ["Vocabulary"]


class Vocabulary:
    """Words in frequency order with their counts; ``index`` maps word -> row."""

    def __init__(self, words: Sequence[str], counts: npt.ArrayLike, *, total: int | None = None):
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64)
        if self.counts.shape != (len(self.words),):
            raise ParameterError(f"{len(self.words)} words but counts of shape {self.counts.shape}")
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ParameterError("words must be unique")
        self.total = int(self.counts.sum()) if total is None else int(total)

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        *,
        min_count: int = 5,
        max_size: int | None = None,
        progress: bool | None = None,
    ) -> Vocabulary:
        """Count every token in one pass, then keep words with ``count >= min_count`` (at most
        ``max_size`` of them, the most frequent). ``total`` counts every token seen."""
        if min_count < 1:
            raise ParameterError(
                f"The 'min_count' parameter must be an int in [1, inf). Got {min_count}."
            )
        if max_size is not None and max_size < 1:
            raise ParameterError(
                f"The 'max_size' parameter must be an int in [1, inf) or None. Got {max_size}."
            )
        counter: Counter[str] = Counter()
        total = 0
        with _progress(total=None, desc="counting words", unit="sent", enabled=progress) as bar:
            for n, sentence in enumerate(sentences, 1):
                counter.update(sentence)
                total += len(sentence)
                if n % 10000 == 0:
                    bar.update(10000)
        ranked = sorted(
            ((w, c) for w, c in counter.items() if c >= min_count), key=lambda wc: -wc[1]
        )
        if max_size is not None:
            ranked = ranked[:max_size]
        logger.info(
            "vocabulary: %d of %d distinct words, %d tokens", len(ranked), len(counter), total
        )
        return cls([w for w, _ in ranked], [c for _, c in ranked], total=total)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} words, {self.total} tokens)"

    def encode(self, tokens: Iterable[str]) -> npt.NDArray[np.int32]:
        """Row ids of the known tokens, unknown ones dropped: ``["a", "zz", "b"] -> [0, 1]``."""
        index = self.index
        return np.array([index[t] for t in tokens if t in index], dtype=np.int32)

    def keep_probabilities(self, sample: float = 1e-3) -> npt.NDArray[np.float64]:
        """word2vec C's probability of keeping each word when subsampling frequent words."""
        if sample <= 0:
            return np.ones(len(self), dtype=np.float64)
        threshold = sample * float(self.counts.sum())
        c = self.counts.astype(np.float64)
        return np.minimum(1.0, (np.sqrt(c / threshold) + 1.0) * threshold / c)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``word<TAB>count`` lines under a ``# total=N`` header (atomic)."""
        for w in self.words:
            if "\t" in w or "\n" in w or "\r" in w:
                raise ParameterError(
                    f"word {w!r} holds a tab or newline and cannot be saved as TSV"
                )
        body = "".join(f"{w}\t{c}\n" for w, c in zip(self.words, self.counts.tolist()))
        with atomic_file(Path(path)) as f:
            f.write(f"# total={self.total}\n{body}".encode())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocabulary:
        p = Path(path)
        words: list[str] = []
        counts: list[int] = []
        total = None
        with open_read(p) as f:
            for line_no, raw in enumerate(f, 1):
                try:
                    line = raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    raise FormatError(p, "expected UTF-8 text", line=line_no) from None
                if line_no == 1 and line.startswith("# total="):
                    total = _int(p, line[8:], line_no)
                    continue
                word, sep, count = line.rpartition("\t")
                if not sep:
                    raise FormatError(
                        p, f"expected 'word<TAB>count', found {line[:60]!r}", line=line_no
                    )
                words.append(word)
                counts.append(_int(p, count, line_no))
        return cls(words, counts, total=total)


def _int(path: Path, text: str, line: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise FormatError(path, f"expected an integer, found {text[:40]!r}", line=line) from None
