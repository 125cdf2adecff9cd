"""Making a static encoder multilingual by distillation on parallel sentences.

Reimers & Gurevych (2020, "Making Monolingual Sentence Embeddings Multilingual using Knowledge
Distillation"): a student learns to put a sentence and its translation where the teacher puts
the source sentence, ``student(en) ~ teacher(en)`` and ``student(zh) ~ teacher(en)``. Here the
student is a :class:`StaticEncoder` of sub-word pieces (``distill``'s model2vec table, at the
teacher's width): a text's vector is the mean of its pieces' rows, a linear function of the table.
So the fit is a ridge regression with a closed form, solved by conjugate gradients on the normal
equations ``(A^T A + l2 I) V = A^T T + l2 V0``: ``A`` averages each training text's pieces, ``T``
holds the teacher's vectors of the source sentences, ``V0`` is the starting table (rows no text
uses stay as they were, ``l2`` says how far the others may move). No GPU and no epochs; an
ordinary encoder comes out (embed, eval, index, serve).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError
from ..vectors import Vectors
from .static import StaticEncoder

__all__ = ["distill_parallel"]


def _cg(matvec: Any, b: npt.NDArray[np.float64], x: npt.NDArray[np.float64], steps: int) -> Any:
    """Conjugate gradients for every column of ``b`` at once (one SPD operator)."""
    r = b - matvec(x)
    p = r.copy()
    rs = (r * r).sum(axis=0)
    for _ in range(steps):
        mp = matvec(p)
        alpha = rs / np.maximum((p * mp).sum(axis=0), 1e-30)
        x += p * alpha
        r -= mp * alpha
        new = (r * r).sum(axis=0)
        if float(np.sqrt(new.max())) < 1e-6:
            break
        p = r + p * (new / np.maximum(rs, 1e-30))
        rs = new
    return x


def distill_parallel(
    teacher: Any,
    student: StaticEncoder,
    sources: Sequence[str],
    translations: Sequence[str],
    *,
    l2: float = 0.1,
    steps: int = 200,
    batch_size: int = 64,
    name: str | None = None,
) -> StaticEncoder:
    """A copy of ``student`` whose table puts ``sources[i]`` and ``translations[i]`` where
    ``teacher`` puts ``sources[i]`` (the student's width must be the teacher's)."""
    if len(sources) != len(translations) or not sources:
        raise ParameterError(
            f"parallel data needs as many translations as sources, at least one; got "
            f"{len(sources)} and {len(translations)}"
        )
    if student.dim != teacher.dim:
        raise ParameterError(
            f"the student has {student.dim} dimensions and the teacher {teacher.dim}; distill "
            "the student at the teacher's width (distill(..., dims=None))"
        )
    if not l2 > 0:
        raise ParameterError(f"l2 must be > 0; got {l2!r}")
    import scipy.sparse as sp

    target = np.asarray(
        teacher.encode(list(sources), batch_size=batch_size, normalize=True), dtype=np.float64
    )
    rows = student._batch_rows(list(sources)) + student._batch_rows(list(translations))
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = np.concatenate(rows)
    weights = np.repeat(1.0 / np.maximum(lengths, 1), lengths)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    a = sp.csr_matrix((weights, flat, indptr), shape=(len(rows), len(student.vectors)))
    t = np.vstack([target, target])
    # a text's mean lands on the unit sphere only after normalisation: fit the teacher's
    # direction at the scale the student's means have
    start = np.asarray(student.vectors.vectors, dtype=np.float64)
    scale = float(np.median(np.linalg.norm(a @ start, axis=1)[lengths > 0]))
    t *= scale
    at = a.T.tocsr()

    def matvec(v: npt.NDArray[np.float64]) -> Any:
        return at @ (a @ v) + l2 * v

    table = _cg(matvec, at @ t + l2 * start, start.copy(), steps)
    vectors = Vectors(list(student.vectors.index_to_key), table.astype(np.float32))
    return StaticEncoder(
        vectors,
        tokenizer=student.tokenizer,
        weighting="mean",
        remove_components=0,
        normalize=True,
        name=name or f"{student.name} (multilingual)",
    )
