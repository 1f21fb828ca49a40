"""The baselines of a forecasting run, on the run's own split: naive, seasonal naive and the ESN.

All of them forecast from the same origins as the recurrent model; the ESN reads the same normalised
windows (forecast_esn.py), picks its grid point on the validation origins and is fitted on the training
origins only, as the recurrent model is.
"""
from __future__ import annotations

import numpy as np

from . import forecast_esn as esn
from . import forecast_metrics as metrics
from .forecast import Prepared


def select_esn(data: Prepared, seed: int) -> dict:
    """The ESN grid on the validation origins: {"params", "val_mase", "grid": [every point's val MAE]}."""
    w, train, val = data.windowed, data.origins("train"), data.origins("val")

    def val_mae(pred: np.ndarray) -> float:
        return data.scores(w.to_values(pred, val), "val")["mae"]

    params, _, tried = esn.select(w.inputs(train), w.targets(train), w.inputs(val), val_mae, seed)
    best = min(t["val_error"] for t in tried)
    return {"params": params, "units": esn.UNITS, **esn.FIXED, "seed": seed, "val_mase": best / data.mase_scale,
            "grid": tried}


def esn_forecasts(data: Prepared, params: dict, seed: int, part: str = "test") -> np.ndarray:
    """(B, H) ESN forecasts in the series' units at every origin of `part` (readout fitted on the training origins)."""
    w, train, origins = data.windowed, data.origins("train"), data.origins(part)
    fitted = esn.fit(params, w.inputs(train), w.targets(train), seed)
    return w.to_values(esn.forecast(fitted, w.inputs(origins)), origins)


def naive_forecasts(data: Prepared, part: str = "test") -> dict:
    """{"naive", "seasonal_naive"}: (B, H) forecasts in the series' units at every origin of `part`."""
    x, origins, h = data.windowed.x, data.origins(part), data.split.horizon
    return {"naive": metrics.naive(x, origins, h), "seasonal_naive": metrics.seasonal_naive(x, origins, h, data.season)}
