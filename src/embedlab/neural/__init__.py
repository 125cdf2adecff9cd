"""Neural training (extra ``torch``): tokenizers, pretraining and fine-tuning of transformers.

- ``train_tokenizer(corpus, "wordpiece" | "bpe" | "unigram")`` learns a sub-word vocabulary.
- ``pretrain(corpus, tokenizer=..., config=model_config("bert" | "albert" | "gpt2", ...))``:
  masked-LM or causal-LM pretraining from a streamed corpus.
- ``finetune_classifier(model, train, validation=...)``: sequence classification;
  :class:`TextClassifier` predicts with the result.
- ``pretrain_bilm(corpus)``: an ELMo-style biLM; :class:`BiLMEncoder` gives contextual word vectors.
- ``finetune_contrastive(model, pairs)``: sentence-embedding fine-tuning with in-batch negatives.
- Every trainer runs :func:`train` under :class:`TrainingArguments` (AdamW, warmup and decay,
  accumulation, mixed precision, checkpoints with exact resume, TensorBoard / W&B, early stopping).
"""

from __future__ import annotations

from .bilm import BiLMConfig, BiLMEncoder, pretrain_bilm
from .classify import ClassificationReport, LabeledTexts, TextClassifier, finetune_classifier
from .contrastive import TextPairs, finetune_contrastive
from .pretrain import model_config, pretrain
from .tokenizer import train_tokenizer
from .training import TrainingArguments, TrainResult, train

__all__ = [
    "BiLMConfig",
    "BiLMEncoder",
    "ClassificationReport",
    "LabeledTexts",
    "TextClassifier",
    "TextPairs",
    "TrainResult",
    "TrainingArguments",
    "finetune_classifier",
    "finetune_contrastive",
    "model_config",
    "pretrain",
    "pretrain_bilm",
    "train",
    "train_tokenizer",
]
