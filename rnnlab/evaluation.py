"""Exact evaluation: every token of a split scored once, the hidden state carried through it."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .device import autocast

EVAL_CHUNK = 4096
ROW_TOKENS = 1 << 20   # texts longer than this are read as parallel rows of this length
LOGIT_BUDGET = 1 << 24  # at most this many logits per chunk (64 MB in float32), whatever the vocabulary


@dataclass
class Score:
    """Cross-entropy of a model on a token sequence, in the units users quote."""
    nats: float          # mean nats per token
    n_tokens: int        # tokens predicted (all but the first)
    unit: str = "char"   # what a token is: char, byte or word (the run's --tokenizer)

    @property
    def bits(self) -> float:
        return self.nats / math.log(2)

    @property
    def perplexity(self) -> float:
        return math.exp(self.nats)

    def to_dict(self) -> dict:
        u = self.unit
        return {f"nats_per_{u}": self.nats, f"bits_per_{u}": self.bits, "perplexity": self.perplexity,
                f"n_{u}s": self.n_tokens}


def _score_rows(model, inputs: np.ndarray, targets: np.ndarray, device, dtype, chunk: int) -> torch.Tensor:
    """Summed nats of predicting targets (R, L) from inputs (R, L), each row one stream with its own state."""
    total = torch.zeros((), dtype=torch.float64, device=device)
    state = None
    chunk = max(1, min(chunk, LOGIT_BUDGET // (inputs.shape[0] * model.head.out_features)))  # bound the logits
    for start in range(0, inputs.shape[1], chunk):
        x = torch.from_numpy(inputs[:, start:start + chunk].astype(np.int64)).to(device)   # (R, T)
        y = torch.from_numpy(targets[:, start:start + chunk].astype(np.int64)).to(device)  # (R, T)
        with autocast(device, dtype):
            logits, state = model(x, state)                                               # (R, T, V)
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))             # bf16 -> fp32, fp64 stays
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum")
    return total


@torch.no_grad()
def evaluate(model, tokens: np.ndarray, device: torch.device, dtype: torch.dtype = torch.float32,
             chunk: int = EVAL_CHUNK, row_tokens: int = ROW_TOKENS) -> Score:
    """Mean cross-entropy of predicting tokens[1:] from their prefixes, state carried through the text.

    Up to `row_tokens` predictions this is one stream. A longer text is cut into rows of
    `row_tokens` read side by side (plus the remainder as one more stream): every token is
    still scored exactly once, and only each row's first few tokens see a fresh state.
    """
    was_training = model.training
    model.eval()
    tokens = np.asarray(tokens)
    n = len(tokens) - 1
    rows = n // row_tokens if n > row_tokens else 0
    covered = rows * row_tokens
    total = torch.zeros((), dtype=torch.float64, device=device)
    if rows:
        total += _score_rows(model, tokens[:covered].reshape(rows, row_tokens),
                             tokens[1:covered + 1].reshape(rows, row_tokens), device, dtype, chunk)
    if covered < n:
        total += _score_rows(model, tokens[None, covered:n], tokens[None, covered + 1:n + 1], device, dtype, chunk)
    model.train(was_training)
    return Score(nats=float(total) / n, n_tokens=n)
