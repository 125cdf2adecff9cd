"""Inference with an ELMo-style bidirectional LSTM language model: the model and its encoder.

The model (:func:`build_bilm`, shaped by :class:`BiLMConfig`): token representations from a
character CNN over each word's UTF-8 bytes (filters of widths 1-5, max-pooled, a highway layer, a
projection) — no word is ever out of vocabulary — or from a plain word-embedding table
(``inputs="words"``); ``layers`` LSTM layers per direction with projections (LSTMP) and a residual
connection between layers; an adaptive softmax over the ``vocab_size`` most frequent words, as
ELMo (Peters et al., 2018) has.

:class:`BiLMEncoder` loads a trained folder (``model/``: ``bilm.json``, ``model.safetensors``,
``vocab.txt``). Its layer ``0`` is the context-free token vector (doubled to match widths), layer
``k`` concatenates the forward and backward states of LSTM layer ``k``. ``word_vectors(texts)``
gives one vector per word, mixed over layers (``mix="average"``: ELMo's equal weights, ``"top"``,
a layer number or explicit weights); ``encode(texts)`` averages them into sentence vectors, so the
biLM satisfies the :class:`~embedlab.encoders.base.Encoder` protocol. Training lives in
:mod:`embedlab.neural.bilm`; this module does not train.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError, check_choice
from ..files import read_json
from ..rows import normalize_inplace
from .base import as_texts, length_sorted_batches

logger = logging.getLogger(__name__)

__all__ = ["BiLMConfig", "BiLMEncoder", "BiLMVocab", "bilm_batch", "bilm_words", "build_bilm"]

SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]
PAD, UNK, BOS, EOS = 0, 1, 2, 3
_CHAR_PAD, _BOW, _EOW = 0, 1, 2  # character ids: these three, then byte + 3
FORMAT_VERSION = 1


@dataclass
class BiLMConfig:
    """The biLM's shape. ``vocab_size`` counts the softmax words, specials included."""

    vocab_size: int = 20000
    inputs: Literal["chars", "words"] = "chars"
    char_dim: int = 16
    filters: list[tuple[int, int]] = field(
        default_factory=lambda: [(1, 32), (2, 32), (3, 64), (4, 128), (5, 256)]
    )
    highway: int = 1
    max_chars: int = 20
    proj_dim: int = 128
    lstm_dim: int = 512
    layers: int = 2
    dropout: float = 0.1
    lowercase: bool = True

    def __post_init__(self) -> None:
        check_choice("inputs", "BiLMConfig", self.inputs, ("chars", "words"))
        self.filters = [(int(w), int(n)) for w, n in self.filters]
        if self.vocab_size < len(SPECIALS) + 2 or self.layers < 1 or self.proj_dim < 4:
            raise ParameterError(
                "BiLMConfig needs vocab_size >= 6, layers >= 1 and proj_dim >= 4; got "
                f"{self.vocab_size}, {self.layers}, {self.proj_dim}"
            )


