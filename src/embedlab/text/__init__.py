"""The text pipeline: normalisation, tokenization (regex + jieba for Chinese), stop words,
lemmatization, streaming corpus readers and the vocabulary."""

from __future__ import annotations

from .corpus import Corpus, CorpusFormat, split_sentences
from .lemmatize import Lemmatizer
from .normalize import normalize
from .stopwords import stopwords
from .tokenize import Tokenizer, segment_chinese, word_tokenize
from .vocab import Vocabulary

__all__ = [
    "Corpus",
    "CorpusFormat",
    "Lemmatizer",
    "Tokenizer",
    "Vocabulary",
    "normalize",
    "segment_chinese",
    "split_sentences",
    "stopwords",
    "word_tokenize",
]
