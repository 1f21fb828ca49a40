"""`rnnlab esn ...`: flags in, library calls out."""
from __future__ import annotations

import json
from pathlib import Path

from ..argtypes import float_list, seed
from .defaults import INPUT_SCALINGS, LEAK_RATES, RADII   # no NumPy: --help stays fast


def add_parser(sub, parser_class) -> None:
    esn = sub.add_parser("esn", help="echo state networks: frequency generator, Mackey-Glass, hyper-parameter sweep")
    cmds = esn.add_subparsers(dest="esn_command", required=True, parser_class=parser_class)

    f = cmds.add_parser("freqgen", help="Jaeger's frequency generator: a setting in, a sine of that frequency out",
                        description="Train a reservoir with output feedback (teacher forcing, state noise); then "
                        "it generates the sine itself, given only the frequency setting.")
    f.add_argument("--units", type=int, default=400, help="reservoir size (default 400)")
    f.add_argument("--seed", type=seed, default=0, help="seed of the reservoir and the task (default 0)")
    f.add_argument("--out", default="esn-freqgen", help="directory for freqgen.png and freqgen.json")
    f.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    m = cmds.add_parser("mackey-glass", help="Mackey-Glass (tau = 17): one-step and 84-step closed-loop NRMSE",
                        description="Fit on 10,000 steps; one-step-ahead test NRMSE, and NRMSE after 84 free-running "
                        "steps over many starts (Jaeger's convention: RMSE / std of the signal).")
    m.add_argument("--units", type=int, default=500, help="reservoir size (default 500)")
    m.add_argument("--trials", type=int, default=20, help="closed-loop starts (default 20)")
    m.add_argument("--seed", type=seed, default=0, help="seed of the reservoir (default 0)")
    m.add_argument("--json", action="store_true", help="print one JSON object")

    s = cmds.add_parser("sweep", help="grid of spectral radius x input scaling x leak rate (Mackey-Glass)",
                        description="Hundreds of closed-form fits in seconds: the lectures' 'try many scales'.")
    s.add_argument("--units", type=int, default=200, help="reservoir size (default 200)")
    s.add_argument("--radii", type=float_list, default=RADII, metavar="R,R,...",
                   help=f"spectral radii to try (default {_show(RADII)})")
    s.add_argument("--input-scalings", type=float_list, default=INPUT_SCALINGS, metavar="S,S,...",
                   help=f"input scalings to try (default {_show(INPUT_SCALINGS)})")
    s.add_argument("--leak-rates", type=float_list, default=LEAK_RATES, metavar="A,A,...",
                   help=f"leak rates in (0, 1] to try (default {_show(LEAK_RATES)})")
    s.add_argument("--train", type=int, default=2000, help="Mackey-Glass training steps per fit (default 2000)")
    s.add_argument("--out", default="esn-sweep", help="directory for sweep.png and sweep.json")
    s.add_argument("--json", action="store_true", help="print the best setting as one JSON object")


MAX_TRIALS = 1_000      # closed-loop starts of `esn mackey-glass`: 584 generated samples each
MAX_TRAIN = 100_000     # Mackey-Glass steps per fit of `esn sweep`


def _show(values) -> str:
    return ",".join(f"{v:g}" for v in values)


def _big(value: int) -> str:
    """An integer for an error message, shortened when it has hundreds of digits."""
    text = str(value)
    return text if len(text) <= 20 else f"{text[:6]}...({len(text)} digits)"


def run(args) -> int:
    from ..errors import require
    from ..reports import write_json
    from .defaults import MAX_RADIUS, MAX_SCALING, MAX_UNITS
    require(0 < getattr(args, "units", 1) <= MAX_UNITS, f"--units must be from 1 to {MAX_UNITS:,}, got "
            f"{_big(args.units)}", "pass e.g. --units 500; the reservoir matrix is dense")
    if args.esn_command == "mackey-glass":
        require(0 < args.trials <= MAX_TRIALS, f"--trials must be from 1 to {MAX_TRIALS:,}, got {_big(args.trials)}",
                "pass e.g. --trials 20")
        from . import tasks
        r = tasks.mackey_glass_benchmark(args.units, trials=args.trials, seed=args.seed)
        print(json.dumps(r) if args.json else
              f"Mackey-Glass, {args.units} units: one-step NRMSE {r['one_step_nrmse']:.2e}, "
              f"84-step closed-loop NRMSE {r['closed_loop_84_nrmse']:.2e} over {r['trials']} starts (fit {r['fit_seconds']:.1f} s)")
        return 0
    if args.esn_command == "sweep":                                   # checked before --out is made
        require(all(0 < a <= 1 for a in args.leak_rates), f"--leak-rates must lie in (0, 1], got {_show(args.leak_rates)}",
                "pass e.g. --leak-rates 0.3,1")
        require(all(0 < r <= MAX_RADIUS for r in args.radii), f"--radii must lie in (0, {MAX_RADIUS:g}], got "
                f"{_show(args.radii)}", "pass e.g. --radii 0.8,1.25; echo state networks work near 1")
        require(all(0 < s <= MAX_SCALING for s in args.input_scalings), f"--input-scalings must lie in "
                f"(0, {MAX_SCALING:g}], got {_show(args.input_scalings)}", "pass e.g. --input-scalings 0.3,1")
        require(100 < args.train <= MAX_TRAIN, f"--train must be from 101 (past the 100-step washout) to "
                f"{MAX_TRAIN:,}, got {_big(args.train)}", "pass e.g. --train 2000")
    from . import sweep, tasks                                         # NumPy and torch: after the checks
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.esn_command == "freqgen":
        r = tasks.frequency_generator(args.units, seed=args.seed)
        write_json(out / "freqgen.json", r)
        tasks.plot_frequency(r, out / "freqgen.png")
        summary = {k: r[k] for k in ("nrmse", "nrmse_first_100", "period_error", "amplitude_error", "n_reservoir")}
        print(json.dumps(summary) if args.json else
              f"frequency generator, {args.units} units: period error {tasks.percent(r['period_error'], 2)}, "
              f"amplitude error {tasks.percent(r['amplitude_error'], 1)}, test NRMSE {r['nrmse_first_100']:.3f} over the first 100 free steps, "
              f"{r['nrmse']:.2f} over all {r['test_steps']} (the phase drifts); plot in {out / 'freqgen.png'}")
    else:
        r = sweep.sweep(args.radii, args.input_scalings, args.leak_rates, n_reservoir=args.units, train=args.train)
        write_json(out / "sweep.json", r)
        sweep.plot_sweep(r, out / "sweep.png")
        if args.json:
            print(json.dumps({"fits": r["fits"], "best": r["best"]}))
        else:
            for i, radius in enumerate(r["radii"]):
                rows = "  ".join(f"{min(r['nrmse'][i][j]):8.1e}" for j in range(len(r["input_scalings"])))
                print(f"radius {radius:4}: best over leak rates per input scaling {r['input_scalings']}: {rows}")
            print(f"{r['fits']} fits; best {r['best']}; surface in {out / 'sweep.png'}")
    return 0