def build_bilm(config: BiLMConfig) -> Any:
    import torch
    from torch import nn

    class BiLM(nn.Module):
        def __init__(self, cfg: BiLMConfig) -> None:
            super().__init__()
            self.cfg = cfg
            if cfg.inputs == "chars":
                self.char_emb = nn.Embedding(259, cfg.char_dim, padding_idx=_CHAR_PAD)
                self.convs = nn.ModuleList(nn.Conv1d(cfg.char_dim, n, w) for w, n in cfg.filters)
                width = sum(n for _, n in cfg.filters)
                self.highways = nn.ModuleList(
                    nn.Linear(width, 2 * width) for _ in range(cfg.highway)
                )
                self.token_proj = nn.Linear(width, cfg.proj_dim)
            else:
                self.word_emb = nn.Embedding(cfg.vocab_size, cfg.proj_dim, padding_idx=PAD)

            def lstm() -> nn.LSTM:
                return nn.LSTM(cfg.proj_dim, cfg.lstm_dim, batch_first=True, proj_size=cfg.proj_dim)

            self.fwd = nn.ModuleList(lstm() for _ in range(cfg.layers))
            self.bwd = nn.ModuleList(lstm() for _ in range(cfg.layers))
            self.drop = nn.Dropout(cfg.dropout)
            v = cfg.vocab_size
            cutoffs = sorted({c for c in (v // 10, v // 2) if 0 < c < v - 1})
            tails = 0  # each tail cluster projects to proj_dim / 4**k: keep that >= 1
            while tails < len(cutoffs) and cfg.proj_dim // 4 ** (tails + 1) >= 1:
                tails += 1
            cutoffs = cutoffs[:tails]
            self.softmax = nn.AdaptiveLogSoftmaxWithLoss(
                cfg.proj_dim, v, cutoffs=cutoffs, div_value=4.0
            )

        def tokens(self, x: torch.Tensor) -> Any:
            if self.cfg.inputs == "words":
                return self.word_emb(x)
            b, t, c = x.shape
            e = self.char_emb(x.view(b * t, c)).transpose(1, 2)
            h = torch.cat([torch.relu(conv(e)).max(dim=2).values for conv in self.convs], dim=1)
            for layer in self.highways:
                nonlin, gate = layer(h).chunk(2, dim=-1)
                g = torch.sigmoid(gate)
                h = g * torch.relu(nonlin) + (1 - g) * h
            return self.token_proj(h).view(b, t, -1)

        def _run(self, stack: nn.ModuleList, x: torch.Tensor, lengths: torch.Tensor) -> list[Any]:
            from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

            outs, h = [], x
            for i, lstm in enumerate(stack):
                packed = pack_padded_sequence(
                    self.drop(h), lengths.cpu(), batch_first=True, enforce_sorted=False
                )
                o, _ = lstm(packed)
                o, _ = pad_packed_sequence(o, batch_first=True, total_length=x.shape[1])
                h = o + h if i > 0 else o  # residual between LSTM layers
                outs.append(h)
            return outs

        def states(self, x: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
            """Per layer ``(batch, time, 2 * proj_dim)``: tokens doubled, then [fwd; bwd]."""
            tok = self.tokens(x)
            t = tok.shape[1]
            pos = torch.arange(t, device=tok.device).unsqueeze(0)
            rev = torch.where(pos < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - pos, pos)
            flip = rev.unsqueeze(-1).expand(-1, -1, tok.shape[-1])
            forward = self._run(self.fwd, tok, lengths)
            backward = [
                o.gather(1, flip) for o in self._run(self.bwd, tok.gather(1, flip), lengths)
            ]
            return [torch.cat([tok, tok], -1)] + [
                torch.cat([f, b], -1) for f, b in zip(forward, backward, strict=True)
            ]

        def loss(self, x: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor) -> Any:
            top = self.states(x, lengths)[-1]
            d = self.cfg.proj_dim
            f, b = self.drop(top[..., :d]), self.drop(top[..., d:])
            valid = torch.arange(targets.shape[1], device=x.device).unsqueeze(
                0
            ) < lengths.unsqueeze(1)
            nxt = valid[:, 1:]  # position t predicts t+1 forwards, t+1 predicts t backwards
            # the adaptive softmax writes into float32 buffers: keep it out of autocast
            with torch.autocast(x.device.type, enabled=False):
                fl = self.softmax(f[:, :-1][nxt].float(), targets[:, 1:][nxt]).loss
                bl = self.softmax(b[:, 1:][nxt].float(), targets[:, :-1][nxt]).loss
            return (fl + bl) / 2

    return BiLM(config)


class BiLMVocab:
    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        self._chars: dict[str, list[int]] = {}

    def ids(self, words: Sequence[str]) -> list[int]:
        return [self.index.get(w, UNK) for w in words]

    def chars(self, word: str, max_chars: int) -> list[int]:
        got = self._chars.get(word)
        if got is None:
            raw = [b + 3 for b in word.encode("utf-8")[: max_chars - 2]]
            got = [_BOW, *raw, _EOW]
            if len(self._chars) < 500_000:
                self._chars[word] = got
        return got


def bilm_words(lowercase: bool) -> Any:
    from ..text.tokenize import Tokenizer

    return Tokenizer(lowercase=lowercase, keep_punct=True, normalize="NFKC")


def bilm_batch(
    rows: Sequence[Sequence[str]], vocab: BiLMVocab, cfg: BiLMConfig, device: str
) -> tuple[Any, Any, Any]:
    """Inputs (char ids or word ids), target word ids and lengths for word sequences."""
    import torch

    t = max(len(r) for r in rows)
    targets = torch.zeros((len(rows), t), dtype=torch.long)
    for i, r in enumerate(rows):
        targets[i, : len(r)] = torch.tensor(vocab.ids(r))
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    if cfg.inputs == "words":
        x = targets
    else:
        x = torch.zeros((len(rows), t, cfg.max_chars), dtype=torch.long)
        for i, r in enumerate(rows):
            for j, w in enumerate(r):
                ch = vocab.chars(w, cfg.max_chars)
                x[i, j, : len(ch)] = torch.tensor(ch)
    return x.to(device), targets.to(device), lengths.to(device)


class BiLMEncoder:
    """Contextual word vectors and sentence vectors from a trained biLM folder."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        mix: Literal["average", "top"] | int | Sequence[float] = "average",
        normalize: bool = False,
        device: str = "cpu",
    ) -> None:
        from ..optional import import_torch

        import_torch()
        from safetensors.torch import load_model

        path = Path(folder)
        if not (path / "bilm.json").exists():
            raise FileNotFoundError(f"no biLM folder (bilm.json) at {path}")
        header = read_json(path / "bilm.json")
        if header.get("format_version") != FORMAT_VERSION:
            raise FormatError(
                path / "bilm.json", f"unknown format_version {header.get('format_version')}"
            )
        self.config = BiLMConfig(**header["config"])
        words = (path / "vocab.txt").read_text(encoding="utf-8").splitlines()
        if len(words) != self.config.vocab_size:
            raise FormatError(
                path / "vocab.txt", f"{len(words)} words, the config says {self.config.vocab_size}"
            )
        self.vocab = BiLMVocab(words)
        self.model = build_bilm(self.config)
        load_model(self.model, str(path / "model.safetensors"))
        self.model.to(device).eval()
        self.device = device
        self.normalize = normalize
        self.weights = self._weights(mix)
        self._name = path.name
        self._split = bilm_words(self.config.lowercase)

    def _weights(self, mix: Any) -> npt.NDArray[np.float32]:
        n = self.config.layers + 1
        if isinstance(mix, str):
            check_choice("mix", "BiLMEncoder", mix, ("average", "top"))
            w = np.full(n, 1.0 / n) if mix == "average" else np.eye(n)[-1]
        elif isinstance(mix, int):
            if not 0 <= mix < n:
                raise ParameterError(f"layer {mix} does not exist; this biLM has layers 0-{n - 1}")
            w = np.eye(n)[mix]
        else:
            w = np.asarray(mix, dtype=np.float64)
            if w.shape != (n,):
                raise ParameterError(f"mix weights need {n} values, got {len(w)}")
        return np.asarray(w, dtype=np.float32)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return 2 * self.config.proj_dim

    @property
    def max_length(self) -> int | None:
        return None

    def layer_vectors(self, texts: Sequence[str], *, batch_size: int = 32) -> list[Any]:
        """Per text: its words and an array ``(layers + 1, words, dim)`` of every layer's states."""
        import torch

        rows = [["<s>", *self._split(t), "</s>"] for t in texts]
        out: list[Any] = [None] * len(rows)
        with torch.inference_mode():
            for idx in length_sorted_batches([len(r) for r in rows], batch_size):
                x, _, lengths = bilm_batch(
                    [rows[i] for i in idx], self.vocab, self.config, self.device
                )
                layers = torch.stack(self.model.states(x, lengths)).float().cpu().numpy()
                for k, i in enumerate(idx):
                    n = len(rows[i])
                    out[i] = (rows[i][1:-1], layers[:, k, 1 : n - 1])
        return out

    def word_vectors(
        self, texts: str | Sequence[str], *, batch_size: int = 32
    ) -> list[tuple[list[str], npt.NDArray[np.float32]]]:
        """Per text: its words and their mixed contextual vectors ``(words, dim)``."""
        items, _ = as_texts(texts, "BiLMEncoder")
        return [
            (words, np.tensordot(self.weights, layers, axes=1).astype(np.float32))
            for words, layers in self.layer_vectors(items, batch_size=batch_size)
        ]

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int = 32,
        normalize: bool | None = None,
        show_progress: bool | None = None,
    ) -> npt.NDArray[np.float32]:
        """Sentence vectors: the mean of the words' mixed vectors (zeros for a text with none)."""
        items, single = as_texts(texts, "BiLMEncoder")
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for i, (words, vecs) in enumerate(self.word_vectors(items, batch_size=batch_size)):
            if words:
                out[i] = vecs.mean(axis=0)
        if self.normalize if normalize is None else normalize:
            normalize_inplace(out)
        return out[0] if single else out
