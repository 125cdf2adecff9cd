"""Pretraining transformers from a corpus: masked LM (BERT, ALBERT) and causal LM (GPT-2).

``pretrain(corpus, tokenizer=tok, config=model_config("bert", tok, hidden=256, layers=4),
args=TrainingArguments("out", max_steps=2000))`` builds a randomly initialised model from a
transformers config and trains it with :func:`embedlab.neural.training.train`:

- The corpus (a file, a folder of files, or an iterable of lines) is *streamed*: lines are
  tokenized a thousand at a time, concatenated and cut into blocks of ``block_size`` tokens
  (BERT-style blocks are wrapped in ``[CLS] ... [SEP]``), which pass through a seeded shuffle
  buffer into batches; the corpus is never held in memory. Every 100th block is held out (at most
  ``eval_blocks``) for the validation loss.
- Masked LM: *dynamic* masking — each batch draws its own 15% of non-special tokens (80% ``[MASK]``,
  10% a random token, 10% unchanged) from the seeded torch generator, so every epoch sees new masks.
- Causal LM: next-token prediction over the blocks (``labels = input_ids``).
- ``model_config("albert", ...)`` exposes ALBERT's factorized embedding (``embedding_size`` below
  ``hidden``) and cross-layer parameter sharing (``share_layers=True``: one layer group).

The result folder (``model/``) holds the model (safetensors) and tokenizer: ``TransformerEncoder``
loads it (mean pooling for BERT/ALBERT, last token for GPT-2), and so does ``AutoModelForMaskedLM``
/ ``AutoModelForCausalLM``. Streaming data has no known length: pass ``max_steps``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from ..errors import ParameterError, check_choice
from .tokenizer import corpus_lines
from .training import TrainingArguments, TrainResult, resolve_device, seed_everything, train

logger = logging.getLogger(__name__)

__all__ = ["model_config", "pretrain"]

T = TypeVar("T")

Objective = Literal["mlm", "causal"]
Family = Literal["bert", "albert", "gpt2"]
_CAUSAL = {"gpt2", "gpt_neo", "gptj", "llama", "mistral", "qwen2", "opt"}


def model_config(
    family: Family,
    tokenizer: Any,
    *,
    hidden: int = 256,
    layers: int = 4,
    heads: int = 4,
    intermediate: int | None = None,
    max_positions: int = 512,
    embedding_size: int | None = None,
    share_layers: bool = False,
    dropout: float = 0.1,
) -> Any:
    """A transformers config for a small model sized to ``tokenizer``'s vocabulary.

    ``family="albert"`` takes ``embedding_size`` (the factorized embedding width, default
    ``hidden // 2``) and ``share_layers`` (all layers share one set of weights, ALBERT's
    cross-layer sharing); BERT and GPT-2 refuse them.
    """
    check_choice("family", "model_config", family, ("bert", "albert", "gpt2"))
    if family != "albert" and (embedding_size is not None or share_layers):
        raise ParameterError("embedding_size and share_layers are ALBERT options (family='albert')")
    if hidden % heads:
        raise ParameterError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
    from transformers import AlbertConfig, BertConfig, GPT2Config

    vocab = len(tokenizer)
    inner = intermediate if intermediate is not None else 4 * hidden
    pad = tokenizer.pad_token_id
    if family == "gpt2":
        eos = tokenizer.eos_token_id
        return GPT2Config(
            vocab_size=vocab, n_embd=hidden, n_layer=layers, n_head=heads, n_inner=inner,
            n_positions=max_positions, bos_token_id=eos, eos_token_id=eos,
            pad_token_id=pad if pad is not None else eos, resid_pdrop=dropout,
            embd_pdrop=dropout, attn_pdrop=dropout,
        )  # fmt: skip
    common: dict[str, Any] = dict(
        vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=inner, max_position_embeddings=max_positions,
        pad_token_id=pad if pad is not None else 0, hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )  # fmt: skip
    if family == "bert":
        return BertConfig(**common)
    return AlbertConfig(
        **common,
        embedding_size=embedding_size if embedding_size is not None else hidden // 2,
        num_hidden_groups=1 if share_layers else layers,
        inner_group_num=1,
        hidden_act="gelu_new",
        classifier_dropout_prob=dropout,
    )


class _BlockStream:
    """Fixed-length token blocks from a streamed corpus, split into train and held-out blocks."""

    def __init__(
        self, corpus: Any, tokenizer: Any, block_size: int, *, wrap: bool, eval_blocks: int
    ) -> None:
        self.corpus, self.tokenizer, self.wrap = corpus, tokenizer, wrap
        self.inner = block_size - 2 if wrap else block_size
        if self.inner < 8:
            raise ParameterError(f"block_size {block_size} is too small")
        self.eval_blocks = eval_blocks
        self.held_out: list[list[int]] = []

    def blocks(self) -> Iterator[list[int]]:
        """The ids of every block in corpus order; the last partial block is dropped."""
        tok = self.tokenizer
        buffer: list[int] = []
        chunk: list[str] = []
        sep = [] if self.wrap or tok.eos_token_id is None else [int(tok.eos_token_id)]

        def drain() -> Iterator[list[int]]:
            nonlocal buffer
            ids = tok(chunk, add_special_tokens=False, verbose=False)["input_ids"]
            for row in ids:
                buffer.extend(row)
                buffer.extend(sep)
            while len(buffer) >= self.inner:
                block, buffer = buffer[: self.inner], buffer[self.inner :]
                if self.wrap:
                    block = [int(tok.cls_token_id), *block, int(tok.sep_token_id)]
                yield block

        for line in iter_lines(self.corpus):
            chunk.append(line)
            if len(chunk) == 1000:
                yield from drain()
                chunk = []
        if chunk:
            yield from drain()

    def train_blocks(self, rng: np.random.Generator, buffer_size: int) -> Iterator[list[int]]:
        return held_out_split(self.blocks(), rng, buffer_size, self.held_out, self.eval_blocks)


def held_out_split(
    blocks: Iterable[T], rng: np.random.Generator, buffer_size: int, held_out: list[T], limit: int
) -> Iterator[T]:
    """Training blocks through a seeded shuffle buffer; every 100th block (at most ``limit``) goes
    to ``held_out`` instead, collected on the first pass only."""
    pool: list[T] = []
    collect = not held_out
    for index, block in enumerate(blocks):
        if index % 100 == 0 and index // 100 < limit:
            if collect:
                held_out.append(block)
            continue
        pool.append(block)
        if len(pool) >= buffer_size:
            k = int(rng.integers(len(pool)))
            pool[k], pool[-1] = pool[-1], pool[k]
            yield pool.pop()
    for k in rng.permutation(len(pool)):
        yield pool[int(k)]


class _LanguageModelTask:
    metric: str | None = "loss"
    greater_is_better = False

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        stream: _BlockStream,
        *,
        objective: str,
        batch_size: int,
        mlm_probability: float,
        device: str,
        shuffle_buffer: int,
    ) -> None:
        import torch

        self.model, self.tokenizer, self.stream = model, tokenizer, stream
        self.objective, self.batch_size, self.device = objective, batch_size, device
        self.mlm_probability = mlm_probability
        self.shuffle_buffer = shuffle_buffer
        special = set(tokenizer.all_special_ids)
        self.special = torch.zeros(len(tokenizer), dtype=torch.bool)
        self.special[sorted(special)] = True
        self.mask_id = tokenizer.mask_token_id
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else -1
        # BERT keeps its MLM head in .cls, ALBERT in .predictions; others run the full forward
        head = getattr(model, "cls", None)
        self.head = head if head is not None else getattr(model, "predictions", None)
        self.base: Any = getattr(model, model.base_model_prefix, None)
        if self.base is None:
            self.head = None
        if objective == "mlm" and self.mask_id is None:
            raise ParameterError("masked-LM pretraining needs a tokenizer with a mask token")

    def batches_per_epoch(self) -> None:
        return None

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[Any]:
        import torch

        batch: list[list[int]] = []
        for block in self.stream.train_blocks(rng, self.shuffle_buffer):
            batch.append(block)
            if len(batch) == self.batch_size:
                yield torch.tensor(batch, dtype=torch.long)
                batch = []
        if batch:
            yield torch.tensor(batch, dtype=torch.long)

    def _mask(self, ids: Any, generator: Any = None) -> tuple[Any, Any]:
        """BERT's dynamic masking: 15% of non-special tokens; 80% [MASK], 10% random, 10% kept."""
        import torch

        labels = ids.clone()
        p = torch.full(ids.shape, self.mlm_probability)
        p[self.special[ids]] = 0.0
        chosen = torch.bernoulli(p, generator=generator).bool()
        labels[~chosen] = -100
        inputs = ids.clone()
        replace = torch.bernoulli(torch.full(ids.shape, 0.8), generator=generator).bool() & chosen
        inputs[replace] = self.mask_id
        rand = (
            torch.bernoulli(torch.full(ids.shape, 0.5), generator=generator).bool()
            & chosen
            & ~replace
        )
        inputs[rand] = torch.randint(
            len(self.tokenizer), ids.shape, dtype=torch.long, generator=generator
        )[rand]
        return inputs, labels

    def _loss(self, ids: Any, generator: Any = None) -> Any:
        import torch

        ids = ids.to(self.device)
        if self.objective == "causal":
            return self.model(input_ids=ids, labels=ids).loss
        inputs, labels = self._mask(ids.cpu(), generator)
        inputs, labels = inputs.to(self.device), labels.to(self.device)
        if self.head is None:
            return self.model(input_ids=inputs, labels=labels).loss
        # the vocabulary projection only where a token was masked: ~7x less work than all positions
        hidden = self.base(input_ids=inputs, attention_mask=inputs.ne(self.pad)).last_hidden_state
        chosen = labels.ne(-100)
        logits = self.head(hidden[chosen])
        return torch.nn.functional.cross_entropy(logits.float(), labels[chosen])

    def loss(self, batch: Any) -> Any:
        return self._loss(batch)

    def evaluate(self) -> dict[str, float]:
        import torch

        blocks = self.stream.held_out
        if not blocks:
            return {}
        generator = torch.Generator().manual_seed(0)  # the same masks at every evaluation
        total, count = 0.0, 0
        with torch.inference_mode():
            for start in range(0, len(blocks), self.batch_size):
                ids = torch.tensor(blocks[start : start + self.batch_size], dtype=torch.long)
                total += float(self._loss(ids, generator)) * len(ids)
                count += len(ids)
        loss = total / count
        return {"loss": loss, "perplexity": float(np.exp(min(loss, 50.0)))}

    def save(self, folder: Path) -> None:
        self.model.save_pretrained(str(folder), safe_serialization=True)
        self.tokenizer.save_pretrained(str(folder))


