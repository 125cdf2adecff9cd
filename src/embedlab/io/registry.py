"""Pick a format by suffix and content, and route loads and saves to the right module.

Detection order: a folder is native (``header.json``), a projector export (``metadata.tsv``), a
Keras export (``vocab.txt``) or a spaCy pipeline or vocab (``vocab/vectors``, read-only); a file
starting with fastText's magic is a fastText ``.bin``; a file whose first line is ``ROWS DIM`` is
word2vec binary when named ``.bin`` or when its next line is not a ``key float ...`` row, else
word2vec text (``.vec``: fastText text); anything else is GloVe text. ``.gz``/``.bz2`` are looked
through.

Every reader's failure surfaces as :class:`FormatError` (any other exception raised while parsing is
wrapped, with the cause kept), except a missing path, which stays ``FileNotFoundError``.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from ..errors import FormatError, ParameterError, check_choice
from ..files import inner_suffix, open_read, readable_dir
from ..subword import SubwordVectors
from ..vectors import Vectors
from . import binary, exports, fasttext_bin, native, spacy, text

logger = logging.getLogger(__name__)

FormatName = Literal[
    "word2vec",
    "word2vec-binary",
    "glove",
    "fasttext-vec",
    "fasttext-bin",
    "native",
    "projector",
    "keras",
    "spacy",
]
FORMATS: tuple[str, ...] = get_args(FormatName)
WRITABLE: tuple[str, ...] = (
    "word2vec",
    "word2vec-binary",
    "glove",
    "fasttext-vec",
    "native",
    "projector",
    "keras",
)


def detect_format(path: str | os.PathLike[str]) -> FormatName:
    """Name the format of an existing file or folder from its suffix and first bytes."""
    p = Path(path)
    if p.is_dir():
        if (p / native.HEADER).exists():
            return "native"
        if (p / "metadata.tsv").exists():
            return "projector"
        if (p / "vocab.txt").exists():
            return "keras"
        if spacy.find_vocab(p) is not None:
            return "spacy"
        raise FormatError(
            p,
            "expected a native, projector or Keras folder (or a spaCy vocab); found none of "
            f"{native.HEADER}, metadata.tsv, vocab.txt, vocab/vectors",
        )
    if not p.exists():
        raise FileNotFoundError(f"No such file or folder: '{p}'")
    try:
        with open_read(p) as f:
            head = f.read(4096)
    except (OSError, EOFError) as e:
        raise FormatError(p, f"could not be read: {e}") from e
    if len(head) >= 4 and struct.unpack("<i", head[:4])[0] == fasttext_bin.MAGIC:
        return "fasttext-bin"
    first, _, rest = head.partition(b"\n")
    header = text.parse_header(first)
    suffix = inner_suffix(p)
    if header is not None:
        if suffix == ".bin":
            return "word2vec-binary"
        if suffix in (".txt", ".vec"):
            return "fasttext-vec" if suffix == ".vec" else "word2vec"
        return "word2vec" if _looks_like_text_row(rest, header[1]) else "word2vec-binary"
    if suffix == ".bin":
        return "word2vec-binary"
    return "glove"


def _looks_like_text_row(data: bytes, dim: int) -> bool:
    """True when ``data`` starts with a ``key f1 ... f_dim`` text line."""
    line = data.split(b"\n", 1)[0]
    if len(line) >= 4000 and b"\n" not in data:
        return True  # a very long text row cut by the sniffing window
    fields = line.split()
    try:
        [float(x) for x in fields[1:]]
    except ValueError:
        return False
    return len(fields) == dim + 1


def format_for_save(path: Path) -> FormatName:
    """Format implied by a target path's suffix (no suffix or ``.embedlab``: native)."""
    suffix = inner_suffix(path)
    by_suffix: dict[str, FormatName] = {
        ".bin": "word2vec-binary",
        ".txt": "word2vec",
        ".vec": "fasttext-vec",
        "": "native",
        ".embedlab": "native",
    }
    if suffix not in by_suffix:
        raise ParameterError(
            f"cannot tell the format from the suffix {suffix!r} of {path}; pass format= one of "
            f"{', '.join(WRITABLE)}"
        )
    return by_suffix[suffix]


def load_vectors(
    path: str | os.PathLike[str],
    format: FormatName | None = None,
    *,
    limit: int | None = None,
    encoding: str = "utf-8",
    encoding_errors: Literal["strict", "replace", "ignore"] = "strict",
    mmap: bool = True,
    progress: bool | None = None,
    strict: bool = False,
) -> Vectors:
    """Open vectors in any supported format (detected when ``format`` is None).

    ``limit`` reads only the first N rows (for a fastText ``.bin``, later words are then treated
    as out-of-vocabulary words: they still get n-gram vectors). ``encoding_errors`` decides what a
    key that is not valid in ``encoding`` does: ``"strict"`` raises :class:`FormatError` naming
    the line, ``"replace"`` puts U+FFFD in, ``"ignore"`` drops the bad bytes. ``mmap`` maps
    native files (and uncompressed fastText ``.bin`` matrices) instead of reading them.
    ``progress`` shows a bar (None: when stderr is a terminal). NaN or infinite values (``1e999``
    in a text file) are logged as a warning, or refused with ``strict``.
    """
    p = readable_dir(Path(path))  # a folder whose replacement was interrupted: its old copy
    if not p.exists():
        raise FileNotFoundError(f"No such file or folder: '{p}'")
    if format is not None:
        check_choice("format", "load_vectors", format, FORMATS)
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ParameterError(
            f"The 'limit' parameter must be an int in [0, inf) or None. Got {limit!r}."
        )
    fmt = format or "a vectors file"
    try:
        fmt = detect_format(p) if format is None else format
        vectors = _read(p, fmt, limit, encoding, encoding_errors, mmap, progress)
    except (FormatError, ParameterError, KeyboardInterrupt):
        raise
    except FileNotFoundError as e:  # a part of a folder format is missing
        raise FormatError(p, f"incomplete {fmt} folder: {e.filename or e} is missing") from e
    except MemoryError as e:  # a reader trusted a size it should have checked: still bad input
        raise FormatError(p, f"declares more data than fits in memory as {fmt}") from e
    except Exception as e:  # any other failure on arbitrary bytes is still a format error
        raise FormatError(p, f"could not be read as {fmt}: {type(e).__name__}: {e}") from e
    _check_finite(p, vectors, fmt, strict=strict)
    return vectors


