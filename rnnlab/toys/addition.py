"""Binary addition: an RNN that learns the carry generalises to any length; a feed-forward net does not.

The RNN reads the bits of a and b least-significant first, one pair per step, and emits
the bit of the sum at that step (one extra step for the final carry):
    h_t = sigmoid(W_xh [a_t, b_t] + W_hh h_{t-1} + b_h)        sigmoid hidden units
    s_t = sigmoid(w_hy . h_t + b_y)                             P(sum bit t = 1)
Trained on 8-bit numbers only, then tested on 8-, 16- and 32-bit numbers.
The foil: an MLP that sees all 2 x 32 input bits at once and outputs all 33 sum bits,
trained on the same 8-bit numbers (higher bits zero).
"""
from __future__ import annotations

import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MAX_BITS = 32


def to_bits(x: np.ndarray, n: int) -> np.ndarray:
    """(N,) non-negative ints -> (N, n) bits, least significant first."""
    return ((x[:, None].astype(np.uint64) >> np.arange(n, dtype=np.uint64)) & 1).astype(np.float32)


def random_pairs(rng: np.random.Generator, count: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    high = 1 << bits
    return rng.integers(0, high, count, dtype=np.uint64), rng.integers(0, high, count, dtype=np.uint64)


class AdderRNN(nn.Module):
    """A one-layer sigmoid RNN reading (a_t, b_t) and emitting sum bit t."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.W_xh = nn.Linear(2, hidden)
        self.W_hh = nn.Linear(hidden, hidden, bias=False)
        self.w_hy = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, T, 2) bit pairs -> (N, T) logits of the sum bits."""
        h = torch.zeros(x.shape[0], self.W_hh.in_features)                    # (N, H)
        logits = []
        for t in range(x.shape[1]):
            h = torch.sigmoid(self.W_xh(x[:, t]) + self.W_hh(h))                # (N, H)
            logits.append(self.w_hy(h)[:, 0])                                  # (N,)
        return torch.stack(logits, dim=1)                                      # (N, T)


def rnn_inputs(a: np.ndarray, b: np.ndarray, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Bit pairs over bits+1 steps (the last reads zeros to emit the carry) and the sum's bits."""
    x = np.stack([to_bits(a, bits + 1), to_bits(b, bits + 1)], axis=2)        # (N, bits+1, 2)
    return torch.from_numpy(x), torch.from_numpy(to_bits(a + b, bits + 1))    # (N, bits+1)


def mlp_inputs(a: np.ndarray, b: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = np.concatenate([to_bits(a, MAX_BITS), to_bits(b, MAX_BITS)], axis=1)  # (N, 64)
    return torch.from_numpy(x), torch.from_numpy(to_bits(a + b, MAX_BITS + 1))  # (N, 33)


def exact_accuracy(logits: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of sums with every bit right."""
    return float(((logits > 0).float() == target).all(dim=1).float().mean())


def _fit(model: nn.Module, batches, steps: int, lr: float, name: str = "", progress: bool = True) -> float:
    """Adam on `steps` batches; a bar on stderr (a terminal only) shows the loss every 100 steps."""
    from tqdm import tqdm
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss = torch.tensor(0.0)
    bar = tqdm(total=steps, desc=f"training the {name}", unit="step", file=sys.stderr, dynamic_ncols=True,
               mininterval=0.5, disable=None if progress else True, leave=False)   # None: off when not a terminal
    for step in range(steps):
        x, y = batches(step)
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if not bar.disable and ((step + 1) % 100 == 0 or step + 1 == steps):
            bar.set_postfix_str(f"loss {float(loss.detach()):.4f}", refresh=False)
            bar.update(step + 1 - bar.n)
    bar.close()
    return float(loss.detach())


def run(seed: int = 0, hidden: int = 16, steps: int = 3000, test_count: int = 2000,
        lengths=(8, 16, 32), progress: bool = True) -> dict:
    """Train both models on 40,000 of the 65,536 8-bit pairs; exact accuracy on unseen pairs of each length."""
    torch.manual_seed(seed)
    pairs = np.random.default_rng(seed).permutation(1 << 16).astype(np.uint64)
    train_a, train_b = pairs[:40000] >> np.uint64(8), pairs[:40000] & np.uint64(255)
    held_a, held_b = pairs[40000:][:test_count] >> np.uint64(8), pairs[40000:][:test_count] & np.uint64(255)
    rnn = AdderRNN(hidden)
    batch = lambda s: (train_a[s % 400 * 100:][:100], train_b[s % 400 * 100:][:100])  # noqa: E731
    _fit(rnn, lambda s: rnn_inputs(*batch(s), 8), steps, 0.05, "RNN (1/2)", progress)
    mlp = nn.Sequential(nn.Linear(2 * MAX_BITS, 256), nn.ReLU(), nn.Linear(256, MAX_BITS + 1))
    _fit(mlp, lambda s: mlp_inputs(*batch(s)), steps, 3e-3, "MLP (2/2)", progress)
    result = {"rnn": {}, "mlp": {}}
    with torch.no_grad():
        for n in lengths:
            a, b = (held_a, held_b) if n == 8 else random_pairs(np.random.default_rng(seed + n), test_count, n)
            result["rnn"][str(n)] = exact_accuracy(*_apply(rnn, rnn_inputs(a, b, n)))
            result["mlp"][str(n)] = exact_accuracy(*_apply(mlp, mlp_inputs(a, b)))
    return result


def _apply(model, xy):
    x, y = xy
    return model(x), y
