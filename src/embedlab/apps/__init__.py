"""Applications built only from embedlab's pieces: FAQ answering (more to come)."""

from __future__ import annotations

from .faq import FAQ, Answer, Calibration, FAQResult

__all__ = ["FAQ", "Answer", "Calibration", "FAQResult"]
