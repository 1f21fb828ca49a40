"""Mackey-Glass with 500 units and 10,000 training steps: rnnlab's ESN vs reservoirpy, same process.

    python benchmarks/esn_vs_reservoirpy.py [--units 500] [--repeats 3] [--connectivities 0.1,0.2]

For each reservoir connectivity (10% is reservoirpy's default, where it switches to sparse
products; 20% the setting of the earlier comparison), both build a reservoir with the same main
hyper-parameters (500 leaky tanh units, leak 0.5, spectral radius 1.25, input scaling 1, ridge
1e-8; each draws its own weights, with its own distributions and bias), fit a one-step predictor on
10,000 steps and run it over the 2,000 test steps that follow (both carry the reservoir state on
from the fit). The repeats alternate the two, seeds 0, 1, ...; the first repeat includes one-off
costs (imports; numba loading rnnlab's compiled loop, ~0.5-1.5 s) and is shown apart. Prints a
row per connectivity with the median
fit+run seconds, the ratio (target <= 0.5) and each one-step test NRMSE (target <= 2e-4), then
rnnlab's 84-step closed-loop NRMSE over 20 starts at 500 and 1,000 units (target <= 1e-2).
The ratio is what to read: the machine may be busy, and both peers share whatever it has.
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


def ours(series, units, seed, connectivity):
    u, y = series[:-1], series[1:]
    esn = EchoStateNetwork(units, spectral_radius=1.25, leak_rate=0.5, input_scaling=1.0, bias_scaling=0.5,
                           density=connectivity, ridge=1e-8, seed=seed)
    esn.fit(u[:TRAIN], y[:TRAIN], washout=WASHOUT)
    return esn.predict(u[TRAIN:])                                   # goes on from the end of the fit


def theirs(series, units, seed, connectivity):
    from reservoirpy.nodes import Reservoir, Ridge
    u, y = series[:-1, None], series[1:, None]
    reservoir = Reservoir(units, lr=0.5, sr=1.25, input_scaling=1.0, rc_connectivity=connectivity, bias=0.0, seed=seed)
    model = reservoir >> Ridge(ridge=1e-8)
    model.fit(u[:TRAIN], y[:TRAIN], warmup=WASHOUT)
    return model.run(u[TRAIN:])[:, 0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3, help="fits per peer and connectivity; the median is shown")
    ap.add_argument("--connectivities", type=float_list, default=(0.1, 0.2), help="reservoir densities (0.1,0.2)")
    ap.add_argument("--no-closed-loop", action="store_true", help="skip the 84-step closed-loop rows")
    args = ap.parse_args()
    series = mackey_glass(TRAIN + TEST + 1)
    target = series[TRAIN + 1:]
    print(f"Mackey-Glass tau=17, {args.units} units, {TRAIN:,} training + {TEST:,} test steps, "
          f"median of {args.repeats} repeats")
    print("connectivity   rnnlab s   reservoirpy s   ratio   rnnlab NRMSE   reservoirpy NRMSE   first repeat (s)")
    for connectivity in args.connectivities:
        times = {"rnnlab": [], "reservoirpy": []}
        errors = {"rnnlab": [], "reservoirpy": []}
        for r in range(args.repeats):
            for name, fn in (("rnnlab", ours), ("reservoirpy", theirs)):
                t0 = time.perf_counter()
                pred = fn(series, args.units, r, connectivity)
                times[name].append(time.perf_counter() - t0)
                errors[name].append(nrmse(pred[100:], target[100:]))
        o, p = statistics.median(times["rnnlab"]), statistics.median(times["reservoirpy"])
        print(f"{connectivity:11.0%}   {o:8.3f}   {p:13.3f}   {o / p:5.3f}   {statistics.median(errors['rnnlab']):12.2e}"
              f"   {statistics.median(errors['reservoirpy']):17.2e}   {times['rnnlab'][0]:.2f} vs {times['reservoirpy'][0]:.2f}")
    if not args.no_closed_loop:
        for units in (500, 1000):
            r = mackey_glass_benchmark(units)
            print(f"rnnlab {units:4d} units: 84-step closed-loop NRMSE {r['closed_loop_84_nrmse']:.2e} over "
                  f"{r['trials']} starts, one-step {r['one_step_nrmse']:.2e}")


def float_list(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v.strip())


if __name__ == "__main__":
    main()
