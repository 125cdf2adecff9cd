"""2D and 3D projections of embeddings (PCA, t-SNE, UMAP) and nearest-neighbour lists.

``project(x, "pca", dims=2)`` centres and projects on the two (or three) leading principal axes
(numpy, exact, signs fixed so a run is reproducible; past 20,000 rows from the covariance);
``"tsne"`` uses scikit-learn's TSNE (cosine metric, PCA initialization, perplexity capped for
small inputs); ``"umap"`` uses umap-learn (cosine metric). scikit-learn and umap-learn are
imported only here (``pip install 'embedlab[viz]'``). ``neighbours(x, k)`` gives each row's
``k`` nearest rows by cosine. This module does not draw.
"""

from __future__ import annotations

import logging
import warnings
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError, check_choice
from ..optional import require
from ..rows import normalized

logger = logging.getLogger(__name__)

__all__ = ["Method", "neighbours", "project"]

Method = Literal["pca", "tsne", "umap"]


def project(
    x: npt.ArrayLike, method: Method = "pca", *, seed: int = 0, dims: int = 2
) -> npt.NDArray[np.float32]:
    """``(n, d)`` -> ``(n, dims)`` (2 or 3) with PCA, t-SNE or UMAP."""
    check_choice("method", "project", method, ("pca", "tsne", "umap"))
    if dims not in (2, 3):
        raise ParameterError(
            f"The 'dims' parameter of project must be 2 or 3. Got {dims!r} instead."
        )
    data = np.asarray(x, dtype=np.float64)
    if data.ndim != 2 or len(data) < 3:
        raise ParameterError(f"project needs a (n >= 3, d) matrix; got shape {data.shape}")
    if method == "pca":
        return _pca(data, dims)
    if method == "tsne":
        TSNE = require("sklearn.manifold", "viz", "t-SNE").TSNE
        perplexity = float(min(30.0, max(2.0, (len(data) - 1) / 3)))
        out = TSNE(
            n_components=dims, perplexity=perplexity, metric="cosine", init="pca", random_state=seed
        ).fit_transform(data)
        return np.asarray(out, dtype=np.float32)
    umap = require("umap", "viz", "UMAP", package="umap-learn")
    reducer = umap.UMAP(
        n_components=dims,
        metric="cosine",
        random_state=seed,
        n_jobs=1,
        n_neighbors=min(15, len(data) - 1),
    )
    with warnings.catch_warnings():
        # a fixed seed makes umap-learn single-threaded, and it says so on every call
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        return np.asarray(reducer.fit_transform(data), dtype=np.float32)


def _pca(data: npt.NDArray[np.float64], dims: int = 2) -> npt.NDArray[np.float32]:
    centred = data - data.mean(axis=0)
    if len(data) > 20_000:  # the d x d covariance: one GEMM, not an SVD of n rows
        _, vectors = np.linalg.eigh(centred.T @ centred)
        vt = vectors[:, ::-1].T
    else:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:dims]
    # sign convention: the largest-magnitude loading of each axis is positive
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    out = centred @ (axes * signs[:, None]).T
    if out.shape[1] < dims:
        out = np.pad(out, ((0, 0), (0, dims - out.shape[1])))
    return np.asarray(out, dtype=np.float32)


def neighbours(x: npt.ArrayLike, k: int = 5) -> npt.NDArray[np.int64]:
    """Indices of each row's ``k`` nearest other rows by cosine, nearest first."""
    data = np.asarray(x, dtype=np.float32)
    unit = normalized(data)
    k = min(k, len(data) - 1)
    out = np.empty((len(data), k), dtype=np.int64)
    for start in range(0, len(data), 1024):
        sims = unit[start : start + 1024] @ unit.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf
        top = (
            np.argpartition(-sims, k - 1, axis=1)[:, :k]
            if k < len(data) - 1
            else np.argsort(-sims, axis=1)[:, :k]
        )
        order = np.take_along_axis(sims, top, axis=1).argsort(axis=1)[:, ::-1]
        out[start : start + len(rows)] = np.take_along_axis(top, order, axis=1)
    return out
