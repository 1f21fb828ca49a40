"""The forecasting API: train into a run directory, resume, load, score on the test tail, forecast.

    train(ForecastConfig(data="sunspots", out="runs/sun"))   -> ForecastResult (best/ and the baselines on the test tail)
    resume("runs/sun", {"max_steps": 2000})
    f = load("runs/sun");  evaluate(f)  -> {"mae", "rmse", "mase", "baselines": {"naive", "seasonal_naive", "esn"}}

At the end of training the ESN's grid is run on the validation origins and its choice kept in
RUN/baselines.json, so `evaluate` refits that one point instead of the grid.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import checkpoint, taskrun
from ..device import resolve_device, resolve_dtype
from ..errors import require
from ..models.forecaster import Forecaster, ForecasterConfig
from ..reports import write_json
from .forecast import ForecastTask, Prepared, predict, prepare
from .forecast_baselines import esn_forecasts, naive_forecasts, select_esn
from .forecast_config import ForecastConfig
from .forecast_data import load_series

Say = Callable[[str], None]
BASELINES = "baselines.json"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def load_data(cfg: ForecastConfig) -> tuple[ForecastConfig, Prepared]:
    """The series of cfg.data, the config with its per-series defaults filled in, and the cut series."""
    series = load_series(cfg.data, cfg.column)
    cfg = cfg.resolved(series.bundled)
    return cfg, prepare(cfg, series)


def data_info(cfg: ForecastConfig, data: Prepared) -> dict:
    """config.json "data": the source, its file and sha256, the column and the series' length."""
    s = data.series
    return {"source": cfg.data, "path": str(s.path.resolve()), "column": cfg.column, "fingerprint": s.fingerprint,
            "n": int(len(s.values)), "name": s.name}


def _devices(cfg: ForecastConfig, say: Say):
    device = resolve_device(cfg.device)
    return device, resolve_dtype(cfg.dtype, device, say)


@dataclass
class ForecastResult:
    run: taskrun.TaskResult
    test: dict | None            # evaluate()'s scores of best/ and the baselines on the test tail


def _finish(task: ForecastTask, result: taskrun.TaskResult, device, dtype, say: Say) -> ForecastResult:
    """Fit the ESN's grid (kept in RUN/baselines.json) and score best/ and every baseline on the test tail."""
    run_dir = Path(result.run_dir)
    if not (run_dir / "best" / checkpoint.CONFIG).exists():
        return ForecastResult(result, None)
    checkpoint.load_weights_into(task.model, run_dir / "best")
    say("rnnlab forecast: fitting the echo state network's grid on the validation origins")
    esn = select_esn(task.data, task.cfg.seed)
    write_json(run_dir / BASELINES, {"esn": esn}, indent=1)
    return ForecastResult(result, test_scores(task.model, task.data, task.cfg, esn, device, dtype))


def train(cfg: ForecastConfig, progress: bool = True, say: Say = _stderr) -> ForecastResult:
    """A new run: the series, its split and scale, the Forecaster, the Trainer; best/ and baselines scored."""
    cfg, data = load_data(cfg)
    device, dtype = _devices(cfg, say)
    torch.manual_seed(cfg.seed)
    task = ForecastTask(cfg, data)
    sp = data.split
    say(f"rnnlab forecast: {data.series.name}, {sp.n:,} values; {len(data.origins('train')):,} training windows "
        f"of {cfg.window}, {len(data.origins('val'))} validation and {len(data.origins('test'))} test origins, "
        f"horizon {cfg.horizon}, season {cfg.season}, transform {cfg.transform}, difference {cfg.difference}; "
        "validation MASE selects best/")
    with taskrun.new_run(cfg.out, say) as run_dir:
        result = taskrun.fit_task(task, cfg, run_dir, data_info(cfg, data), device=device, dtype=dtype,
                                  progress=progress)
        return _finish(task, result, device, dtype, say)


def _check_meta(ckpt: Path) -> dict:
    meta = checkpoint.task_meta(ckpt, "forecast", "a forecaster", ("model", "scaling", "train", "data"))
    return meta


def _data_of(meta: dict, cfg: ForecastConfig, where: Path) -> tuple[ForecastConfig, Prepared]:
    """The run's series, refused when the file changed since it was trained."""
    cfg, data = load_data(cfg)
    require(data.series.fingerprint == meta["data"].get("fingerprint"), f"{cfg.data} is not the series {where} was "
            "trained on (its sha256 differs)", "use the original file")
    return cfg, data


