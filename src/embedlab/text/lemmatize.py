"""Lemmatization through simplemma (pure Python, about 50 languages, maintained).

``Lemmatizer("en")(["mice", "running"]) -> ["mouse", "run"]``. simplemma is imported on first use;
its tables load lazily per language. This module does not tokenize.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

from ..errors import ParameterError
from ..optional import require

logger = logging.getLogger(__name__)

__all__ = ["Lemmatizer"]


class Lemmatizer:
    """Map tokens to lemmas in ``lang`` (ISO 639-1, e.g. "en", "fr", "de"); unknown tokens pass."""

    def __init__(self, lang: str = "en", *, cache_size: int = 1 << 16) -> None:
        # a core dependency, but a broken install is told how to fix it
        simplemma = require("simplemma", None, "lemmatization")
        if not _supported(lang):
            raise ParameterError(
                f"The 'lang' parameter of Lemmatizer must be a language simplemma "
                f"supports (e.g. 'en', 'fr'). Got {lang!r} instead."
            )
        self.lang = lang
        self._one = lru_cache(maxsize=cache_size)(lambda tok: simplemma.lemmatize(tok, lang=lang))

    def __call__(self, tokens: Sequence[str]) -> list[str]:
        return [self._one(t) for t in tokens]


def _supported(lang: str) -> bool:
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    return lang in SUPPORTED_LANGUAGES
