"""Exports for other tools: the TensorBoard projector and a Keras embedding matrix.

Projector folder: ``vectors.tsv`` (tab-separated floats), ``metadata.tsv`` (one key per line, or
``key<TAB>count`` under a header when counts exist) and ``projector_config.pbtxt``, so
``tensorboard --logdir FOLDER`` shows them, or upload the two .tsv files to projector.tensorflow.org.

Keras folder: ``embedding_matrix.npy`` of shape ``(rows + 2, dim)`` -- row 0 is the padding/mask row
(zeros), row 1 the out-of-vocabulary row (mean vector), then one row per key -- and ``vocab.txt``
with the keys in row order from row 2, which is what ``TextVectorization(vocabulary="vocab.txt")``
expects (it adds ``""`` and ``"[UNK]"`` itself)::

    matrix = np.load("embedding_matrix.npy")
    layer = keras.layers.Embedding(*matrix.shape, mask_zero=True,
                                   embeddings_initializer=keras.initializers.Constant(matrix))

Both also read back (for round-trips and for projector files made by other tools).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import FormatError, ParameterError
from ..files import atomic_dir, load_npy
from ..vectors import Vectors
from ._keys import KeyDecoder
from .text import format_rows

logger = logging.getLogger(__name__)

PROJECTOR_CONFIG = """embeddings {
  tensor_path: "vectors.tsv"
  metadata_path: "metadata.tsv"
}
"""


def _check_line_keys(vectors: Vectors, what: str, forbidden: str) -> None:
    for i, key in enumerate(vectors.index_to_key):
        if not key or any(ch in forbidden for ch in key) or key != key.strip():
            raise ParameterError(
                f"key {key!r} at row {i} is empty, padded or holds a tab/newline, which {what} "
                "cannot store; save to the native format instead"
            )


def write_projector(vectors: Vectors, path: Path, *, limit: int | None = None) -> None:
    """Write a TensorBoard projector folder (``limit`` keeps the first N rows)."""
    if limit is not None:
        vectors = vectors.subset(list(vectors.index_to_key[:limit]))
    _check_line_keys(
        vectors, "a projector metadata.tsv", "\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    )
    rows = format_rows(vectors.vectors, None, sep="\t")
    counts = vectors.counts
    with atomic_dir(path) as tmp:
        (tmp / "vectors.tsv").write_bytes("".join(r + "\n" for r in rows).encode())
        if counts is None:
            meta = "".join(f"{k}\n" for k in vectors.index_to_key)
        else:
            meta = "key\tcount\n" + "".join(
                f"{k}\t{c}\n" for k, c in zip(vectors.index_to_key, counts.tolist())
            )
        (tmp / "metadata.tsv").write_bytes(meta.encode("utf-8"))
        (tmp / "projector_config.pbtxt").write_text(PROJECTOR_CONFIG, encoding="utf-8")


def read_projector(path: Path, *, limit: int | None, encoding_errors: str) -> Vectors:
    meta_path, vec_path = path / "metadata.tsv", path / "vectors.tsv"
    for p in (meta_path, vec_path):
        if not p.is_file():
            raise FormatError(path, f"expected {p.name} in the folder")
    lines = meta_path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    has_counts = bool(lines) and b"\t" in lines[0]
    decoder = KeyDecoder(meta_path, "utf-8", encoding_errors)
    counts: list[int] = []
    first_line = 2 if has_counts else 1
    for i, line in enumerate(lines[1:] if has_counts else lines):
        if limit is not None and i >= limit:
            break
        key = line
        if has_counts:
            key, _, count = line.partition(b"\t")
            try:
                counts.append(int(count))
            except ValueError:
                raise FormatError(
                    meta_path,
                    f"expected an integer count, found {count[:40]!r}",
                    line=i + first_line,
                ) from None
        decoder.add(key, i + first_line)
    n = len(decoder.keys)
    rows = []
    for i, raw in enumerate(vec_path.read_bytes().split(b"\n")[:n]):
        fields = raw.split(b"\t")
        try:
            rows.append([float(x) for x in fields])
        except ValueError:
            raise FormatError(
                vec_path, f"expected tab-separated floats, found {raw[:60]!r}", line=i + 1
            ) from None
        if len(rows[-1]) != len(rows[0]):
            raise FormatError(
                vec_path, f"expected {len(rows[0])} floats, found {len(rows[-1])}", line=i + 1
            )
    if len(rows) != n:
        raise FormatError(vec_path, f"expected {n} rows to match metadata.tsv, found {len(rows)}")
    with np.errstate(over="ignore"):  # beyond float32 range becomes inf, as in the text readers
        matrix = np.array(rows, dtype=np.float32).reshape(n, len(rows[0]) if rows else 0)
    return Vectors._from_parts(decoder.keys, decoder.index, matrix, counts if has_counts else None)


def write_keras(vectors: Vectors, path: Path) -> None:
    """Write ``embedding_matrix.npy`` (padding row, OOV row, then the keys) and ``vocab.txt``."""
    _check_line_keys(vectors, "a Keras vocab.txt", "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
    n, dim = vectors.vectors.shape
    matrix = np.zeros((n + 2, dim), dtype=np.float32)
    matrix[2:] = vectors.vectors
    if n:
        with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN rows give a NaN mean, quietly
            matrix[1] = vectors.vectors.mean(axis=0, dtype=np.float64)
    with atomic_dir(path) as tmp:
        np.save(tmp / "embedding_matrix.npy", matrix, allow_pickle=False)
        (tmp / "vocab.txt").write_bytes("".join(f"{k}\n" for k in vectors.index_to_key).encode())


def read_keras(path: Path, *, limit: int | None, encoding_errors: str) -> Vectors:
    vocab, mat_path = path / "vocab.txt", path / "embedding_matrix.npy"
    for p in (vocab, mat_path):
        if not p.is_file():
            raise FormatError(path, f"expected {p.name} in the folder")
    matrix = load_npy(mat_path, mmap=False)
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.floating):
        raise FormatError(
            mat_path, f"expected a 2-D float matrix, found {matrix.dtype} {matrix.shape}"
        )
    lines = vocab.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if len(lines) + 2 != matrix.shape[0]:
        raise FormatError(
            mat_path,
            f"expected {len(lines) + 2} rows (padding, OOV, then {len(lines)} keys of vocab.txt), "
            f"found {matrix.shape[0]}",
        )
    decoder = KeyDecoder(vocab, "utf-8", encoding_errors)
    for i, key in enumerate(lines[:limit]):
        decoder.add(key, i + 1)
    rows = np.asarray(matrix[2 : 2 + len(decoder.keys)], dtype=np.float32)
    return Vectors._from_parts(decoder.keys, decoder.index, rows)
