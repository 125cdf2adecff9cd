"""An encoder whose vectors come out projected: any encoder followed by a fitted PCA.

``CompressedEncoder.fit(encoder, sample_texts, dims=128)`` embeds the sample, fits
:class:`~embedlab.compress.PCA` on it and returns an encoder of ``dims`` dimensions; ``save``
writes ``compressed_encoder.json`` (the base model's source) and ``pca.safetensors``, and
:func:`embedlab.encoders.load_encoder` opens the folder again. It is an ordinary encoder (embed,
eval, index, serve), 3x smaller vectors for MiniLM at 128 dims (98-99% of its scores, see
benchmarks/compression.py). The base model must be loadable from its source (a hub id, a folder,
``default``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..compress import PCA
from ..errors import FormatError, ParameterError
from ..files import atomic_dir
from ..rows import normalize_inplace
from .base import as_texts

__all__ = ["CompressedEncoder"]

CONFIG = "compressed_encoder.json"


class CompressedEncoder:
    """``base`` followed by ``pca`` (unit-length output when ``normalize``)."""

    def __init__(self, base: Any, pca: PCA, *, source: str | None = None) -> None:
        if not hasattr(pca, "components_"):
            raise ParameterError("CompressedEncoder needs a fitted PCA")
        if pca.components_.shape[1] != base.dim:
            raise ParameterError(
                f"the PCA was fitted on {pca.components_.shape[1]} dimensions; the encoder has "
                f"{base.dim}"
            )
        self.base, self.pca, self.source = base, pca, source

    @classmethod
    def fit(
        cls, base: Any, texts: Sequence[str], *, dims: int = 128, source: str | None = None
    ) -> CompressedEncoder:
        """Fit the projection on ``base``'s vectors of ``texts`` (more texts than ``dims``)."""
        items, _ = as_texts(texts, "CompressedEncoder")
        sample = np.asarray(base.encode(items, normalize=True), dtype=np.float32)
        return cls(base, PCA(dims).fit(sample), source=source)

    @property
    def name(self) -> str:
        return f"{getattr(self.base, 'name', 'encoder')} (pca {self.dim})"

    @property
    def dim(self) -> int:
        return int(self.pca.components_.shape[0])

    @property
    def max_length(self) -> int | None:
        return getattr(self.base, "max_length", None)

    @property
    def tokenizer(self) -> Any:
        return getattr(self.base, "tokenizer", None)

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int = 32,
        normalize: bool | None = None,
        show_progress: bool | None = None,
    ) -> npt.NDArray[np.float32]:
        """Projected vectors: ``(n, dims)``, or ``(dims,)`` for one string; unit rows unless
        ``normalize=False``."""
        full = self.base.encode(
            texts, batch_size=batch_size, normalize=True, show_progress=show_progress
        )
        x = np.atleast_2d(np.asarray(full, dtype=np.float32))
        out = np.asarray((x - self.pca.mean_) @ self.pca.components_.T, dtype=np.float32)
        if normalize is not False:
            normalize_inplace(out)
        return out[0] if isinstance(texts, str) else out

    def save(self, folder: str | os.PathLike[str]) -> Path:
        if self.source is None:
            raise ParameterError("saving needs the base model's source (fit(..., source=...))")
        path = Path(folder)
        with atomic_dir(path) as tmp:
            self.pca.save(tmp / "pca.safetensors")
            config = {"format_version": 1, "base": self.source, "dims": self.dim}
            (tmp / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike[str], **options: Any) -> CompressedEncoder:
        from . import load_encoder

        path = Path(folder)
        try:
            config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
        except ValueError as e:
            raise FormatError(path / CONFIG, f"expected JSON: {e}") from None
        if (
            not isinstance(config, dict)
            or config.get("format_version") != 1
            or "base" not in config
        ):
            raise FormatError(path / CONFIG, "expected format_version 1 and a 'base' source")
        base = load_encoder(str(config["base"]), **options)
        return cls(base, PCA.load(path / "pca.safetensors"), source=str(config["base"]))
