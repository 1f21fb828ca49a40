"""Pooling for many-to-one problems: per-token outputs (B, T, D) and a mask -> one vector per sequence.

    last       the encoder's final states (forward at the last token, backward at the first)
    mean       sum over real tokens / length
    max        element-wise max over real tokens (padding set to -inf first)
    attention  softmax(v . tanh(W h_t)) over real tokens, the weighted sum (Yang et al. 2016's word attention)
Several kinds are concatenated: ("max", "mean") gives (B, 2D). Padding never changes a result (tested).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import require

POOLINGS = ("last", "mean", "max", "attention")


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """x (B, T, D), mask (B, T) -> (B, D)."""
    m = mask[..., None].to(x.dtype)                                       # (B, T, 1)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)                       # (B, D)


def masked_max(x: Tensor, mask: Tensor) -> Tensor:
    """x (B, T, D), mask (B, T) -> (B, D); padding can never be the max."""
    return x.masked_fill(~mask[..., None], float("-inf")).amax(1)        # (B, D)


class AttentionPool(nn.Module):
    """score_t = v . tanh(W h_t + b); weights = softmax over the real tokens; returns sum_t w_t h_t."""

    def __init__(self, size: int, attn: int = 128):
        super().__init__()
        self.proj = nn.Linear(size, attn)
        self.v = nn.Linear(attn, 1, bias=False)

    def weights(self, x: Tensor, mask: Tensor) -> Tensor:
        scores = self.v(torch.tanh(self.proj(x))).squeeze(-1)             # (B, T)
        return scores.masked_fill(~mask, float("-inf")).softmax(-1)      # (B, T)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return torch.einsum("bt,btd->bd", self.weights(x, mask), x)      # (B, D)


class Pooling(nn.Module):
    """Concatenation of the chosen poolings; output size `len(kinds) * size`."""

    def __init__(self, kinds: tuple[str, ...] | list[str], size: int):
        super().__init__()
        kinds = tuple(kinds)
        bad = [k for k in kinds if k not in POOLINGS]
        require(kinds and not bad, f"unknown pooling {', '.join(bad) or '(none)'}",
                f"use --pool with one or more of {', '.join(POOLINGS)}, e.g. --pool max,mean")
        self.kinds, self.size = kinds, size
        self.attention = AttentionPool(size) if "attention" in kinds else None

    @property
    def output_size(self) -> int:
        return len(self.kinds) * self.size

    def forward(self, outputs: Tensor, mask: Tensor, last: Tensor) -> Tensor:
        """outputs (B, T, D), mask (B, T), last (B, D) -> (B, len(kinds) * D)."""
        parts = []
        for kind in self.kinds:
            if kind == "last":
                parts.append(last)
            elif kind == "mean":
                parts.append(masked_mean(outputs, mask))
            elif kind == "max":
                parts.append(masked_max(outputs, mask))
            else:
                parts.append(self.attention(outputs, mask))
        return torch.cat(parts, dim=-1)                                   # (B, K * D)