def resume(run: str | Path, overrides: dict | None = None, progress: bool = True, say: Say = _stderr) -> ForecastResult:
    """Continue a forecasting run from last/ exactly; only settings marked resumable may change."""
    overrides = taskrun.resume_overrides(run, overrides, ForecastConfig)
    with taskrun.existing_run(run, say) as run_dir:
        ckpt = checkpoint.resolve_checkpoint(run_dir, "last")
        meta = _check_meta(ckpt)
        cfg, step = taskrun.resumed_config(meta, ForecastConfig, overrides, run_dir)
        cfg, data = _data_of(meta, cfg, run_dir)
        device, dtype = _devices(cfg, say)
        model = Forecaster(ForecasterConfig.from_dict(meta["model"]))
        checkpoint.load_weights_into(model, ckpt)
        task = ForecastTask(cfg, data, model)
        say(f"rnnlab forecast: resuming {run_dir} at step {step}")
        result = taskrun.fit_task(task, cfg, run_dir, data_info(cfg, data), device=device, dtype=dtype,
                                  progress=progress, resume_state=checkpoint.read_trainer_state(ckpt, device))
        return _finish(task, result, device, dtype, say)


@dataclass
class LoadedForecaster:
    path: Path                 # the checkpoint directory
    run_dir: Path
    model: Forecaster
    cfg: ForecastConfig
    data: Prepared
    device: torch.device


def load(run: str | Path, device: str = "auto", which: str = "best") -> LoadedForecaster:
    """A run's (or checkpoint directory's) forecaster in eval mode, with its series cut as in training."""
    ckpt = checkpoint.resolve_checkpoint(run, which)
    meta = _check_meta(ckpt)
    cfg, data = _data_of(meta, ForecastConfig.from_dict(meta["train"]), ckpt)
    dev = resolve_device(device)
    model = Forecaster(ForecasterConfig.from_dict(meta["model"]))
    checkpoint.load_weights_into(model, ckpt)
    return LoadedForecaster(ckpt, ckpt.parent, model.to(dev).eval(), cfg, data, dev)


def esn_choice(run_dir: Path, data: Prepared, seed: int) -> dict:
    """RUN/baselines.json's ESN choice, or the grid run now when the file is missing or unreadable."""
    try:
        return json.loads((run_dir / BASELINES).read_text())["esn"]
    except (OSError, ValueError, KeyError, TypeError):
        return select_esn(data, seed)


def forecasts(model: Forecaster, data: Prepared, esn: dict, device, dtype=torch.float32,
              part: str = "test") -> dict[str, np.ndarray]:
    """{"model", "naive", "seasonal_naive", "esn"}: (B, H) forecasts in the series' units at every origin of
    part; esn: the ESN's choice (select_esn / esn_choice)."""
    origins = data.origins(part)
    pred = data.windowed.to_values(predict(model, data.windowed.inputs(origins), device, dtype), origins)
    return {"model": pred, **naive_forecasts(data, part), "esn": esn_forecasts(data, esn["params"], esn["seed"], part)}


def test_scores(model: Forecaster, data: Prepared, cfg: ForecastConfig, esn: dict, device,
                dtype=torch.float32) -> dict:
    """{"mae", "rmse", "mase", "baselines": {name: {"mae", "rmse", "mase"}}, ...} on the test tail."""
    found = forecasts(model, data, esn, device, dtype)
    scored = {name: data.scores(values, "test") for name, values in found.items()}
    sp = data.split
    return {**scored.pop("model"), "baselines": {**scored, "esn": {**scored["esn"], "params": esn["params"]}},
            "series": data.series.name, "model": f"{cfg.model} {cfg.layers}x{cfg.hidden}", "horizon": cfg.horizon,
            "window": cfg.window, "season": cfg.season, "transform": cfg.transform, "difference": cfg.difference,
            "test_points": sp.n - sp.test_start, "test_origins": int(len(data.origins("test"))),
            "mase_scale": data.mase_scale,
            "mase_scale_from": (f"seasonal naive (m={cfg.season})" if cfg.season > 1 else "naive")
            + f" in-sample MAE on the training part (the first {sp.val_start} values)"}


def evaluate(f: LoadedForecaster) -> dict:
    """Scores of the loaded forecaster and the baselines on the run's test tail (rolling origin)."""
    esn = esn_choice(f.run_dir, f.data, f.cfg.seed)
    return {**test_scores(f.model, f.data, f.cfg, esn, f.device), "checkpoint": str(f.path)}


__all__ = ["train", "resume", "load", "evaluate", "forecasts", "ForecastConfig", "ForecastResult"]
