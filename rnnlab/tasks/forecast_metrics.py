"""Forecast errors and the two baselines every forecast is judged against.

    naive           x_hat[o + j] = x[o - 1]                            the last value, for every step
    seasonal naive  x_hat[o + j] = x[o - m + (j mod m)]                 the same step one season before
    MAE  = mean |x_hat - x|      RMSE = sqrt(mean (x_hat - x)^2)      over every origin and step
    MASE = MAE / scale,  scale = mean |x_t - x_{t-m}| over the training part (m = season, 1 for none)
"""
from __future__ import annotations

import numpy as np

from ..errors import require


def naive(x: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(B, H): the last value before each origin, repeated."""
    return np.repeat(x[np.asarray(origins) - 1][:, None], horizon, axis=1)


def seasonal_naive(x: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """(B, H): the value one season before each step (the last season repeated past m steps); naive if season <= 1."""
    if season <= 1:
        return naive(x, origins, horizon)
    steps = np.asarray(origins)[:, None] - season + np.arange(horizon) % season       # (B, H)
    return x[steps]


def scores(pred: np.ndarray, truth: np.ndarray, scale: float) -> dict:
    """{"mae", "rmse", "mase"} of forecasts (B, H) against the truth (B, H)."""
    err = np.asarray(pred, dtype=np.float64) - truth
    mae = float(np.mean(np.abs(err)))
    return {"mae": mae, "rmse": float(np.sqrt(np.mean(err ** 2))), "mase": mae / scale}


def mase_scale(train: np.ndarray, season: int) -> float:
    """The in-sample seasonal-naive (naive when season <= 1) MAE of the training part, in the series' units:
    mean |x_t - x_{t-m}| (1 for a constant series)."""
    m = season if season > 1 else 1
    require(len(train) > m, f"{len(train)} training values are too few for a season of {m}",
            "use a smaller --season or a longer series")
    x = np.asarray(train, dtype=np.float64)
    scale = float(np.mean(np.abs(x[m:] - x[:-m])))
    return scale if scale > 0 else 1.0
