"""Try many scales (the lectures' advice): a grid of spectral radius x input scaling x leak rate on
Mackey-Glass one-step prediction; every fit is a closed-form ridge solve, so hundreds take seconds."""
from __future__ import annotations

import itertools

import numpy as np

from ..reports import pyplot, save_figure
from .defaults import INPUT_SCALINGS, LEAK_RATES, RADII
from .model import EchoStateNetwork, nrmse
from .tasks import mackey_glass


def sweep(radii=RADII, input_scalings=INPUT_SCALINGS, leak_rates=LEAK_RATES, n_reservoir: int = 200,
          train: int = 2000, test: int = 1000, seed: int = 0) -> dict:
    """Validation NRMSE (one step ahead) for every combination; the same random matrices, rescaled, for all."""
    series = mackey_glass(train + test + 1)
    u, y = series[:-1], series[1:]
    grid = np.empty((len(radii), len(input_scalings), len(leak_rates)))
    for (i, r), (j, s), (k, a) in itertools.product(enumerate(radii), enumerate(input_scalings), enumerate(leak_rates)):
        esn = EchoStateNetwork(n_reservoir, spectral_radius=r, input_scaling=s, leak_rate=a, bias_scaling=0.5,
                               density=0.2, ridge=1e-8, seed=seed)
        esn.fit(u[:train], y[:train], washout=100)
        pred = esn.predict(u[train:])                               # goes on from the end of the fit
        grid[i, j, k] = nrmse(pred, y[train:])
    best = np.unravel_index(np.nanargmin(grid), grid.shape)
    return {"radii": list(radii), "input_scalings": list(input_scalings), "leak_rates": list(leak_rates),
            "nrmse": grid.tolist(), "fits": int(grid.size),
            "best": {"spectral_radius": radii[best[0]], "input_scaling": input_scalings[best[1]],
                     "leak_rate": leak_rates[best[2]], "nrmse": float(grid[best])}}


def plot_sweep(result: dict, path) -> None:
    plt = pyplot()
    grid = np.log10(np.array(result["nrmse"]))
    leaks = result["leak_rates"]
    fig, axes = plt.subplots(1, len(leaks), figsize=(max(3.6 * len(leaks) + 1.2, 8.5), 4.2), sharey=True,
                             squeeze=False, layout="constrained")
    axes = axes[0]
    for k, ax in enumerate(axes):
        im = ax.imshow(grid[:, :, k], origin="lower", cmap="viridis_r", vmin=grid.min(), vmax=grid.max(), aspect="auto")
        ax.set_xticks(range(len(result["input_scalings"])), result["input_scalings"])
        ax.set_yticks(range(len(result["radii"])), result["radii"])
        ax.set_xlabel("input scaling")
        ax.set_title(f"leak rate {leaks[k]}")
    axes[0].set_ylabel("spectral radius")
    i, j, k = np.unravel_index(np.nanargmin(grid), grid.shape)
    best = result["best"]
    axes[k].plot(j, i, ls="none", marker="*", color="white", markersize=14, markeredgecolor="black",
                 label=f"lowest NRMSE, {best['nrmse']:.2e}: spectral radius {best['spectral_radius']:g}, "
                       f"input scaling {best['input_scaling']:g}, leak rate {best['leak_rate']:g}")
    fig.colorbar(im, ax=axes, label="log10 validation NRMSE (lower is better)")
    fig.suptitle(f"Echo state network sweep, Mackey-Glass one step ahead: validation NRMSE of {result['fits']} fits")
    fig.legend(loc="outside lower center", frameon=False, fontsize=9)
    save_figure(fig, path, tight=False)   # constrained layout places the shared colour bar; tight_layout cannot
