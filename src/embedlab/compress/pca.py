"""PCA: a low-rank projection of embedding rows, fitted on a sample and saved beside the vectors.

``PCA(128).fit(sample)`` learns the mean and the 128 directions of largest variance (the top
eigenvectors of the sample's covariance, computed in float64); ``transform(x)`` centres and
projects, ``inverse_transform(z)`` maps back. Each component's sign is fixed so that its
largest-magnitude coordinate is positive, so two fits on the same sample give the same matrix.
``save``/``load`` write the fitted state as safetensors (no pickle), so an encoder's output can be
projected the same way at query time as the indexed documents were.

``normalize=True`` (the default) rescales projected rows to unit length, which is what cosine
search over the reduced vectors wants; pass False to keep raw coordinates.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, NotFittedError, ParameterError
from ..files import atomic_file
from ..rows import normalize_inplace

__all__ = ["PCA"]

FloatArray = npt.NDArray[np.float32]


class PCA:
    """Principal component projection to ``n_components`` dimensions (sklearn shape)."""

    def __init__(self, n_components: int = 128, *, normalize: bool = True) -> None:
        self.n_components = n_components
        self.normalize = normalize

    def fit(self, sample: npt.ArrayLike) -> PCA:
        """Learn the mean and components from ``sample`` rows (more rows than components)."""
        x = np.asarray(sample, dtype=np.float64)
        if x.ndim != 2:
            raise ParameterError(f"PCA.fit takes a 2-d matrix of rows; got shape {x.shape}")
        n, dim = x.shape
        if not isinstance(self.n_components, int) or not 1 <= self.n_components <= dim:
            raise ParameterError(
                f"n_components must be an int in [1, {dim}] (the vectors' dimension); "
                f"got {self.n_components!r}"
            )
        if n <= self.n_components:
            raise ParameterError(
                f"PCA.fit needs more sample rows than components: {n} rows for {self.n_components}"
            )
        mean = x.mean(axis=0)
        centred = x - mean
        values, vectors = np.linalg.eigh(centred.T @ centred / (n - 1))
        order = np.argsort(values)[::-1][: self.n_components]
        components = vectors[:, order].T
        flip = np.sign(components[np.arange(len(order)), np.abs(components).argmax(axis=1)])
        components *= np.where(flip == 0, 1, flip)[:, None]
        total = max(float(values.clip(min=0).sum()), np.finfo(np.float64).tiny)
        self.mean_ = mean.astype(np.float32)
        self.components_ = components.astype(np.float32)
        self.explained_variance_ = values[order].clip(min=0).astype(np.float32)
        self.explained_variance_ratio_ = (values[order].clip(min=0) / total).astype(np.float32)
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise NotFittedError("this PCA is not fitted yet: call fit(sample) first")

    def transform(self, x: npt.ArrayLike) -> FloatArray:
        """``x``'s rows projected to ``n_components`` float32 columns."""
        self._fitted()
        a = np.asarray(x, dtype=np.float32)
        if a.shape[-1] != self.mean_.shape[0]:
            raise ParameterError(
                f"vectors of dimension {a.shape[-1]} given to a PCA fitted on {self.mean_.shape[0]}"
            )
        z = np.asarray((a - self.mean_) @ self.components_.T, dtype=np.float32)
        return normalize_inplace(z) if self.normalize else z

    def fit_transform(self, x: npt.ArrayLike) -> FloatArray:
        return self.fit(x).transform(x)

    def inverse_transform(self, z: npt.ArrayLike) -> FloatArray:
        """Rows in the original space (the projection's best reconstruction)."""
        self._fitted()
        return np.asarray(
            np.asarray(z, dtype=np.float32) @ self.components_ + self.mean_, dtype=np.float32
        )

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted state to ``path`` (safetensors, written atomically)."""
        from safetensors.numpy import save

        self._fitted()
        p = Path(path)
        tensors = {
            "mean": self.mean_,
            "components": self.components_,
            "explained_variance": self.explained_variance_,
            "explained_variance_ratio": self.explained_variance_ratio_,
        }
        meta = {"kind": "embedlab.PCA", "version": "1", "normalize": json.dumps(self.normalize)}
        with atomic_file(p) as f:
            f.write(save(tensors, metadata=meta))
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PCA:
        """A fitted PCA from a file :meth:`save` wrote."""
        from safetensors import SafetensorError, safe_open

        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"no PCA file at {p}")
        try:
            with safe_open(str(p), framework="numpy") as f:
                meta: dict[str, Any] = f.metadata() or {}
                arrays = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - not a dict
        except (OSError, ValueError, SafetensorError) as e:
            raise FormatError(p, f"expected a safetensors file written by PCA.save: {e}") from e
        if meta.get("kind") != "embedlab.PCA":
            raise FormatError(p, f"expected an embedlab PCA, found kind {meta.get('kind')!r}")
        if meta.get("version") != "1":
            raise FormatError(
                p,
                f"written by a newer embedlab (PCA version {meta.get('version')!r}; this reads 1)",
            )
        missing = {"mean", "components", "explained_variance", "explained_variance_ratio"} - set(
            arrays
        )
        if missing:
            raise FormatError(p, f"missing arrays {sorted(missing)}")
        pca = cls(int(arrays["components"].shape[0]), normalize=bool(json.loads(meta["normalize"])))
        pca.mean_ = arrays["mean"].astype(np.float32)
        pca.components_ = arrays["components"].astype(np.float32)
        pca.explained_variance_ = arrays["explained_variance"].astype(np.float32)
        pca.explained_variance_ratio_ = arrays["explained_variance_ratio"].astype(np.float32)
        if pca.components_.shape[1] != pca.mean_.shape[0]:
            raise FormatError(
                p,
                f"components of width {pca.components_.shape[1]} for a mean of {pca.mean_.shape[0]}",
            )
        return pca
