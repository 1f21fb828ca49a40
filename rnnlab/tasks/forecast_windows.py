"""Windows of a series as the models read them, and the way back to the series' own units.

    z = transform(x)                                   none, or log for multiplicative growth
    origin o, window L, horizon H, step j = 0..H-1:
      relative (lag 0)      inputs  (z[o-L:o] - z[o-1]) / s           the window relative to its last value
                            base_j  z[o-1]                            (the naive forecast)
      seasonal (lag m)      inputs  (z[t] - z[t-m]) / s, t in o-L..o-1  the window's seasonal differences
                            base_j  z[o-m+(j mod m)]                  (the seasonal-naive forecast)
      targets  (z[o+j] - base_j) / s         forecast  x_hat = inverse(base_j + s * y_hat_j)
    s = RMS of the inputs of every window in the training part (unit-RMS inputs: no series saturates tanh)

Neither form carries the absolute level, so a trending series (co2, airline) never leaves the range the
models were trained on; seasonal differences (the (1 - B^m) of the airline model) also take out the
seasonal pattern, leaving the models the year-on-year change to forecast.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import require

TRANSFORMS = ("none", "log")


def _forward(x: np.ndarray, transform: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if transform == "log":
        bad = np.flatnonzero(x <= 0)
        require(len(bad) == 0, f"--transform log needs positive values; value {bad[0] + 1 if len(bad) else 0} of "
                f"the series is {x[bad[0]] if len(bad) else 0:g}", "use --transform none")
        return np.log(x)
    return x.copy()


@dataclass(frozen=True)
class Scaling:
    """The transform, the differencing lag (0: windows relative to their last value) and the scale s of a
    series, fitted on its training part and saved with the model."""
    transform: str
    lag: int
    scale: float

    @classmethod
    def fit(cls, train: np.ndarray, transform: str, lag: int, window: int) -> "Scaling":
        require(transform in TRANSFORMS, f"unknown transform {transform!r}", "use --transform none or log")
        unit = Windowed(train, cls(transform, lag, 1.0), window, 1)
        inputs = unit.inputs(np.arange(unit.first_origin, len(train) + 1))          # (N, L), every training window
        scale = float(np.sqrt(np.mean(inputs ** 2)))
        return cls(transform, lag, scale if scale > 0 else 1.0)    # a constant series keeps its own units

    def forward(self, x: np.ndarray) -> np.ndarray:
        return _forward(x, self.transform)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.transform == "log" else z

    def to_dict(self) -> dict:
        return {"transform": self.transform, "lag": self.lag, "scale": self.scale}


class Windowed:
    """A series cut into (inputs, targets) at any origins, in normalised units, and forecasts mapped back."""

    def __init__(self, values: np.ndarray, scaling: Scaling, window: int, horizon: int):
        self.x = np.asarray(values, dtype=np.float64)
        self.z, self.scaling, self.window, self.horizon = scaling.forward(self.x), scaling, window, horizon
        self.first_origin = window + scaling.lag            # the first origin with a whole window behind it

    def _base(self, origins: np.ndarray) -> np.ndarray:
        """(B, H) the forecast the targets are relative to: naive (lag 0) or seasonal naive (lag m)."""
        o, lag = np.asarray(origins)[:, None], self.scaling.lag
        steps = np.broadcast_to(o - 1, (len(o), self.horizon)) if lag == 0 else o - lag + np.arange(self.horizon) % lag
        return self.z[steps]

    def inputs(self, origins: np.ndarray) -> np.ndarray:
        """(B, L) the window before each origin, in normalised units (see the module docstring)."""
        o, lag = np.asarray(origins)[:, None], self.scaling.lag
        idx = o + np.arange(-self.window, 0)                                         # (B, L)
        back = self.z[o - 1] if lag == 0 else self.z[idx - lag]
        return (self.z[idx] - back) / self.scaling.scale

    def targets(self, origins: np.ndarray) -> np.ndarray:
        """(B, H) the values from each origin on, relative to the base forecast, in normalised units."""
        return (self.truth(origins, self.z) - self._base(origins)) / self.scaling.scale

    def truth(self, origins: np.ndarray, series: np.ndarray | None = None) -> np.ndarray:
        """(B, H) the series' own values (or those of `series`) from each origin on."""
        series = self.x if series is None else series
        return series[np.asarray(origins)[:, None] + np.arange(self.horizon)]

    def to_values(self, pred: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """(B, H) normalised forecasts -> the series' units."""
        return self.scaling.inverse(self._base(origins) + self.scaling.scale * np.asarray(pred, dtype=np.float64))
