"""Unicode normalisation of raw text before tokenization.

``normalize("Ｃａｆé’s\u00a0menu")`` -> ``"Café's menu"``: NFKC folds full-width and compatibility
forms, typographic apostrophes and quotes become ASCII ones, control characters are dropped and
runs of whitespace become one space. It does not lowercase (the tokenizer's job) or strip accents
(accents carry meaning in most languages).
"""

from __future__ import annotations

import unicodedata
from typing import Literal

import regex

from ..errors import check_choice

__all__ = ["NormalForm", "normalize"]

NormalForm = Literal["NFC", "NFKC", "NFD", "NFKD"]
_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "´": "'", "“": '"', "”": '"', "„": '"'})
_CONTROL = regex.compile(r"[\p{Cc}\p{Cf}--[\t\n\r]]", flags=regex.V1)
_SPACES = regex.compile(r"[^\S\n]+")


def normalize(text: str, form: NormalForm | None = "NFKC", *, collapse_spaces: bool = True) -> str:
    """Normalise ``text``: Unicode ``form`` (None to skip), ASCII quotes, no control characters."""
    if form is not None:
        form = check_choice("form", "normalize", form, ("NFC", "NFKC", "NFD", "NFKD"))  # type: ignore[assignment]
        text = unicodedata.normalize(form, text)
    text = _CONTROL.sub("", text.translate(_QUOTES))
    if collapse_spaces:
        text = _SPACES.sub(" ", text)
    return text
