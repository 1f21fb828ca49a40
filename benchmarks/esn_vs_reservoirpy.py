"""Mackey-Glass with 500 units and 10,000 training steps: rnnlab's ESN vs reservoirpy, same process.

    python benchmarks/esn_vs_reservoirpy.py [--units 500] [--repeats 3]

Both build a reservoir with the same hyper-parameters (500 leaky tanh units, leak 0.5,
spectral radius 1.25, connectivity 0.2, input scaling 1, ridge 1e-8), fit a one-step
predictor on 10,000 steps and run it over 2,000 test steps. Prints the median fit+run
seconds, the ratio (target <= 0.5) and each one-step test NRMSE (target <= 2e-4), then
rnnlab's 84-step closed-loop NRMSE over 20 starts at 500 and 1,000 units (target <= 1e-2).
reservoirpy is a dev dependency (pip install reservoirpy).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rnnlab.esn.model import EchoStateNetwork, nrmse  # noqa: E402
from rnnlab.esn.tasks import mackey_glass, mackey_glass_benchmark  # noqa: E402

TRAIN, TEST, WASHOUT = 10_000, 2_000, 100


def ours(series, units, seed):
    u, y = series[:-1], series[1:]
    esn = EchoStateNetwork(units, spectral_radius=1.25, leak_rate=0.5, input_scaling=1.0, bias_scaling=0.5,
                           density=0.2, ridge=1e-8, seed=seed)
    esn.fit(u[:TRAIN], y[:TRAIN], washout=WASHOUT)
    return esn.predict(u[TRAIN:], x0=esn.last_state)[0, :, 0]


def theirs(series, units, seed):
    from reservoirpy.nodes import Reservoir, Ridge
    u, y = series[:-1, None], series[1:, None]
    reservoir = Reservoir(units, lr=0.5, sr=1.25, input_scaling=1.0, rc_connectivity=0.2, bias=0.0, seed=seed)
    model = reservoir >> Ridge(ridge=1e-8)
    model.fit(u[:TRAIN], y[:TRAIN], warmup=WASHOUT)
    return model.run(u[TRAIN:])[:, 0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    series = mackey_glass(TRAIN + TEST + 1)
    target = series[TRAIN + 1:]
    times = {"rnnlab": [], "reservoirpy": []}
    errors = {}
    for r in range(args.repeats):
        for name, fn in (("rnnlab", ours), ("reservoirpy", theirs)):
            t0 = time.perf_counter()
            pred = fn(series, args.units, r)
            times[name].append(time.perf_counter() - t0)
            errors.setdefault(name, []).append(nrmse(pred[100:], target[100:]))
    o, p = statistics.median(times["rnnlab"]), statistics.median(times["reservoirpy"])
    print(f"Mackey-Glass tau=17, {args.units} units, {TRAIN:,} training + {TEST:,} test steps, {args.repeats} repeats")
    print(f"rnnlab      {o:6.2f} s fit+run   one-step NRMSE {statistics.median(errors['rnnlab']):.2e}")
    print(f"reservoirpy {p:6.2f} s fit+run   one-step NRMSE {statistics.median(errors['reservoirpy']):.2e}")
    print(f"time ratio rnnlab / reservoirpy: {o / p:.3f}")
    for units in (500, 1000):
        r = mackey_glass_benchmark(units)
        print(f"rnnlab {units:4d} units: 84-step closed-loop NRMSE {r['nrmse84']:.2e} over {r['trials']} starts, "
              f"one-step {r['one_step_nrmse']:.2e}")


if __name__ == "__main__":
    main()
