"""Generation speed: rnnlab's stepper against stepping the same nn.LSTM / nn.GRU / nn.RNN model eagerly.

Both feed back the argmax token (the sampling step is the same for both and excluded), at one thread, with
the same weights, in the same process. Prints tokens per second and the ratio per cell, depth and batch.

    python benchmarks/generate_speed.py                    # 2x512 LSTM at batch 1 and 64, then the table
    python benchmarks/generate_speed.py --quick --json
"""
from __future__ import annotations

import argparse
import json
import statistics

import torch
from threadpoolctl import threadpool_limits

from rnnlab.config import ModelConfig
from rnnlab.models.language_model import LanguageModel
from rnnlab.bench.speed import eager_tokens_per_s, stepper_tokens_per_s


def measure(kind: str, layers: int, hidden: int, batch: int, steps: int, repeats: int) -> dict:
    torch.manual_seed(0)
    model = LanguageModel(ModelConfig(model=kind, vocab_size=65, embed=256, hidden=hidden, layers=layers)).eval()
    eager_tokens_per_s(model, batch, 5)                              # warm up both
    stepper_tokens_per_s(model, batch, 5)
    eager = statistics.median(eager_tokens_per_s(model, batch, steps) for _ in range(repeats))
    ours = statistics.median(stepper_tokens_per_s(model, batch, steps) for _ in range(repeats))
    return {"name": f"generate {kind} {layers}x{hidden} batch {batch}", "ours": round(ours, 1),
            "peer": round(eager, 1), "ratio": round(ours / eager, 2), "unit": "tokens/s"}


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the 2x512 LSTM at batch 1 and 64 only, fewer steps")
    p.add_argument("--steps", type=int, default=200, help="tokens per timing (default 200)")
    p.add_argument("--repeats", type=int, default=3, help="timings per figure; the median is kept (default 3)")
    p.add_argument("--json", action="store_true", help="print the rows as one JSON object")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    steps = max(20, args.steps // 4) if args.quick else args.steps
    grid = [("lstm", 2, 512, 1), ("lstm", 2, 512, 64)]
    if not args.quick:
        grid += [(kind, layers, 512, 1) for kind in ("rnn", "gru", "lstm") for layers in (1, 2, 3)
                 if (kind, layers) != ("lstm", 2)]
    rows = []
    with threadpool_limits(1):
        for kind, layers, hidden, batch in grid:
            rows.append(measure(kind, layers, hidden, batch, steps if batch == 1 else max(10, steps // 4),
                                args.repeats))
            if not args.json:
                r = rows[-1]
                print(f"{r['name']:32s} stepper {r['ours']:9.1f} tokens/s   eager nn module {r['peer']:9.1f}"
                      f"   ratio {r['ratio']:.2f}x", flush=True)
    if args.json:
        print(json.dumps({"rows": rows}))
    return rows


if __name__ == "__main__":
    main()
