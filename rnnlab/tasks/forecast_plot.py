"""The forecast figure: history before the test tail, the truth in it, and forecasts from origins one
horizon apart (so they tile the tail), for the recurrent model and each baseline, MASE in the legend."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..reports import pyplot, save_figure
from .forecast import Prepared

STYLES = {"model": dict(color="C3", lw=1.6), "esn": dict(color="C2", lw=1.1, ls="--"),
          "seasonal_naive": dict(color="C1", lw=1.0, ls=":"), "naive": dict(color="0.55", lw=0.9, ls="-.")}
LABELS = {"esn": "echo state network", "seasonal_naive": "seasonal naive", "naive": "naive"}


def plot_forecasts(data: Prepared, found: dict[str, np.ndarray], path, model_label: str = "recurrent model") -> Path:
    """found: {"model", "naive", "seasonal_naive", "esn"} -> (B, H) forecasts at every test origin."""
    plt = pyplot()
    x, sp = data.windowed.x, data.split
    n_test, h = sp.n - sp.test_start, sp.horizon
    start = max(0, sp.test_start - 3 * n_test)
    fig, ax = plt.subplots(figsize=(11, 4.8))
    ax.plot(np.arange(start, sp.test_start + 1), x[start:sp.test_start + 1], color="k", lw=1.0, label="history")
    ax.plot(np.arange(sp.test_start, sp.n), x[sp.test_start:], color="k", lw=1.0, alpha=0.45, label="truth (test tail)")
    origins = data.origins("test")
    rows = np.arange(0, len(origins), h)                                  # origins one horizon apart
    for name in ("naive", "seasonal_naive", "esn", "model"):
        mase = data.scores(found[name], "test")["mase"]
        label = f"{model_label if name == 'model' else LABELS[name]} (MASE {mase:.3f}, every origin)"
        for k, r in enumerate(rows):
            steps = origins[r] + np.arange(h)
            ax.plot(steps, found[name][r], label=label if k == 0 else None, **STYLES[name])
    ax.axvspan(sp.test_start, sp.n - 1, color="0.93", zorder=0)
    ax.set_xlabel("step")
    ax.set_ylabel(data.series.name)
    ax.set_title(f"{data.series.name}: {h}-step forecasts over the test tail (last {n_test} values), from origins "
                 f"{h} apart", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    return save_figure(fig, path)