def _check_finite(p: Path, vectors: Vectors, fmt: str, *, strict: bool) -> None:
    """NaN and infinite values (``1e999`` in a text file) are refused with ``strict``, else
    logged as a warning. Mapped native files are only scanned with ``strict`` (a scan reads all)."""
    if fmt == "native" and not strict:
        return
    bad = int(np.count_nonzero(~np.isfinite(vectors.vectors)))
    if isinstance(vectors, SubwordVectors):
        bad += int(np.count_nonzero(~np.isfinite(vectors.ngram_vectors)))
    if not bad:
        return
    rows = np.flatnonzero(~np.isfinite(vectors.vectors).all(axis=1))
    first = repr(vectors.index_to_key[int(rows[0])]) if len(rows) else "an n-gram row"
    message = f"{bad} values are NaN or infinite (first in the row of {first})"
    if strict:
        raise FormatError(p, message + "; load without strict to accept them")
    logger.warning("%s: %s", p, message)


def _read(
    p: Path, fmt: str, limit: int | None, encoding: str, errors: str, mmap: bool, show: bool | None
) -> Vectors:
    kw: dict[str, Any] = {"limit": limit, "encoding": encoding, "encoding_errors": errors}
    if fmt in ("word2vec", "fasttext-vec", "glove"):
        return text.read_text(p, header=fmt != "glove", show_progress=show, **kw)
    if fmt == "word2vec-binary":
        return binary.read_binary(p, show_progress=show, **kw)
    if fmt == "fasttext-bin":
        return fasttext_bin.read_fasttext_bin(p, mmap_mode=mmap, show_progress=show, **kw)
    if not p.is_dir():
        raise FormatError(p, f"expected a folder for the {fmt} format, found a file")
    if fmt == "native":
        return native.read_native(p, limit=limit, mmap_mode=mmap)
    if fmt == "spacy":
        return spacy.read_spacy(p, limit=limit)
    if fmt == "projector":
        return exports.read_projector(p, limit=limit, encoding_errors=errors)
    return exports.read_keras(p, limit=limit, encoding_errors=errors)


def save_vectors(
    vectors: Vectors,
    path: str | os.PathLike[str],
    format: FormatName | None = None,
    *,
    progress: bool | None = None,
    **options: Any,
) -> Path:
    """Write ``vectors`` atomically; the format comes from ``format`` or the suffix.

    Options: ``precision`` (significant digits, text formats; default exact float32),
    ``storage`` ("safetensors" | "npy"), ``dtype`` ("float32" | "float16", or the compressed
    "int8" | "binary") and ``extra`` (named arrays kept beside the vectors) for native,
    ``limit`` for projector. Returns the path written.
    """
    p = Path(path)
    fmt = (
        format_for_save(p)
        if format is None
        else check_choice("format", "save_vectors", format, FORMATS)
    )
    if fmt not in WRITABLE:
        raise ParameterError(
            f"{fmt} files cannot be written; choose one of {', '.join(WRITABLE)} "
            "(the native format keeps fastText n-gram vectors)"
        )
    allowed = {
        "word2vec": {"precision"},
        "fasttext-vec": {"precision"},
        "glove": {"precision"},
        "word2vec-binary": set(),
        "native": {"storage", "dtype", "extra"},
        "projector": {"limit"},
        "keras": set(),
    }[fmt]
    unknown = set(options) - allowed
    if unknown:
        raise ParameterError(
            f"option(s) {sorted(unknown)} do not apply to the {fmt} format "
            f"(it takes {sorted(allowed) or 'none'})"
        )
    if isinstance(vectors, SubwordVectors) and fmt != "native":
        logger.warning(
            "saving %d word vectors to %s; the fastText n-gram matrix is not stored, so "
            "out-of-vocabulary lookups will not work on the saved copy",
            len(vectors),
            p,
        )
    if fmt in ("word2vec", "fasttext-vec", "glove"):
        text.write_text(vectors, p, header=fmt != "glove", show_progress=progress, **options)
    elif fmt == "word2vec-binary":
        binary.write_binary(vectors, p, show_progress=progress)
    elif fmt == "native":
        native.write_native(vectors, p, **options)
    elif fmt == "projector":
        exports.write_projector(vectors, p, **options)
    else:
        exports.write_keras(vectors, p)
    return p
