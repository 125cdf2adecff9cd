"""Streaming corpus readers: sentences of tokens, never the whole corpus in memory.

``Corpus("books/", format="text")`` iterates token lists, once per ``iter()`` call, so trainers can
make several passes. Sources: a file (plain, ``.gz``, ``.bz2``) or a folder (every non-hidden file
under it, sorted). Layouts: ``"lines"`` (one sentence per line), ``"text"`` (free text: paragraphs
split at blank lines, then into sentences at . ! ? and their CJK forms), ``"jsonl"`` (one JSON
object per line; ``field`` names the text, dotted for nesting: ``"meta.body"``).

A line that is not valid in ``encoding`` or not valid JSON raises :class:`FormatError` naming the
file and line (``encoding_errors="replace"``/``"ignore"`` to read on). This module does not count
words (``vocab``).
"""

from __future__ import annotations

import codecs
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import regex

from .._progress import progress
from ..errors import FormatError, check_choice
from ..files import open_read
from .tokenize import Tokenizer

logger = logging.getLogger(__name__)

__all__ = ["Corpus", "CorpusFormat", "split_sentences"]

CorpusFormat = Literal["lines", "text", "jsonl"]
_SENTENCE_END = regex.compile(r"(?<=[.!?])\s+(?=[\p{Lu}\p{Lo}\p{N}\"'(\[])|(?<=[。！？；])")
_MAX_PARAGRAPH = 1 << 20  # characters buffered before a paragraph is flushed anyway


def split_sentences(paragraph: str) -> list[str]:
    """``"It rained. We left! 他来了。好" -> ["It rained.", "We left!", "他来了。", "好"]``."""
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


class Corpus:
    """A re-iterable stream of tokenized sentences from files on disk."""

    def __init__(
        self,
        source: str | os.PathLike[str] | list[str | os.PathLike[str]],
        *,
        format: CorpusFormat = "lines",
        field: str = "text",
        tokenizer: Callable[[str], list[str]] | None = None,
        encoding: str = "utf-8",
        encoding_errors: Literal["strict", "replace", "ignore"] = "strict",
        progress: bool | None = None,
    ) -> None:
        sources = source if isinstance(source, list) else [source]
        self.paths = _expand([Path(s) for s in sources])
        self.format = check_choice("format", "Corpus", format, ("lines", "text", "jsonl"))
        self.field = field
        self.tokenizer = tokenizer if tokenizer is not None else Tokenizer()
        self.encoding = encoding
        self.encoding_errors = check_choice(
            "encoding_errors", "Corpus", encoding_errors, ("strict", "replace", "ignore")
        )
        self.progress = progress

    def __repr__(self) -> str:
        return f"Corpus({len(self.paths)} file(s), format={self.format!r})"

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.paths)

    def __iter__(self) -> Iterator[list[str]]:
        for text in self.texts():
            tokens = self.tokenizer(text)
            if tokens:
                yield tokens

    def texts(self) -> Iterator[str]:
        """The raw sentences (or JSONL texts) before tokenization."""
        with progress(
            total=self.total_bytes, desc="reading corpus", unit="B", enabled=self.progress
        ) as bar:
            for path in self.paths:
                lines = self._lines(path, bar)
                if self.format == "lines":
                    yield from (text for _, text in lines if text.strip())
                elif self.format == "jsonl":
                    yield from self._jsonl(path, lines)
                else:
                    yield from self._free_text(lines)

    @property
    def whitespace_lines(self) -> bool:
        """True when a sentence is one line split on whitespace (``tokenizer=str.split``, the
        layout word2vec C, fastText and gensim's ``corpus_file`` read) of strict UTF-8: a reader
        may then tokenize the raw bytes of :meth:`line_blocks` itself, to the same tokens."""
        return (
            self.format == "lines"
            and self.tokenizer is str.split
            and self.encoding_errors == "strict"
            and codecs.lookup(self.encoding).name == "utf-8"
        )

    def line_blocks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """The files' bytes in blocks of about ``size`` that end at a line's end (a file's last
        line gets its missing newline), each checked as UTF-8 text: a bad byte raises the same
        :class:`FormatError`, naming file and line, as iterating the corpus does."""
        with progress(
            total=self.total_bytes, desc="reading corpus", unit="B", enabled=self.progress
        ) as bar:
            for path in self.paths:
                line_no = 1  # the first line of the next block
                rest = b""
                with open_read(path) as f:
                    while True:
                        data = f.read(size)
                        bar.update(len(data))
                        if not data:
                            break
                        data = rest + data
                        cut = data.rfind(b"\n") + 1
                        rest = data[cut:]
                        if cut:
                            yield self._checked(path, data[:cut], line_no)
                            line_no += data.count(b"\n", 0, cut)
                if rest:
                    yield self._checked(path, rest + b"\n", line_no)

    def _checked(self, path: Path, block: bytes, line_no: int) -> bytes:
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as e:
            line = line_no + block.count(b"\n", 0, e.start)
            raise self._bad_byte(path, block[e.start], line) from None
        return block

    def _bad_byte(self, path: Path, byte: int, line: int) -> FormatError:
        return FormatError(
            path,
            f"expected {self.encoding} text, found byte {byte:#04x} "
            "(pass encoding_errors='replace' or 'ignore' to read on)",
            line=line,
        )

    def _lines(self, path: Path, bar: Any) -> Iterator[tuple[int, str]]:
        done = 0
        with open_read(path) as f:
            for line_no, raw in enumerate(f, 1):
                done += len(raw)
                if done > 1 << 20:
                    bar.update(done)
                    done = 0
                try:
                    yield line_no, raw.decode(self.encoding, self.encoding_errors)
                except UnicodeDecodeError as e:
                    raise self._bad_byte(path, raw[e.start], line_no) from None
        bar.update(done)

    def _jsonl(self, path: Path, lines: Iterator[tuple[int, str]]) -> Iterator[str]:
        for line_no, text in lines:
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                raise FormatError(path, f"expected a JSON object: {e.msg}", line=line_no) from None
            for part in self.field.split("."):
                if not isinstance(obj, dict) or part not in obj:
                    raise FormatError(path, f"expected a field {self.field!r}", line=line_no)
                obj = obj[part]
            if obj is None:
                continue
            if not isinstance(obj, str):
                raise FormatError(
                    path,
                    f"expected field {self.field!r} to be a string, found {type(obj).__name__}",
                    line=line_no,
                )
            yield obj

    @staticmethod
    def _free_text(lines: Iterator[tuple[int, str]]) -> Iterator[str]:
        buf: list[str] = []
        size = 0
        for _, text in lines:
            stripped = text.strip()
            if stripped:
                buf.append(stripped)
                size += len(stripped)
            if (not stripped or size > _MAX_PARAGRAPH) and buf:
                yield from split_sentences(" ".join(buf))
                buf, size = [], 0
        if buf:
            yield from split_sentences(" ".join(buf))


def _expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                f
                for f in sorted(p.rglob("*"))
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"No such file or folder: '{p}'")
    return out
