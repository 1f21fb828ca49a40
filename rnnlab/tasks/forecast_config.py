"""The settings of a forecasting run, declared once (flags, defaults, help and resume rules come from here).

Kept free of torch and NumPy so that `rnnlab forecast train --help` is instant. Settings left at None
take the bundled series' own values (forecast_data.BUNDLED) or the file rule in `resolved`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..config import LoopConfig
from ..errors import require
from ..settings import setting

KINDS = ("gru", "lstm", "rnn")
LOSSES = ("mae", "mse")
MAX_LENGTH = 10_000         # window and horizon limits: beyond them a batch no longer fits a small machine


@dataclass
class ForecastConfig(LoopConfig):
    """A forecasting run: the series and its split, the recurrent model, and the loop's settings (LoopConfig)."""
    DEFAULT_STEPS = 1000
    DEFAULT_MINUTES = 1.0
    DEFAULT_EPOCHS = None
    lr: float = setting(3e-3, "peak learning rate (Adam)", resumable=True)
    warmup_steps: int = setting(50, "linear warmup steps")
    eval_every: int = setting(50, "steps between validation passes and checkpoints", resumable=True)
    seed: int = setting(1337, "seed for initialisation, batch order, input noise and the ESN's reservoir")
    dtype: str = setting("float32", "float32 or bfloat16 (autocast)", resumable=True)
    data: str = setting("sunspots", "a bundled series (sunspots, co2, nile, airline: ../shared/data/timeseries) "
                        "or a CSV file (a header row, one time step per row)", metavar="NAME|FILE")
    column: Optional[str] = setting(None, "the CSV column of values (default: the last column)", metavar="NAME")
    horizon: Optional[int] = setting(None, "values forecast from each origin (default 12; nile 5)", metavar="H")
    window: Optional[int] = setting(None, "past values the model reads (default: sunspots 64, co2 12, nile 10, "
                                    "airline 24; files: 2 x the season or 2 x the horizon, at least 8)", metavar="L")
    season: Optional[int] = setting(None, "seasonal period in steps for the seasonal-naive baseline and MASE's "
                                    "scale; 1: none (default: sunspots 132, co2 12, nile 1, airline 12; files 1)",
                                    metavar="M")
    transform: Optional[str] = setting(None, "none, or log for multiplicative growth (default: log for airline, "
                                       "none otherwise)", choices=("none", "log"))
    difference: Optional[str] = setting(None, "what the models read: none (the window relative to its last value; "
                                        "targets relative to the last value) or seasonal (the window's seasonal "
                                        "differences z_t - z_(t-m); targets relative to the seasonal-naive "
                                        "forecast) (default: seasonal for co2 and airline, none otherwise)",
                                        choices=("none", "seasonal"))
    val_frac: float = setting(0.15, "fraction of the series before the test tail used to validate (best/ and "
                              "the ESN's grid)")
    test_frac: float = setting(0.2, "the series' last fraction, the test tail: a forecast from every origin in "
                               "it whose horizon ends inside it (rolling origin)")
    batch_size: int = setting(32, "windows per batch")
    model: str = setting("gru", "recurrent cell: gru, lstm or rnn", choices=KINDS)
    hidden: int = setting(64, "recurrent units per layer")
    layers: int = setting(1, "stacked recurrent layers")
    dropout: float = setting(0.0, "locked dropout between stacked layers")
    noise: float = setting(0.1, "standard deviation of the Gaussian noise added to the training windows, which "
                           "are scaled to unit RMS; 0 off")
    loss: str = setting("mae", "training loss on the normalised forecasts: mae (the metric's own) or mse",
                        choices=LOSSES)

    def __post_init__(self):
        super().__post_init__()
        for name in ("horizon", "window", "season"):
            value = getattr(self, name)
            require(value is None or 0 < value <= MAX_LENGTH, f"--{name} must be in 1..{MAX_LENGTH:,}, got {value}",
                    f"pass e.g. --{name} 12")
        for name in ("batch_size", "hidden", "layers"):
            value = getattr(self, name)
            require(0 < value <= 65536, f"--{name.replace('_', '-')} must be in 1..65536, got {value}",
                    f"pass e.g. --{name.replace('_', '-')} 32")
        for name in ("val_frac", "test_frac"):
            value = getattr(self, name)
            require(0.0 < value < 0.5, f"--{name.replace('_', '-')} must be in (0, 0.5), got {value}",
                    f"pass e.g. --{name.replace('_', '-')} 0.2")
        require(0.0 <= self.dropout < 1.0, f"--dropout must be in [0, 1), got {self.dropout}",
                "pass e.g. --dropout 0.2")
        require(0.0 <= self.noise <= 10.0, f"--noise must be in [0, 10], got {self.noise}", "pass e.g. --noise 0.1")
        require(self.model in KINDS, f"unknown model {self.model!r}", "use --model gru, lstm or rnn")
        require(self.loss in LOSSES, f"unknown loss {self.loss!r}", "use --loss mae or mse")
        require(self.transform in (None, "none", "log"), f"unknown transform {self.transform!r}",
                "use --transform none or log")
        require(self.difference in (None, "none", "seasonal"), f"unknown difference {self.difference!r}",
                "use --difference none or seasonal")

    def resolved(self, bundled) -> "ForecastConfig":
        """These settings with every None filled in: the bundled series' values (forecast_data.Bundled),
        or for a file no season, no transform, horizon 12 and window max(2 x season, 2 x horizon, 8)."""
        season = self.season or (bundled.season if bundled else 1)
        horizon = self.horizon or (bundled.horizon if bundled else 12)
        window = self.window or (bundled.window if bundled else max(2 * season if season > 1 else 0, 2 * horizon, 8))
        transform = self.transform or (bundled.transform if bundled else "none")
        difference = self.difference or (bundled.difference if bundled else "none")
        require(difference == "none" or season > 1, "--difference seasonal needs a season",
                "pass --season M (the period in steps) or --difference none")
        return self.replace(season=season, horizon=horizon, window=window, transform=transform, difference=difference)

    @property
    def lag(self) -> int:
        """The differencing lag of the windows (forecast_windows): the season, or 0 for relative windows."""
        return self.season if self.difference == "seasonal" else 0
