"""Word-level evaluation data: loaders for the common layouts and the built-in sets.

Word pairs: ``word1 word2 score`` separated by tabs, commas (quoted CSV is fine) or spaces, with or
without a header row, ``#`` comments allowed; a header naming a ``SimLex999``/``score``/``similarity``
column picks that column. Analogies: Google's format (``: section`` lines, then ``a b c d``), or
plain ``a b c d`` rows (one section named after the file).

Built-in (package data): ws353, ws353-sim, ws353-rel, simlex999, mc30, rg65, mturk287 and google
(the 19,544 word2vec analogy questions). Any other name is read as a path. This module computes no
scores.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError
from ..files import open_read

__all__ = [
    "BUILTIN_ANALOGIES",
    "BUILTIN_PAIRS",
    "AnalogySet",
    "WordPairs",
    "load_analogies",
    "load_word_pairs",
]

BUILTIN_PAIRS = {
    "ws353": "ws353.txt",
    "ws353-sim": "ws353-sim.txt",
    "ws353-rel": "ws353-rel.txt",
    "simlex999": "simlex999.txt",
    "mc30": "mc30.txt",
    "rg65": "rg65.txt",
    "mturk287": "mturk287.txt",
}
BUILTIN_ANALOGIES = {"google": "google-analogies.txt.gz"}
_SCORE_NAMES = ("simlex999", "score", "similarity", "sim", "human", "mean", "relatedness")


@dataclass(frozen=True)
class WordPairs:
    """Word pairs with human similarity scores."""

    name: str
    pairs: list[tuple[str, str]]
    scores: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.pairs)


@dataclass(frozen=True)
class AnalogySet:
    """Analogy questions ``a : b :: c : d`` grouped in named sections."""

    name: str
    sections: list[tuple[str, list[tuple[str, str, str, str]]]] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(q) for _, q in self.sections)


def _resolve(name_or_path: str | os.PathLike[str], builtin: dict[str, str]) -> tuple[str, Path]:
    key = os.fspath(name_or_path)
    if key in builtin:
        ref = resources.files("embedlab.evaluate") / "data" / builtin[key]
        return key, Path(str(ref))
    path = Path(key)
    if not path.exists():
        raise ParameterError(
            f"{key!r} is neither a built-in dataset ({', '.join(builtin)}) nor an existing file"
        )
    return path.name, path


def _text_lines(path: Path) -> list[tuple[int, str]]:
    with open_read(path) as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise FormatError(
            path, f"expected UTF-8 text, found byte {data[e.start]:#04x}", line=line
        ) from None
    return [
        (i, ln.strip())
        for i, ln in enumerate(text.splitlines(), 1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]


def _split(line: str) -> list[str]:
    if "\t" in line:
        return [f.strip() for f in line.split("\t")]
    if "," in line:
        return [f.strip() for f in next(csv.reader(io.StringIO(line)))]
    return line.split()


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_word_pairs(
    name_or_path: str | os.PathLike[str], *, score_column: int | None = None
) -> WordPairs:
    """Load a built-in word-similarity set by name, or any file in the layouts above."""
    name, path = _resolve(name_or_path, BUILTIN_PAIRS)
    lines = _text_lines(path)
    column = score_column
    if lines and column is None:
        head = _split(lines[0][1])
        if len(head) >= 3 and not _is_float(head[2]):  # a header row
            lowered = [h.lower().replace("-", "").replace(" ", "") for h in head]
            column = next((lowered.index(n) for n in _SCORE_NAMES if n in lowered), 2)
            lines = lines[1:]
    column = 2 if column is None else column
    pairs: list[tuple[str, str]] = []
    scores: list[float] = []
    for line_no, line in lines:
        fields = _split(line)
        if len(fields) <= max(column, 1):
            raise FormatError(
                path,
                f"expected 'word1 word2 score' ({column + 1}+ columns), found {line[:60]!r}",
                line=line_no,
            )
        try:
            scores.append(float(fields[column]))
        except ValueError:
            raise FormatError(
                path,
                f"expected a number in column {column + 1}, found {fields[column][:30]!r}",
                line=line_no,
            ) from None
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise FormatError(path, "expected word pairs, found none")
    return WordPairs(name, pairs, np.array(scores, dtype=np.float64))


def load_analogies(name_or_path: str | os.PathLike[str]) -> AnalogySet:
    """Load the built-in Google analogies (``"google"``) or any file in the layouts above."""
    name, path = _resolve(name_or_path, BUILTIN_ANALOGIES)
    sections: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    for line_no, line in _text_lines(path):
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
            continue
        fields = _split(line)
        if len(fields) != 4:
            raise FormatError(
                path,
                f"expected 4 words 'a b c d', found {len(fields)}: {line[:60]!r}",
                line=line_no,
            )
        if not sections:
            sections.append((name, []))
        sections[-1][1].append((fields[0], fields[1], fields[2], fields[3]))
    if not any(q for _, q in sections):
        raise FormatError(path, "expected analogy questions, found none")
    return AnalogySet(name, sections)
