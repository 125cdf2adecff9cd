"""Quantized answers of ``/v1/embeddings``: ``encoding_format`` int8, uint8, binary or ubinary.

Why calibrate once per model: an 8-bit code is a bucket of its dimension's range, and a range
taken from the request's own few texts (what ``quantize_embeddings`` does without calibration
data) would give the same text different codes in different requests. Each served model's ranges
are therefore measured once, on the first quantized request, from a fixed set of texts shipped
with embedlab (the FAQ sample's questions and answers and lines of the Gutenberg sample), and
every later request uses them; they are returned with the answer (``quantization.ranges``) so a
client can turn codes back into floats. Binary codes need no ranges: signs packed eight to a byte,
as sentence-transformers packs them (``binary`` is the byte minus 128, ``ubinary`` the byte).
This module does not route requests.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..records import read_columns
from ..rows import byte_codes, sign_codes

__all__ = ["FORMATS", "calibration_texts", "quantized_rows", "ranges_of"]

FORMATS = ("int8", "uint8", "binary", "ubinary")


@functools.cache
def calibration_texts() -> tuple[str, ...]:
    """The fixed texts every served model's int8 ranges are measured on (about 500)."""
    data = Path(str(resources.files("embedlab") / "data"))
    faq = read_columns(data / "faq_sample.csv", {"q": "question", "a": "answer"})
    texts = [str(t) for t in faq["q"] + faq["a"]]
    with gzip.open(data / "gutenberg_sample.txt.gz", "rt", encoding="utf-8") as f:
        lines = [line.strip() for _, line in zip(range(20_000), f)]
    texts += [line for line in lines[500:] if len(line) > 60][::20][:450]
    return tuple(texts)


def ranges_of(calibration: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Each dimension's ``[min, max]`` over the calibration rows, ``(2, dim)``."""
    return np.stack([calibration.min(axis=0), calibration.max(axis=0)]).astype(np.float32)


def quantized_rows(
    vectors: npt.NDArray[np.float32], fmt: str, ranges: npt.NDArray[np.float32] | None
) -> list[list[int]]:
    """The rows as JSON-ready lists of ints in ``fmt`` (``ranges`` needed for int8 / uint8)."""
    codes: Any
    if fmt in ("int8", "uint8"):
        assert ranges is not None
        codes = byte_codes(vectors, ranges, signed=fmt == "int8")
    else:
        codes = sign_codes(vectors, signed=fmt == "binary")
    return [[int(x) for x in row] for row in codes]
