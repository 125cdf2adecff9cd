"""An unpadded forward pass for BERT-family encoders (BERT, MiniLM, ...) on CPU.

A padded batch spends the dense layers — the query/key/value and output projections and the
feed-forward block, nearly all of a short text's compute — on padding as well as on tokens. Here
the real tokens of every text in a call are packed into one ``(tokens, hidden)`` matrix for those
layers; only attention, which must see each text on its own, runs on a padded
``(texts, heads, longest, head_dim)`` view rebuilt from the packed rows. A call of mixed lengths
then costs about what a call of sorted lengths does, which lets a server batch whatever requests
arrive together. The arithmetic is the model's own (same weights, same order of operations up to
the fused query/key/value projection), so outputs match ``transformers`` to float32 rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backends import IntArray


def supports_packing(model: Any) -> bool:
    """Whether ``model`` is a plain BERT encoder this module can run unpadded."""
    config = model.config
    return (
        getattr(config, "model_type", None) == "bert"
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and getattr(config, "hidden_act", None) in ("gelu", "relu")
        and not getattr(config, "is_decoder", False)
        and hasattr(model, "embeddings")
        and hasattr(model, "encoder")
    )


class PackedBert:
    """Runs a ``transformers`` ``BertModel``'s weights on packed tokens; see the module docstring."""

    def __init__(self, model: Any) -> None:
        import torch

        cfg = model.config
        emb = model.embeddings
        self.word = emb.word_embeddings.weight
        self.position = emb.position_embeddings.weight
        self.token_type = emb.token_type_embeddings.weight[0]
        self.norm = emb.LayerNorm
        self.heads = int(cfg.num_attention_heads)
        self.hidden = int(cfg.hidden_size)
        self.act = torch.nn.functional.gelu if cfg.hidden_act == "gelu" else torch.relu
        self.attention = [layer.attention.self for layer in model.encoder.layer]
        self._fused: list[tuple[Any, Any]] = []
        self._stamp: tuple[tuple[int, int], ...] = ()
        self.layers = []
        for layer in model.encoder.layer:
            self.layers.append(
                (
                    layer.attention.output.dense,
                    layer.attention.output.LayerNorm,
                    layer.intermediate.dense,
                    layer.output.dense,
                    layer.output.LayerNorm,
                )
            )

    def _qkv(self) -> list[tuple[Any, Any]]:
        """Each layer's query/key/value projections fused into one, rebuilt whenever a weight
        changed (an optimizer step or ``load_state_dict`` bumps its version; a new tensor has a
        new address), so a model being fine-tuned is never run with stale attention weights."""
        import torch

        params = [
            t
            for att in self.attention
            for lin in (att.query, att.key, att.value)
            for t in (lin.weight, lin.bias)
        ]
        stamp = tuple((t.data_ptr(), t._version) for t in params)
        if stamp != self._stamp:
            with torch.no_grad():
                self._fused = [
                    (
                        torch.cat([att.query.weight, att.key.weight, att.value.weight]),
                        torch.cat([att.query.bias, att.key.bias, att.value.bias]),
                    )
                    for att in self.attention
                ]
            self._stamp = stamp
        return self._fused

    def __call__(self, ids: IntArray, mask: IntArray) -> Any:
        """``(batch, longest)`` ids and 0/1 mask (right-padded) -> ``(batch, longest, hidden)``
        last hidden states, zeros at padding."""
        import torch
        import torch.nn.functional as F

        b, width = ids.shape
        keep = torch.from_numpy(mask.reshape(-1) != 0)
        flat = torch.from_numpy(ids.reshape(-1))[keep]
        positions = torch.from_numpy(np.tile(np.arange(width), b))[keep]
        where = torch.nonzero(keep).squeeze(1)  # each packed token's slot in the padded grid
        x = self.norm(self.word[flat] + self.position[positions] + self.token_type)
        shut = torch.from_numpy(mask == 0).view(b, 1, 1, width)
        bias = torch.zeros(b, 1, 1, width, dtype=x.dtype).masked_fill_(shut, float("-inf"))
        h, d = self.heads, self.hidden // self.heads
        scale = d**-0.5
        for (qkv_w, qkv_b), (out, norm1, up, down, norm2) in zip(self._qkv(), self.layers):
            grid = x.new_zeros(b * width, 3 * self.hidden)
            grid[where] = F.linear(x, qkv_w, qkv_b)
            q, k, v = grid.view(b, width, 3, h, d).permute(2, 0, 3, 1, 4)
            weights = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * scale + bias, dim=-1)
            context = torch.matmul(weights, v).permute(0, 2, 1, 3).reshape(b * width, self.hidden)
            x = norm1(out(context[where]) + x)
            x = norm2(down(self.act(up(x))) + x)
        full = x.new_zeros(b * width, self.hidden)
        full[where] = x
        return full.view(b, width, self.hidden)
