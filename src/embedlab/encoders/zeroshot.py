"""Zero-shot image labels: compare an image with a text per label, in a CLIP-family space.

Each label becomes a text through prompt templates (``"a photo of a {}."``); with several
templates, the label's vector is the mean of their unit vectors, renormalised (Radford et al.
2021's prompt ensembling, which gains a few points of ImageNet accuracy over one prompt). An
image's scores are its cosines to the label vectors times ``temperature`` (CLIP's learned logit
scale, 100), through a softmax: ``ZeroShotClassifier(clip, ["cat", "dog"]).predict(["a.jpg"])``
-> ``["cat"]``. This module does not read folders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError
from ..rows import normalize_inplace

__all__ = ["DEFAULT_TEMPLATES", "ZeroShotClassifier", "label_vectors"]

#: "a photo of a {}." and the seven templates the CLIP authors found best together on ImageNet
DEFAULT_TEMPLATES = (
    "a photo of a {}.",
    "itap of a {}.",
    "a bad photo of the {}.",
    "a origami {}.",
    "a photo of the large {}.",
    "a {} in a video game.",
    "art of the {}.",
    "a photo of the small {}.",
)
FloatArray = npt.NDArray[np.float32]


def label_vectors(
    encoder: Any, labels: Sequence[str], templates: Sequence[str] = DEFAULT_TEMPLATES
) -> FloatArray:
    """One unit row per label: the renormalised mean of its prompts' unit text vectors."""
    if not labels:
        raise ParameterError("zero-shot classification needs at least one label")
    if not templates or any("{}" not in t for t in templates):
        raise ParameterError(f"every template needs a '{{}}' for the label; got {list(templates)}")
    prompts = [t.format(label) for label in labels for t in templates]
    rows = np.asarray(encoder.encode(prompts, normalize=True), dtype=np.float32)
    rows = rows.reshape(len(labels), len(templates), -1).mean(axis=1)
    return normalize_inplace(np.ascontiguousarray(rows))


class ZeroShotClassifier:
    """Labels for images without training, from an image encoder and label names."""

    def __init__(
        self,
        encoder: Any,
        labels: Sequence[str],
        *,
        templates: Sequence[str] = DEFAULT_TEMPLATES,
        temperature: float = 100.0,
    ) -> None:
        if not callable(getattr(encoder, "encode_images", None)):
            raise ParameterError(f"{encoder!r} does not encode images (a CLIP-family model does)")
        if len(set(labels)) != len(labels):
            raise ParameterError("the labels must be distinct")
        self.encoder, self.labels = encoder, list(labels)
        self.templates, self.temperature = list(templates), temperature
        self.label_vectors_ = label_vectors(encoder, self.labels, self.templates)

    def scores(self, image_vectors: npt.ArrayLike) -> FloatArray:
        """Label probabilities for image rows (any scale; they are normalised first)."""
        x = normalize_inplace(np.array(image_vectors, dtype=np.float32, ndmin=2))
        logits = self.temperature * (x @ self.label_vectors_.T)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float32)

    def predict_proba(self, images: Sequence[Any], *, batch_size: int = 32) -> FloatArray:
        """``(n_images, n_labels)`` probabilities."""
        return self.scores(self.encoder.encode_images(list(images), batch_size=batch_size))

    def predict(self, images: Sequence[Any], *, batch_size: int = 32) -> list[str]:
        """The most probable label of each image."""
        best = self.predict_proba(images, batch_size=batch_size).argmax(axis=1)
        return [self.labels[int(i)] for i in best]
