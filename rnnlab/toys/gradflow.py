"""Why plain RNNs are hard to train: how the backward signal grows or dies over time.

1. Sweep: a 5-unit RNN with W_hh = radius * (random orthogonal matrix), so every
   singular value (and the spectral radius) equals `radius`, is run 50 steps; a unit
   gradient at the last step is carried back by hand (dh_{t-1} = W_hh^T (f'(a_t) * dh_t))
   and its norm recorded at every step, for linear, ReLU and tanh units. Through a
   linear unit it scales by exactly radius^t: it explodes above 1 and vanishes below.
   f' <= 1 for ReLU and tanh, so below 1 they vanish too; above 1 they can explode.
2. A vanilla RNN and an LSTM (rnnlab's cells, 64 units, PyTorch's default init, forget
   bias 1) read 100 random inputs; the norm of dLoss/dh_t for a loss at the last step
   shows how far back each one's gradient reaches.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..models.cells import CELLS
from ..models.recurrent import Recurrent
from ..reports import pyplot, save_figure, write_json

ACTIVATIONS = {
    "linear": (lambda a: a, lambda a: np.ones_like(a)),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(a.dtype)),
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
}


def backward_norms(radius: float, activation: str, steps: int = 50, units: int = 5, seed: int = 0) -> np.ndarray:
    """||dL/dh_t|| for t = steps .. 0 (index 0 is the last step, where ||dL/dh|| = 1)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(units, units)))
    W = radius * q                                               # all singular values = radius
    f, df = ACTIVATIONS[activation]
    h = rng.normal(scale=0.5, size=units)
    pre = []
    for _ in range(steps):                                        # forward, small random inputs
        a = W @ h + rng.normal(scale=0.1, size=units)
        pre.append(a)
        h = f(a)
    g = np.ones(units) / np.sqrt(units)
    norms = [1.0]
    for a in reversed(pre):                                       # backward by hand
        g = W.T @ (df(a) * g)
        norms.append(float(np.linalg.norm(g)))
    return np.array(norms)


def rnn_vs_lstm(steps: int = 100, hidden: int = 64, seed: int = 0) -> dict[str, list[float]]:
    """||dLoss/dh_t|| for t = 0..steps-1, loss = sum of the last hidden state's squares / 2."""
    torch.manual_seed(seed)
    x = torch.randn(1, steps, 16)
    out = {}
    for kind in ("rnn", "lstm"):
        rec = Recurrent(kind, 16, hidden, 1)
        w = rec.layer_weights(0)
        state = tuple(s[0] for s in rec.init_state(1))
        hs = []
        for t in range(steps):
            h, state = CELLS[kind](x[:, t], state, w)
            h.retain_grad()
            hs.append(h)
        (hs[-1].pow(2).sum() / 2).backward()
        out[kind] = [float(h.grad.norm()) for h in hs]
    return out


def run(out_dir: str | Path, radii=(0.5, 0.8, 0.9, 1.0, 1.1, 1.2, 1.5), seed: int = 0) -> dict:
    """Both experiments; writes sweep.png, rnn_vs_lstm.png and gradflow.json into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep = {act: {str(r): backward_norms(r, act, seed=seed).tolist() for r in radii} for act in ACTIVATIONS}
    summary = {act: {r: curve[-1] for r, curve in curves.items()} for act, curves in sweep.items()}
    compare = rnn_vs_lstm(seed=seed)
    result = {"sweep_final_norm": summary, "sweep": sweep, "rnn_vs_lstm": compare,
              "note": "sweep: norm of the backward signal after 50 steps, starting from norm 1"}
    write_json(out_dir / "gradflow.json", result, indent=1)
    _plot(out_dir, sweep, compare)
    return result


def _plot(out_dir: Path, sweep: dict, compare: dict) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(sweep), figsize=(5 * len(sweep) + 1.5, 4.4), sharey=True)
    for ax, (act, curves) in zip(axes, sweep.items()):
        for r, curve in curves.items():
            line, = ax.semilogy(range(len(curve)), curve, label=r)
            _mark_zero(ax, curve, line.get_color())
        ax.set_title(f"{act} units")
        ax.set_xlabel("steps back in time")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("||dL/dh|| (1 at the last step)")
    axes[-1].legend(title="spectral radius\nof W_hh", fontsize=8, title_fontsize=8, loc="center left",
                    bbox_to_anchor=(1.02, 0.5))
    fig.suptitle("Backward signal through 50 steps of a 5-unit RNN, W_hh = radius x (random orthogonal)"
                 + (";  ▼: it becomes exactly 0" if _any_zero(sweep) else ""), fontsize=11)
    save_figure(fig, out_dir / "sweep.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = len(next(iter(compare.values())))
    for kind, norms in compare.items():
        line, = ax.semilogy(range(len(norms)), norms, label=kind.upper())
        _mark_zero(ax, norms[::-1], line.get_color(), reverse=True)
    ax.set_xlabel("time step t (loss at the last step)")
    ax.set_ylabel("||dLoss/dh_t||")
    ax.set_title("How far back the gradient reaches: vanilla RNN vs LSTM\n"
                 f"({steps} random inputs" + ("; ▼: exactly 0 before it)" if _any_zero(compare) else ")"),
                 fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, out_dir / "rnn_vs_lstm.png")


def _any_zero(curves: dict) -> bool:
    flat = [c for v in curves.values() for c in (v.values() if isinstance(v, dict) else [v])]
    return any(min(c) == 0.0 for c in flat)


def _mark_zero(ax, curve, color, reverse: bool = False) -> None:
    """A log axis cannot show 0: mark the last non-zero value before a curve (read from its start) hits 0."""
    zeros = [i for i, v in enumerate(curve) if v == 0.0]
    if zeros and zeros[0] > 0:
        i = zeros[0] - 1
        ax.plot(len(curve) - 1 - i if reverse else i, curve[i], "v", color=color, ms=7)
