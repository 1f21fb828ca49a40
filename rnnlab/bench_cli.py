"""`rnnlab bench [--json] [--quick]`: the benchmark suite as one table."""
from __future__ import annotations

import json


def add_parser(sub, parser_class) -> None:
    p = sub.add_parser("bench", help="measure rnnlab against its peers on this machine (one table)",
                       description="Train a 2x512 LSTM with rnnlab's trainer and with a bare nn.LSTM loop "
                       "(float32 and bfloat16), generate with the stepper and by stepping nn.LSTM eagerly "
                       "(batch 1 and 64), prepare a text and encode it in memory, all at one thread in this "
                       "process; print each figure, the peer's, the ratio, the machine's matrix-multiply peak "
                       "and the fraction of it the trainer reaches. Timings on a shared machine are noisy: "
                       "compare the ratios.")
    p.add_argument("--quick", action="store_true", help="fewer steps and one repeat (under 3 minutes)")
    p.add_argument("--json", action="store_true", help='print {"rows": [{"name", "ours", "peer", "ratio", "unit"}], '
                   '"peak_gflops": {"float32", "bfloat16"}, "trainer_peak_fraction": {...}}')


def run(args) -> int:
    import sys

    from .bench.suite import run_suite
    result = run_suite(args.quick, say=(lambda line: None) if args.json else
                       (lambda line: print(line if isinstance(line, str) else
                                           f"  {line['name']:52s} {line['ours']:>10,.1f} vs {line['peer']:>10,.1f} "
                                           f"{line['unit']:9s} ratio {line['ratio']:.2f}", file=sys.stderr)))
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'figure':52s} {'rnnlab':>10s} {'peer':>10s} {'unit':9s} ratio")
    for r in result["rows"]:
        print(f"{r['name']:52s} {r['ours']:>10,.1f} {r['peer']:>10,.1f} {r['unit']:9s} {r['ratio']:.2f}")
    peak = result["peak_gflops"]
    print(f"matrix-multiply peak (one thread): {peak['float32']} GFLOP/s float32, {peak['bfloat16']} bfloat16; "
          "the trainer reaches " + ", ".join(f"{v:.0%} of it in {k}" for k, v in
                                             result["trainer_peak_fraction"].items()))
    return 0
