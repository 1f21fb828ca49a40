"""The four bundled series: `rnnlab forecast train` with the defaults against naive, seasonal naive and the ESN.

    python benchmarks/forecast_table.py                        # all four, seed 1337, one torch thread
    python benchmarks/forecast_table.py --series airline nile --seeds 1 2 3
    python benchmarks/forecast_table.py --flags "--model lstm"     # other settings for the recurrent model

Each run trains into a temporary directory (or --out-dir) with the per-series defaults and scores best/ and
every baseline on the test tail from every origin (the same numbers `rnnlab forecast eval --json` prints).
The table gives MAE, RMSE and MASE of each model; MASE's scale is the in-sample seasonal-naive MAE (naive
for nile) of the training part. With several seeds, each cell is the mean over seeds and the last column
counts the seeds on which the recurrent model's MASE is below both the seasonal naive and the ESN; the
validation MASE (of best/, and of the ESN's grid choice) is what chose between settings.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODELS = (("model", "recurrent"), ("naive", "naive"), ("seasonal_naive", "seasonal naive"), ("esn", "ESN"))


def train_one(series: str, seed: int, flags: list[str], out: Path) -> tuple[dict, float]:
    """Test scores of one default run (with the validation MASE of best/ and of the ESN's choice as "val" and
    "esn_val") and its wall seconds, through the command line's own parser."""
    from rnnlab.cli import build_parser
    from rnnlab.config import budget_overrides
    from rnnlab.settings import given
    from rnnlab.tasks import forecast_run
    from rnnlab.tasks.forecast_config import ForecastConfig
    args = build_parser().parse_args(["forecast", "train", "--data", series, "--seed", str(seed), "--out", str(out),
                                      *flags])
    cfg = ForecastConfig(**budget_overrides(given(args, ForecastConfig), ForecastConfig))
    start = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):               # the trainer's log lines
        result = forecast_run.train(cfg, progress=False, say=lambda _: None)
    seconds = time.perf_counter() - start
    esn = json.loads((out / forecast_run.BASELINES).read_text())["esn"]
    return {**result.test, "val": result.run.best_objective, "esn_val": esn["val_mase"]}, seconds


def row(series: str, runs: list[tuple[dict, float]]) -> str:
    def mean(name, key):
        return sum((t if name == "model" else t["baselines"][name])[key] for t, _ in runs) / len(runs)
    cells = [f"{mean(n, 'mae'):.4g} / {mean(n, 'rmse'):.4g} / **{mean(n, 'mase'):.3f}**" if n == "model" else
             f"{mean(n, 'mae'):.4g} / {mean(n, 'rmse'):.4g} / {mean(n, 'mase'):.3f}" for n, _ in MODELS]
    wins = sum(t["mase"] < min(t["baselines"]["seasonal_naive"]["mase"], t["baselines"]["esn"]["mase"])
               for t, _ in runs)
    first, n = runs[0][0], len(runs)
    val = f"{sum(t['val'] for t, _ in runs) / n:.3f} / {sum(t['esn_val'] for t, _ in runs) / n:.3f}"
    return (f"| {series} (H={first['horizon']}, L={first['window']}, m={first['season']}, {first['test_origins']} "
            f"origins) | " + " | ".join(cells) + f" | {wins}/{n} | {val} | {sum(s for _, s in runs) / n:.0f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", nargs="+", default=["sunspots", "co2", "nile", "airline"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1337])
    ap.add_argument("--flags", default="", help="extra `rnnlab forecast train` flags for every run")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one core)")
    ap.add_argument("--out-dir", help="keep the runs here (default: a temporary directory)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    torch.set_num_threads(args.threads)
    flags = shlex.split(args.flags)
    root = Path(args.out_dir) if args.out_dir else Path(tempfile.mkdtemp(prefix="forecast-table-"))
    print(f"rnnlab forecast train --data SERIES {args.flags} (seeds {', '.join(map(str, args.seeds))}; "
          f"{args.threads} thread); test tail: the last 20% of each series, every origin; MAE / RMSE / MASE\n")
    print("| series | " + " | ".join(label for _, label in MODELS) + " | recurrent below both | validation MASE "
          "(recurrent / ESN) | train s |")
    print("|---" * (len(MODELS) + 4) + "|")
    for series in args.series:
        runs = [train_one(series, seed, flags, root / f"{series}-{seed}") for seed in args.seeds]
        print(row(series, runs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
