"""Training sub-word tokenizers (WordPiece, byte-level BPE, Unigram) with Hugging Face `tokenizers`.

``train_tokenizer(texts, "wordpiece", vocab_size=30000)`` returns a ``PreTrainedTokenizerFast``
ready for ``save_pretrained`` (the HF folder format ``AutoTokenizer`` and every transformers model
read). The three kinds follow the models that made them common:

- ``wordpiece`` — BERT: BERT normalizer (lower-casing and accent stripping optional), BERT
  pre-tokenizer, ``[CLS] ... [SEP]`` template, ``[PAD] [UNK] [CLS] [SEP] [MASK]`` specials.
- ``bpe`` — GPT-2: byte-level, so nothing is ever unknown; ``<|endoftext|>`` as BOS/EOS/pad.
- ``unigram`` — SentencePiece/ALBERT style: Metaspace pre-tokenizer, ``<pad> <unk> [CLS] [SEP]
  [MASK]`` specials and the BERT template, so masked-LM training can use it as is.

Chinese: ``chinese="chars"`` splits every Han character into its own pre-token (BERT's Chinese
convention); ``chinese="jieba"`` segments the *training* text with jieba and joins words by spaces
— text given to the tokenizer later must be segmented the same way
(:func:`embedlab.text.tokenize.segment_chinese`). Texts stream from an iterable or from files
(:class:`embedlab.text.Corpus` reads them). The same corpus gives the same vocabulary on every
run, WordPiece included (see ``_train_wordpiece``). This module does not train models.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import regex

from ..errors import ParameterError, check_choice
from ..optional import require

logger = logging.getLogger(__name__)

__all__ = ["train_tokenizer"]

Kind = Literal["wordpiece", "bpe", "unigram"]
_HAN = regex.compile(r"\p{Han}+")


def _tokenizers() -> Any:
    require("transformers", "torch", "training tokenizers")  # its fast tokenizer wraps the result
    return require("tokenizers", "torch", "training tokenizers")


def corpus_lines(
    source: Iterable[str] | str | os.PathLike[str], chinese: str | None
) -> Iterator[str]:
    if isinstance(source, str | os.PathLike) and Path(source).exists():
        root = Path(source)
        paths = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        lines: Iterable[str] = _file_lines(paths)
    elif isinstance(source, str | os.PathLike):
        raise ParameterError(f"no such corpus file or folder: {os.fspath(source)}")
    else:
        lines = source
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if chinese == "jieba":
            from ..text.tokenize import segment_chinese

            text = _HAN.sub(lambda m: " " + " ".join(segment_chinese(m.group())) + " ", text)
        yield text


def _file_lines(paths: list[Path]) -> Iterator[str]:
    from ..files import open_read

    for p in paths:
        with open_read(p) as f:
            for raw in f:
                yield raw.decode("utf-8", errors="replace")


def train_tokenizer(
    texts: Iterable[str] | str | os.PathLike[str],
    kind: Kind = "wordpiece",
    *,
    vocab_size: int = 30000,
    min_frequency: int = 2,
    lowercase: bool = True,
    chinese: Literal["chars", "jieba"] | None = "chars",
    model_max_length: int = 512,
    show_progress: bool = False,
) -> Any:
    """A trained fast tokenizer (``transformers.PreTrainedTokenizerFast``); save it with
    ``save_pretrained(folder)``."""
    check_choice("kind", "train_tokenizer", kind, ("wordpiece", "bpe", "unigram"))
    if chinese is not None:
        check_choice("chinese", "train_tokenizer", chinese, ("chars", "jieba"))
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 50:
        raise ParameterError(
            f"The 'vocab_size' parameter of train_tokenizer must be an int in [50, inf). "
            f"Got {vocab_size!r} instead."
        )
    tk = _tokenizers()
    from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    chars = chinese == "chars"
    stream = corpus_lines(texts, chinese)
    trainer: Any
    if kind == "wordpiece":
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok = tk.Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(
            lowercase=lowercase, strip_accents=lowercase, handle_chinese_chars=chars
        )
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
    else:
        bpe = kind == "bpe"
        specials = ["<|endoftext|>"] if bpe else ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
        tok = tk.Tokenizer(models.BPE() if bpe else models.Unigram())
        steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
        tok.normalizer = normalizers.Sequence(steps)
        words = (
            pre_tokenizers.ByteLevel(add_prefix_space=False) if bpe else pre_tokenizers.Metaspace()
        )
        tok.pre_tokenizer = (
            pre_tokenizers.Sequence([pre_tokenizers.Split(_han_regex(), "isolated"), words])
            if chars
            else words
        )
        tok.decoder = decoders.ByteLevel() if bpe else decoders.Metaspace()
        if bpe:
            trainer = trainers.BpeTrainer(
                vocab_size=vocab_size,
                min_frequency=min_frequency,
                special_tokens=specials,
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                show_progress=show_progress,
            )
        else:
            trainer = trainers.UnigramTrainer(
                vocab_size=vocab_size,
                special_tokens=specials,
                unk_token="<unk>",
                show_progress=show_progress,
            )
    if kind == "wordpiece":
        tok = _train_wordpiece(tok, stream, specials, vocab_size, min_frequency, show_progress)
    else:
        tok.train_from_iterator(stream, trainer=trainer)
    if tok.get_vocab_size() <= len(specials):
        raise ParameterError("the corpus is empty: no text to learn a vocabulary from")
    return _wrap(tok, kind, specials, model_max_length, PreTrainedTokenizerFast)


def _train_wordpiece(
    tok: Any,
    stream: Iterator[str],
    specials: list[str],
    vocab_size: int,
    min_frequency: int,
    show_progress: bool,
) -> Any:
    """WordPiece training that gives the same vocabulary on every run.

    `tokenizers`' WordPiece trainer numbers the continuing-subword characters (``##e``) in hash-map
    order, which changes from run to run, and breaks ties between equally frequent merges by those
    numbers: the same corpus gave a different vocabulary each time (huggingface/tokenizers#1794).
    So a first pass (no merges) finds which ``##`` characters the corpus has, while copying the text
    to a temporary file; the real pass gets them, sorted, as extra special tokens — fixed numbers,
    otherwise the same vocabulary — and they are then dropped from the added tokens, so text that
    contains ``##e`` is not split on it. The copy takes the corpus's size in the temporary folder
    while training (a stream is read once; jieba segments it once).
    """
    import json
    import tempfile

    from tokenizers import Tokenizer, trainers

    with tempfile.TemporaryDirectory(prefix="embedlab-wordpiece-") as tmp:
        copy = Path(tmp) / "corpus.txt"
        with open(copy, "w", encoding="utf-8") as out:

            def tee() -> Iterator[str]:
                for text in stream:
                    out.write(text.replace("\n", " ").replace("\r", " ") + "\n")
                    yield text

            scout = Tokenizer.from_str(tok.to_str())  # vocab_size 1: the alphabet, no merges
            scout.train_from_iterator(
                tee(), trainer=trainers.WordPieceTrainer(vocab_size=1, special_tokens=specials)
            )
        pieces = sorted(t for t in scout.get_vocab() if t.startswith("##"))
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=specials + pieces,
            show_progress=show_progress,
        )
        tok.train([str(copy)], trainer=trainer)
    state = json.loads(tok.to_str())
    state["added_tokens"] = [t for t in state["added_tokens"] if t["content"] in specials]
    return Tokenizer.from_str(json.dumps(state))


def _wrap(tok: Any, kind: str, specials: Sequence[str], max_length: int, fast: Any) -> Any:
    from tokenizers import processors

    if kind == "bpe":
        return fast(
            tokenizer_object=tok,
            bos_token="<|endoftext|>",
            eos_token="<|endoftext|>",
            unk_token="<|endoftext|>",
            pad_token="<|endoftext|>",
            model_max_length=max_length,
        )
    unk = "[UNK]" if kind == "wordpiece" else "<unk>"
    pad = "[PAD]" if kind == "wordpiece" else "<pad>"
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return fast(
        tokenizer_object=tok,
        unk_token=unk,
        pad_token=pad,
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )


def _han_regex() -> Any:
    """One Han character (tokenizers' own regex type, which Split needs)."""
    from tokenizers import Regex

    return Regex(r"\p{Han}")
