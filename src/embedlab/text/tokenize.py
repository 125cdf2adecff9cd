"""Word tokenization: a regex tokenizer for alphabetic scripts, jieba for Chinese, one pipeline.

``Tokenizer()("Don't pay $1,000.50 at https://x.com/a?b=1 — state-of-the-art!")`` ->
``["don't", "pay", "1,000.50", "at", "https://x.com/a?b=1", "state-of-the-art"]``.

Text is normalised (NFKC, ASCII quotes), split into Han and non-Han runs (so mixed Chinese/English
tokenizes right), Han runs are segmented by jieba (imported lazily; ``chinese="chars"`` splits per
character without it), the rest by the regex below; then optional lowercasing, stop-word removal and
lemmatization. This module does not read files (``corpus``) or count words (``vocab``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Literal

import regex

from ..errors import check_choice
from ..optional import require
from .normalize import NormalForm, normalize
from .stopwords import stopwords as _stopword_list

logger = logging.getLogger(__name__)

__all__ = ["Tokenizer", "segment_chinese", "word_tokenize"]

_HAN = regex.compile(r"[\p{Han}\u3007]+")
# Every alternative is linear from where it starts, and the e-mail parts are bounded as RFC 5321
# bounds them (a local part of at most 64 characters, labels of at most 63): an unbounded
# ``[\w.+-]+@`` rescans the rest of a run like "a.a.a.a..." from every position (quadratic).
_TOKEN = regex.compile(
    r"""
    (?P<url>(?:https?://|www\.)[^\s<>"]+[^\s<>".,;:!?)\]}'])
  | (?P<email>(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}(?![\w-]))
  | (?P<number>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?%?)
  | (?P<word>[\p{L}\p{M}][\p{L}\p{M}\p{N}]*(?:['\-_][\p{L}\p{M}\p{N}]+)*)
  | (?P<punct>[^\s\p{L}\p{N}])
    """,
    regex.VERBOSE,
)


def word_tokenize(text: str, *, keep_punct: bool = False) -> list[str]:
    """Regex tokens of non-Han text: URLs, e-mails, numbers, words with inner hyphens/apostrophes."""
    if keep_punct:
        return [m.group() for m in _TOKEN.finditer(text)]
    return [m.group() for m in _TOKEN.finditer(text) if m.lastgroup != "punct"]


_JIEBA: Callable[[str], list[str]] | None = None


def segment_chinese(text: str) -> list[str]:
    """Segment a run of Chinese characters into words with jieba (loaded once, quietly)."""
    global _JIEBA
    if _JIEBA is None:
        jieba = require("jieba", "zh", "segmenting Chinese", instead="pass chinese='chars'")
        jieba.setLogLevel(logging.WARNING)
        _JIEBA = jieba.lcut
    return _JIEBA(text)


class Tokenizer:
    """A configurable text -> tokens pipeline; call it on a string.

    Parameters: ``lowercase``; ``normalize`` (a Unicode form or None); ``chinese`` ("jieba" words,
    "chars" characters); ``stopwords`` ("en", "zh", "en+zh", any set of words, or None);
    ``lemmatize`` (a simplemma language code such as "en", or None); ``keep_punct``;
    ``min_length`` (drop shorter tokens).
    """

    def __init__(
        self,
        *,
        lowercase: bool = True,
        normalize: NormalForm | None = "NFKC",
        chinese: Literal["jieba", "chars"] = "jieba",
        stopwords: str | Iterable[str] | None = None,
        lemmatize: str | None = None,
        keep_punct: bool = False,
        min_length: int = 1,
    ) -> None:
        self.lowercase = lowercase
        self.normalize = normalize
        self.chinese = check_choice("chinese", "Tokenizer", chinese, ("jieba", "chars"))
        self.stopwords = stopwords
        self.lemmatize = lemmatize
        self.keep_punct = keep_punct
        self.min_length = min_length
        self._stop: frozenset[str] = frozenset()
        if isinstance(stopwords, str):
            self._stop = frozenset().union(*(_stopword_list(s) for s in stopwords.split("+")))
        elif stopwords is not None:
            self._stop = frozenset(stopwords)
        self._lemmatizer: Callable[[list[str]], list[str]] | None = None
        if lemmatize is not None:
            from .lemmatize import Lemmatizer

            self._lemmatizer = Lemmatizer(lemmatize)

    def options(self) -> dict[str, Any]:
        """The constructor arguments as JSON-ready data: ``Tokenizer(**t.options())`` equals ``t``."""
        stop = self.stopwords
        return {
            "lowercase": self.lowercase,
            "normalize": self.normalize,
            "chinese": self.chinese,
            "stopwords": stop if stop is None or isinstance(stop, str) else sorted(stop),
            "lemmatize": self.lemmatize,
            "keep_punct": self.keep_punct,
            "min_length": self.min_length,
        }

    def __repr__(self) -> str:
        return (
            f"Tokenizer(lowercase={self.lowercase}, normalize={self.normalize!r}, "
            f"chinese={self.chinese!r}, stopwords={self.stopwords!r}, lemmatize={self.lemmatize!r})"
        )

    def __call__(self, text: str) -> list[str]:
        if self.normalize is not None:
            text = normalize(text, self.normalize)
        tokens: list[str] = []
        pos = 0
        for m in _HAN.finditer(text):
            if m.start() > pos:
                tokens.extend(word_tokenize(text[pos : m.start()], keep_punct=self.keep_punct))
            run = m.group()
            tokens.extend(segment_chinese(run) if self.chinese == "jieba" else list(run))
            pos = m.end()
        if pos < len(text):
            tokens.extend(word_tokenize(text[pos:], keep_punct=self.keep_punct))
        if self.lowercase:
            tokens = [t.lower() for t in tokens]
        if self._lemmatizer is not None:
            tokens = self._lemmatizer(tokens)
        if self._stop:
            tokens = [t for t in tokens if t not in self._stop]
        if self.min_length > 1:
            tokens = [t for t in tokens if len(t) >= self.min_length]
        return tokens
