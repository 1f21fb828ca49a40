"""Gate saturation (Karpathy, Johnson & Fei-Fei 2015, fig. 3): for every sigmoid gate of every layer, the
fraction of positions at which each unit is left-saturated (activation < 0.1) or right-saturated (> 0.9).

A unit near the right edge of the scatter plot is "always on" (a forget gate that remembers); one near the
top-left corner switches (an input gate that writes only at some characters).
"""
from __future__ import annotations

import numpy as np

from .activations import DEFAULT_CHUNK, SIGMOID_GATES, stream

LEFT, RIGHT = 0.1, 0.9


def saturation(model, tokens: np.ndarray, chunk: int = DEFAULT_CHUNK, progress=None) -> dict:
    """{gate: {"left": (L, H), "right": (L, H)}} fractions of positions, for the model's sigmoid gates."""
    left: dict[str, np.ndarray] = {}
    right: dict[str, np.ndarray] = {}
    n = 0
    for acts in stream(model, tokens, chunk=chunk, with_predictions=False):
        for name, values in acts.gates.items():                 # (L, T, H)
            if name not in SIGMOID_GATES:
                continue
            left[name] = left.get(name, 0) + (values < LEFT).sum(axis=1)
            right[name] = right.get(name, 0) + (values > RIGHT).sum(axis=1)
        n += len(acts)
        if progress:
            progress(n / len(tokens))
    return {name: {"left": left[name] / n, "right": right[name] / n} for name in left}


def summary(stats: dict) -> dict:
    """JSON-ready: per gate and layer, the units' fractions and how many units are mostly saturated."""
    out = {}
    for name, s in stats.items():
        out[name] = []
        for layer, (lf, rf) in enumerate(zip(s["left"], s["right"])):
            out[name].append({"layer": layer, "left": [round(float(v), 4) for v in lf],
                              "right": [round(float(v), 4) for v in rf],
                              "mean_left": round(float(lf.mean()), 4), "mean_right": round(float(rf.mean()), 4),
                              "units_right_saturated_over_half": int((rf > 0.5).sum()),
                              "units_left_saturated_over_half": int((lf > 0.5).sum())})
    return out


def plot(stats: dict, path) -> None:
    """The paper's scatter: one panel per gate, x = left-saturated fraction, y = right-saturated, a colour
    per layer."""
    from ..reports import pyplot, save_figure
    names = list(stats)
    fig, axes = pyplot().subplots(1, len(names), figsize=(3.6 * len(names), 3.6))
    axes = np.atleast_1d(axes)
    for ax, name in zip(axes, names):
        for layer, (lf, rf) in enumerate(zip(stats[name]["left"], stats[name]["right"])):
            ax.scatter(lf, rf, s=6, alpha=0.6, label=f"layer {layer + 1}")
        ax.plot([0, 1], [1, 0], color="0.7", lw=0.8)
        ax.set(xlim=(0, 1), ylim=(0, 1), title=f"{name} gate", xlabel="fraction left-saturated (< 0.1)")
        ax.set_ylabel("fraction right-saturated (> 0.9)")
    axes[0].legend(fontsize=8, loc="upper right")
    save_figure(fig, path)
