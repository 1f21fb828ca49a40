"""Evaluation: every token of a split scored exactly once, read as parallel rows with a warmed-up state.

    text:     t0 t1 t2 ... (n predictions: t1..tn from their prefixes)
    row 0:    [ scored ......................... ]               starts at the text's beginning
    row 1:              [ burn-in | scored ........... ]         burn-in = the K tokens before its span,
    row 2:                                 [ burn-in | scored ... ]   read for the state, never scored

One stream through a long text is a matrix-vector product per token; R rows read side
by side make it a matrix-matrix product, R times fewer steps. Each row first reads the
K tokens that precede its span (unscored), so every scored token has at least K tokens
of context; `rows=1` gives the single carried stream exactly. Under torchrun each rank reads a
contiguous share of the rows and the ranks' sums of nats are added (every rank must call evaluate).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from . import distributed
from .device import autocast

EVAL_CHUNK = 4096
MAX_ROWS = 64          # rows read side by side
MIN_ROW_TOKENS = 1024  # a row scores at least this many tokens (shorter texts get fewer rows)
BURN_IN = 512          # unscored tokens of context each row (but the first) reads before its span
LOGIT_BUDGET = 1 << 24  # at most this many logits per chunk (64 MB in float32), whatever the vocabulary
GATE_BUDGET = 1 << 25   # at most this many gate pre-activations (R x T x G*H) per chunk: the fused kernels
                        # project every step's input at once, 2 GB for 64 rows of 4096 steps of a 512-unit LSTM


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
        """exp(nats); inf once it passes the largest float (a loss above ~709.78 nats)."""
        try:
            return math.exp(self.nats)
        except OverflowError:
            return math.inf

    def to_dict(self) -> dict:
        """The numbers as JSON allows them: a value that is not finite (an overflowed perplexity) is null."""
        u = self.unit
        values = {f"nats_per_{u}": self.nats, f"bits_per_{u}": self.bits, "perplexity": self.perplexity}
        return {**{k: v if math.isfinite(v) else None for k, v in values.items()}, f"n_{u}s": self.n_tokens}


@dataclass(frozen=True)
class RowPlan:
    """How n predictions are cut into rows: row r scores predictions [starts[r], starts[r] + lengths[r])."""
    starts: np.ndarray     # (R,) first scored prediction of each row
    lengths: np.ndarray    # (R,) predictions scored by each row
    burn_in: np.ndarray    # (R,) unscored tokens read before each row's span

    @property
    def width(self) -> int:
        """Tokens each row reads (burn-in + scored), the longest row's."""
        return int((self.burn_in + self.lengths).max())


def plan_rows(n: int, rows: int = MAX_ROWS, burn_in: int = BURN_IN, min_row: int = MIN_ROW_TOKENS) -> RowPlan:
    """Cut n predictions into at most `rows` spans of near-equal reading width (burn-in + span).

    Row 0 has no burn-in (it starts at the text's start), so it scores `burn_in` more tokens;
    every prediction is in exactly one span.
    """
    R = max(1, min(rows, n // max(1, min_row)))
    if R == 1:
        return RowPlan(np.array([0]), np.array([n]), np.array([0]))
    K = min(burn_in, n // R)
    span = -(-(n - K) // R)                                     # ceil: rows 1.. score `span`, row 0 span + K
    lengths = np.full(R, span)
    lengths[0] = span + K
    lengths[-1] = n - (span + K) - (R - 2) * span               # the remainder (<= span)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    burn = np.minimum(np.full(R, K), starts)
    keep = lengths > 0
    return RowPlan(starts[keep], lengths[keep], burn[keep])


def _windows(tokens: np.ndarray, plan: RowPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """inputs, targets (R, W) int64 and a (R, W) bool mask of the scored positions; short rows padded."""
    R, W = len(plan.starts), plan.width
    inputs = np.zeros((R, W), dtype=np.int64)
    targets = np.zeros((R, W), dtype=np.int64)
    scored = np.zeros((R, W), dtype=bool)
    for r, (s, length, k) in enumerate(zip(plan.starts, plan.lengths, plan.burn_in)):
        a, b = s - k, s + length                                  # inputs tokens[a:b] predict tokens[a+1:b+1]
        inputs[r, :b - a] = tokens[a:b]
        targets[r, :b - a] = tokens[a + 1:b + 1]
        scored[r, k:b - a] = True
    return inputs, targets, scored


@torch.no_grad()
def estimate_seconds(model, n_tokens: int, device: torch.device, dtype: torch.dtype = torch.float32,
                     rows: int = MAX_ROWS, burn_in: int = BURN_IN, probe_len: int = 64) -> float:
    """Seconds `evaluate` will take on n_tokens, from timing `probe_len` steps of its row batch.

    The probe reads fixed tokens in eval mode, so it draws no random numbers (training stays reproducible).
    """
    import time
    plan = plan_rows(n_tokens - 1, rows, burn_in)
    R, W = len(plan.starts), plan.width
    probe_len = min(probe_len, W)
    x = (torch.arange(R * probe_len, device=device) % model.head.out_features).view(R, probe_len)   # (R, P)
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    with autocast(device, dtype):
        logits, _ = model(x)                                                       # (R, P, V)
    float(logits[0, 0, 0])                                                         # wait for the device
    seconds = time.perf_counter() - start
    model.train(was_training)
    return seconds * W / probe_len


@torch.no_grad()
def evaluate(model, tokens: np.ndarray, device: torch.device, dtype: torch.dtype = torch.float32,
             chunk: int = EVAL_CHUNK, rows: int = MAX_ROWS, burn_in: int = BURN_IN,
             on_progress: Callable[[float], None] | None = None) -> Score:
    """Mean cross-entropy of predicting tokens[1:] from their prefixes; every token scored exactly once.

    The text is read as up to `rows` parallel rows, each warmed up on the `burn_in` tokens before
    its span (see the module docstring); rows=1 is one stream with the state carried through.
    on_progress(fraction done) is called after every chunk. Distributed: this rank's rows, summed over ranks.
    """
    was_training = model.training
    model.eval()
    tokens = np.asarray(tokens)
    n = len(tokens) - 1
    plan = plan_rows(n, rows, burn_in)
    inputs, targets, scored = (a[distributed.rows_of_rank(len(plan.starts))] for a in _windows(tokens, plan))
    R, W = inputs.shape
    gates = model.recurrent.layers[0].weight_hh_l0.shape[0] if hasattr(model, "recurrent") else 1   # G*H
    chunk = max(1, min(chunk, LOGIT_BUDGET // (max(R, 1) * model.head.out_features),      # bound the logits
                       GATE_BUDGET // (max(R, 1) * gates)))                                 # and the gates
    total = torch.zeros((), dtype=torch.float64, device=device)
    state = None
    for start in range(0, W if R else 0, chunk):                               # a rank may have no rows
        x = torch.from_numpy(inputs[:, start:start + chunk]).to(device)            # (R, T)
        y = torch.from_numpy(targets[:, start:start + chunk]).to(device)           # (R, T)
        m = torch.from_numpy(scored[:, start:start + chunk]).to(device)            # (R, T)
        with autocast(device, dtype):
            logits, state = model(x, state)                                        # (R, T, V)
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))      # bf16 -> fp32, fp64 stays
        nats = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")  # (R*T,)
        total += nats[m.reshape(-1)].sum(dtype=torch.float64)
        if on_progress is not None:
            on_progress(min(1.0, (start + chunk) / W))
    model.train(was_training)
    return Score(nats=float(distributed.all_sum(total)) / n, n_tokens=n)
