"""The echo state network baseline: rnnlab.esn's reservoir on the recurrent model's own windows.

    window (L,) ──reservoir from zero──▶ x_L (N,)  ──readout W_out [1; u_L; x_L]──▶ the next H values (H,)

Each window is run from the zero state, so the reservoir sees exactly what the recurrent model sees (the
same normalised windows, origins and targets); the ridge readout (esn/readout.py) maps its last state to
all H steps at once. A small grid over spectral radius, leak rate and input scaling (values from the esn
sweep's grid, esn/defaults.py) and ridge is scored on the validation origins; the lowest validation MAE
wins. Every ridge reuses one reservoir run, so the grid costs one run per (radius, leak, scaling).
"""
from __future__ import annotations

import itertools
from typing import Callable

import numpy as np

from ..esn.defaults import INPUT_SCALINGS, LEAK_RATES, RADII
from ..esn.model import EchoStateNetwork
from ..esn.readout import RidgeAccumulator

GRID = {"spectral_radius": (RADII[0], RADII[2], RADII[4]),      # 0.5, 0.95, 1.25
        "leak_rate": (LEAK_RATES[0], LEAK_RATES[1], LEAK_RATES[3]),  # 0.1, 0.3, 1.0
        "input_scaling": (INPUT_SCALINGS[1], INPUT_SCALINGS[2]),     # 0.3, 1.0
        "ridge": (1e-6, 1e-4, 1e-2, 1.0, 10.0, 100.0)}
UNITS = 200
FIXED = {"density": 0.2, "bias_scaling": 0.5}                  # as the esn sweep and Mackey-Glass runs use
CHUNK = 512                                                     # windows per reservoir run (memory: CHUNK x L x N)


def last_states(esn: EchoStateNetwork, inputs: np.ndarray) -> np.ndarray:
    """(B, L) windows -> (B, N) the reservoir's state after each, every window from the zero state."""
    out = [esn.run(inputs[i:i + CHUNK, :, None], reset=True)[:, -1] for i in range(0, len(inputs), CHUNK)]
    return np.concatenate(out)                                                  # (B, N)


def _features(inputs: np.ndarray, states: np.ndarray) -> np.ndarray:
    return np.concatenate([inputs[:, -1:], states], axis=1)                     # (B, 1 + N): [u_L; x_L]


def fit_readout(esn: EchoStateNetwork, inputs: np.ndarray, states: np.ndarray, targets: np.ndarray,
                ridges) -> list[np.ndarray]:
    """The readout W_out (1 + 1 + N, H) for each ridge (intercept unpenalised), from one set of states."""
    acc = RidgeAccumulator()
    acc.add(_features(inputs, states), targets)
    return [np.vstack([b, W]) for W, b in (acc.solve(r) for r in ridges)]


def forecast(esn: EchoStateNetwork, inputs: np.ndarray, states: np.ndarray | None = None) -> np.ndarray:
    """(B, L) windows -> (B, H) normalised forecasts with the fitted readout."""
    states = last_states(esn, inputs) if states is None else states
    return esn.readout(inputs[:, -1:, None], states[:, None])[:, 0]             # (B, H)


def build(params: dict, seed: int) -> EchoStateNetwork:
    return EchoStateNetwork(UNITS, spectral_radius=params["spectral_radius"], leak_rate=params["leak_rate"],
                            input_scaling=params["input_scaling"], ridge=params["ridge"], seed=seed, **FIXED)


def fit(params: dict, train_in: np.ndarray, train_out: np.ndarray, seed: int) -> EchoStateNetwork:
    """The ESN of `params` with its readout fitted on the training windows."""
    esn = build(params, seed)
    esn.W_out = fit_readout(esn, train_in, last_states(esn, train_in), train_out, [params["ridge"]])[0]
    return esn


def select(train_in: np.ndarray, train_out: np.ndarray, val_in: np.ndarray, val_error: Callable[[np.ndarray], float],
           seed: int, grid: dict = GRID) -> tuple[dict, EchoStateNetwork, list[dict]]:
    """Grid search on the validation windows: (best params, its fitted ESN, every point with its error).
    val_error maps (B_val, H) normalised forecasts to the error to minimise (e.g. MAE in the series' units)."""
    best, tried = None, []
    for radius, leak, scaling in itertools.product(grid["spectral_radius"], grid["leak_rate"], grid["input_scaling"]):
        params = {"spectral_radius": radius, "leak_rate": leak, "input_scaling": scaling}
        esn = build({**params, "ridge": grid["ridge"][0]}, seed)      # same seed: same matrices, rescaled
        states, val_states = last_states(esn, train_in), last_states(esn, val_in)
        for ridge, W_out in zip(grid["ridge"], fit_readout(esn, train_in, states, train_out, grid["ridge"])):
            esn.W_out = W_out
            error = float(val_error(forecast(esn, val_in, val_states)))
            tried.append({**params, "ridge": ridge, "val_error": error})
            if best is None or error < best[0]:
                best = (error, {**params, "ridge": ridge}, W_out)
    error, params, W_out = best
    esn = build(params, seed)
    esn.W_out = W_out
    return params, esn, tried
