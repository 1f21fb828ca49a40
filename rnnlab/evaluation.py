"""Exact evaluation: every token of a split scored once, the hidden state carried through it."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .device import autocast

EVAL_CHUNK = 4096


@dataclass
class Score:
    """Cross-entropy of a model on a token sequence, in the units users quote."""
    nats: float          # mean nats per token
    n_tokens: int        # tokens predicted (all but the first)

    @property
    def bits(self) -> float:
        return self.nats / math.log(2)

    @property
    def perplexity(self) -> float:
        return math.exp(self.nats)

    def to_dict(self, unit: str = "char") -> dict:
        return {f"nats_per_{unit}": self.nats, f"bits_per_{unit}": self.bits,
                "perplexity": self.perplexity, f"n_{unit}s": self.n_tokens}


@torch.no_grad()
def evaluate(model, tokens: np.ndarray, device: torch.device, dtype: torch.dtype = torch.float32,
             chunk: int = EVAL_CHUNK) -> Score:
    """Mean cross-entropy of predicting tokens[1:] from their prefixes, one stream, state carried."""
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    state = None
    n = len(tokens) - 1
    for start in range(0, n, chunk):
        window = torch.from_numpy(np.asarray(tokens[start: start + chunk + 1], dtype=np.int64)).to(device)
        x, y = window[None, :-1], window[None, 1:]                     # (1, T)
        with autocast(device, dtype):
            logits, state = model(x, state)                            # (1, T, V)
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))     # bf16 -> fp32, fp64 stays
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum")
    model.train(was_training)
    return Score(nats=float(total) / n, n_tokens=n)
