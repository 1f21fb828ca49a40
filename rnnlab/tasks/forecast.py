"""Forecasting real-valued series as a task: windows of the past -> the next `horizon` values.

    batch k = training origins EpochPlan(seed).indices(k)
              inputs (B, L) + noise ──▶ Forecaster ──▶ (B, H) ──▶ mean |y_hat - y| (or squared), normalised units
    evaluate: every validation origin ──▶ forecasts in the series' units ──▶ MAE, RMSE, MASE

best/ keeps the lowest validation MASE. Origins, windows and the scale come from forecast_data (the
split) and forecast_windows (relative windows or seasonal differences, scaled to unit RMS).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..device import autocast
from ..models.forecaster import Forecaster, ForecasterConfig
from . import forecast_metrics as metrics
from .base import Evaluation, Task
from .batches import EpochPlan
from .forecast_config import ForecastConfig
from .forecast_data import Series, Split, make_split
from .forecast_windows import Scaling, Windowed

EVAL_BATCH = 1024


@dataclass
class Prepared:
    """A series cut for a run: the split, its windows and MASE's scale (both fitted on the training part)."""
    series: Series
    split: Split
    windowed: Windowed
    mase_scale: float
    season: int

    def origins(self, part: str) -> np.ndarray:
        return self.split.origins(part)

    def scores(self, values: np.ndarray, part: str) -> dict:
        """MAE, RMSE and MASE of forecasts (B, H) in the series' units at every origin of `part`."""
        return metrics.scores(values, self.windowed.truth(self.origins(part)), self.mase_scale)


def prepare(cfg: ForecastConfig, series: Series) -> Prepared:
    """The split, scaling and windows of a resolved config (ForecastConfig.resolved) for its series."""
    x = series.values
    split = make_split(len(x), cfg.window + cfg.lag, cfg.horizon, cfg.val_frac, cfg.test_frac, series.name, cfg.season)
    train = x[:split.val_start]
    scaling = Scaling.fit(train, cfg.transform, cfg.lag, cfg.window)
    return Prepared(series, split, Windowed(x, scaling, cfg.window, cfg.horizon), metrics.mase_scale(train, cfg.season),
                    cfg.season)


def model_config(cfg: ForecastConfig) -> ForecasterConfig:
    return ForecasterConfig(cfg.model, cfg.hidden, cfg.layers, cfg.dropout, cfg.horizon)


@torch.no_grad()
def predict(model: Forecaster, inputs: np.ndarray, device: torch.device,
            dtype: torch.dtype = torch.float32) -> np.ndarray:
    """(B, L) normalised windows -> (B, H) normalised forecasts, in eval mode."""
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(inputs), EVAL_BATCH):
        x = torch.as_tensor(inputs[i:i + EVAL_BATCH], dtype=torch.float32, device=device)     # (b, L)
        with autocast(device, dtype):
            out.append(model(x).float().cpu().numpy())                                     # (b, H)
    model.train(was_training)
    return np.concatenate(out).astype(np.float64)


@dataclass
class ForecastEvaluation(Evaluation):
    """Validation forecasts: loss in normalised units (the training loss), mae/rmse/mase in the series' units."""

    @property
    def objective(self) -> float:
        return self.metrics["mase"]

    def summary(self) -> str:
        m = self.metrics
        return f"val MASE {m['mase']:.3f}, MAE {m['mae']:.4g}, RMSE {m['rmse']:.4g}"


def _loss(pred: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    err = pred - target
    return err.abs().mean() if kind == "mae" else err.square().mean()


class ForecastTask(Task):
    """A Forecaster trained on the training origins, scored on the validation origins."""
    name = "forecast"
    unit = "window"

    def __init__(self, cfg: ForecastConfig, data: Prepared, model: Forecaster | None = None):
        self.cfg, self.data = cfg, data
        self.model = model if model is not None else Forecaster(model_config(cfg))
        w, train = data.windowed, data.origins("train")
        self.inputs = torch.as_tensor(w.inputs(train), dtype=torch.float32)                 # (N, L)
        self.targets = torch.as_tensor(w.targets(train), dtype=torch.float32)               # (N, H)
        self.val_inputs = w.inputs(data.origins("val"))
        self.val_targets = w.targets(data.origins("val"))
        self.plan = EpochPlan(np.ones(len(train)), cfg.batch_size, cfg.seed, mode="shuffle")

    @property
    def steps_per_epoch(self) -> int:
        return self.plan.steps_per_epoch

    def train_loss(self, step: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, int]:
        index = torch.as_tensor(self.plan.indices(step))
        x, y = self.inputs[index].to(device), self.targets[index].to(device)                  # (B, L), (B, H)
        if self.cfg.noise:
            x = x + self.cfg.noise * torch.randn_like(x)          # the global RNG: trainer.pt restores it
        with autocast(device, dtype):
            pred = self.model(x)                                                              # (B, H)
        return _loss(pred.float(), y, self.cfg.loss), len(index)

    def evaluate(self, device, dtype, on_progress=None) -> ForecastEvaluation:
        pred = predict(self.model, self.val_inputs, device, dtype)                            # (V, H)
        loss = _loss(torch.from_numpy(pred), torch.from_numpy(self.val_targets), self.cfg.loss)
        values = self.data.windowed.to_values(pred, self.data.origins("val"))
        if on_progress is not None:
            on_progress(1.0)
        return ForecastEvaluation(float(loss), len(pred), self.data.scores(values, "val"))

    def checkpoint_sections(self) -> dict:
        d = self.data
        return {"model": self.model.cfg.to_dict(), "scaling": d.windowed.scaling.to_dict(),
                "split": {"n": d.split.n, "val_start": d.split.val_start, "test_start": d.split.test_start,
                          "mase_scale": d.mase_scale}}
