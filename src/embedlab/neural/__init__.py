"""Neural training (extra ``torch``): tokenizer training now; pretraining and fine-tuning next.

``train_tokenizer(corpus, "wordpiece" | "bpe" | "unigram")`` learns a sub-word vocabulary and
returns a Hugging Face fast tokenizer.
"""

from __future__ import annotations

from .tokenizer import train_tokenizer

__all__ = ["train_tokenizer"]
