"""`rnnlab forecast train|eval|plot`: flags in, library calls (rnnlab.tasks.forecast_run) out."""
from __future__ import annotations

import json
import sys
import time

from .settings import add_flags, given

NAMES = {"model": "recurrent model", "naive": "naive", "seasonal_naive": "seasonal naive", "esn": "echo state network"}


def add_parser(sub, parser_class) -> None:
    from .tasks.forecast_config import ForecastConfig
    f = sub.add_parser("forecast", help="forecast real-valued series: a GRU/LSTM against naive, seasonal naive "
                       "and an echo state network", description="Windows of the past -> the next H values.")
    cmds = f.add_subparsers(dest="forecast_command", required=True, parser_class=parser_class)

    t = cmds.add_parser("train", help="train a forecaster on a series",
                        description="Train a recurrent forecaster (direct multi-output: one linear head gives all "
                        "H steps from the last state) on windows of the series' training part; best/ is the "
                        "lowest validation MASE. At the end the echo state network's grid is fitted on the same "
                        "windows and best/ and every baseline are scored on the test tail from every origin. "
                        f"Writes RUN/best/, RUN/last/, RUN/metrics.jsonl, RUN/loss.png, RUN/baselines.json. Budget: "
                        f"{ForecastConfig.default_budget()}, unless --max-epochs/--max-steps/--max-minutes say "
                        "otherwise.")
    add_flags(t, ForecastConfig, skip=("tensorboard",))
    t.add_argument("--resume", metavar="RUN", help="continue RUN from its last/ checkpoint exactly, in place; "
                   "budget, logging, --lr, --grad-clip and --device may change, the model and data may not")
    t.add_argument("--no-progress", action="store_true", help="a line per log interval and evaluation instead of "
                   "a progress bar")
    t.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")

    e = cmds.add_parser("eval", help="MAE, RMSE and MASE of a run and its baselines on the test tail",
                        description="Forecast from every origin of RUN's test tail with best/, and with the naive, "
                        "seasonal-naive and echo-state-network baselines on the same origins.")
    e.add_argument("run", metavar="RUN", help="a forecasting run directory (its best/ is used) or a checkpoint")
    e.add_argument("--which", choices=["best", "last"], default="best", help="checkpoint of a run (default best)")
    e.add_argument("--device", default="auto", help="auto (default: CUDA when present), cpu or cuda")
    e.add_argument("--json", action="store_true", help='print one JSON object: {"mae", "rmse", "mase", "baselines": '
                   '{"naive", "seasonal_naive", "esn"}, ...}')

    p = cmds.add_parser("plot", help="draw the history, the forecasts and the truth over the test tail (PNG)",
                        description="The series before the test tail, the truth in it, and the forecasts of best/ "
                        "and the baselines from origins one horizon apart.")
    p.add_argument("run", metavar="RUN", help="a forecasting run directory or checkpoint directory")
    p.add_argument("--out", default="forecast.png", help="the PNG to write (default forecast.png)")
    p.add_argument("--which", choices=["best", "last"], default="best", help="checkpoint of a run (default best)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")


def table(scores: dict) -> str:
    """The test scores of the model and the baselines as aligned lines."""
    rows = [("model", scores)] + list(scores["baselines"].items())
    lines = [f"  {NAMES[name]:20s} MAE {s['mae']:10.4g}  RMSE {s['rmse']:10.4g}  MASE {s['mase']:.3f}"
             for name, s in rows]
    return "\n".join(lines)


def cmd_train(args) -> int:
    from .config import budget_overrides
    from .tasks import forecast_run
    from .tasks.forecast_config import ForecastConfig
    flags = given(args, ForecastConfig)
    if args.resume:
        result = forecast_run.resume(args.resume, flags, progress=not args.no_progress)
    else:
        flags.setdefault("out", f"runs/forecast-{time.strftime('%Y%m%d-%H%M%S')}")
        result = forecast_run.train(ForecastConfig(**budget_overrides(flags, ForecastConfig)),
                                    progress=not args.no_progress)
    r = result.run
    if args.json:
        print(json.dumps({"run_dir": str(r.run_dir), "steps": r.steps, "best_step": r.best_step,
                          "stop_reason": r.stop_reason, "ended_by": r.ended_by, "test": result.test}))
    else:
        why = f" ({r.stop_reason})" if r.stop_reason else ""
        print(f"done{why}: {r.steps} steps, best/ = step {r.best_step}; run in {r.run_dir}", file=sys.stderr)
        if result.test is not None:
            t = result.test
            print(f"test tail: {t['test_origins']} origins x {t['horizon']} steps; MASE scale: {t['mase_scale_from']}",
                  file=sys.stderr)
            print(table(t), file=sys.stderr)
        if r.stop_signal:
            print(f"continue it with: rnnlab forecast train --resume {r.run_dir}", file=sys.stderr)
    return 128 + r.stop_signal if r.stop_signal else 0


def cmd_eval(args) -> int:
    from .tasks import forecast_run
    scores = forecast_run.evaluate(forecast_run.load(args.run, args.device, args.which))
    if args.json:
        print(json.dumps(scores))
        return 0
    print(f"{scores['series']}: {scores['test_origins']} test origins x {scores['horizon']} steps over the last "
          f"{scores['test_points']} values; MASE scale {scores['mase_scale']:.4g} ({scores['mase_scale_from']})")
    print(table(scores))
    return 0


def cmd_plot(args) -> int:
    from .tasks import forecast_run
    from .tasks.forecast_plot import plot_forecasts
    f = forecast_run.load(args.run, args.device, args.which)
    esn = forecast_run.esn_choice(f.run_dir, f.data, f.cfg.seed)
    found = forecast_run.forecasts(f.model, f.data, esn, f.device)
    path = plot_forecasts(f.data, found, args.out, f"{f.cfg.model.upper()} {f.cfg.layers}x{f.cfg.hidden}")
    print(f"wrote {path}", file=sys.stderr)
    return 0


def run(args) -> int:
    return {"train": cmd_train, "eval": cmd_eval, "plot": cmd_plot}[args.forecast_command](args)