def _tokenizer(tokenizer: Any) -> Any:
    if isinstance(tokenizer, str | os.PathLike):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(tokenizer))
    return tokenizer


def iter_lines(corpus: Any) -> Iterator[str]:
    """The non-empty, stripped lines of a corpus path (file or folder) or of a list of lines."""
    if isinstance(corpus, str | os.PathLike):
        yield from corpus_lines(corpus, None)
    else:
        yield from (line.strip() for line in corpus if line.strip())


def reusable_corpus(corpus: str | os.PathLike[str] | Iterable[str]) -> Any:
    """A corpus path that exists, or the lines of an iterable as a list (read once per epoch)."""
    if isinstance(corpus, str | os.PathLike):
        if not Path(corpus).exists():
            raise ParameterError(f"no such corpus file or folder: {os.fspath(corpus)}")
        return corpus
    return list(corpus)


def pretrain(
    corpus: str | os.PathLike[str] | Iterable[str],
    *,
    tokenizer: Any,
    config: Any,
    args: TrainingArguments,
    objective: Objective | None = None,
    block_size: int = 128,
    mlm_probability: float = 0.15,
    eval_blocks: int = 256,
    shuffle_buffer: int = 4096,
) -> TrainResult:
    """Pretrain a model made from ``config`` on ``corpus``; see the module docstring."""
    from ..optional import import_torch

    import_torch()
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    tok = _tokenizer(tokenizer)
    kind = str(getattr(config, "model_type", ""))
    goal = objective or ("causal" if kind in _CAUSAL else "mlm")
    check_choice("objective", "pretrain", goal, ("mlm", "causal"))
    if getattr(config, "vocab_size", len(tok)) < len(tok):
        raise ParameterError(
            f"config.vocab_size {config.vocab_size} is smaller than the tokenizer ({len(tok)})"
        )
    limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", 0)
    if limit and block_size > limit:
        raise ParameterError(f"block_size {block_size} exceeds the model's {limit} positions")
    seed_everything(args.seed)
    model = (AutoModelForCausalLM if goal == "causal" else AutoModelForMaskedLM).from_config(config)  # type: ignore[no-untyped-call]
    corpus = reusable_corpus(corpus)
    stream = _BlockStream(corpus, tok, block_size, wrap=goal == "mlm", eval_blocks=eval_blocks)
    task = _LanguageModelTask(
        model, tok, stream, objective=goal, batch_size=args.batch_size,
        mlm_probability=mlm_probability, device=resolve_device(args.device),
        shuffle_buffer=shuffle_buffer,
    )  # fmt: skip
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("pretraining a %s %s model (%.1fM parameters)", kind, goal, n_params / 1e6)
    return train(task, args)
