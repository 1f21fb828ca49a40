"""Training throughput: rnnlab's trainer vs a bare hand-written nn.LSTM loop, same shapes, same process.

    python benchmarks/train_throughput.py [--steps 30] [--repeats 3] [--dtype float32 bfloat16]

Prints characters per second (median of repeats, alternating the two) and the ratio rnnlab / bare.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rnnlab.bench.speed import LAYERS, B, E, H, T, bare_loop, rnnlab_loop  # noqa: E402
from rnnlab.text.corpus import load_corpus  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", nargs="+", default=["float32", "bfloat16"])
    args = ap.parse_args()
    corpus = load_corpus("tiny_shakespeare")
    print(f"LSTM {LAYERS}x{H}, embed {E}, batch {B}, seq {T}, {args.steps} steps x {args.repeats} repeats, "
          f"{torch.get_num_threads()} threads")
    for name in args.dtype:
        dtype = getattr(torch, name)
        bare, ours = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.repeats):
                bare.append(bare_loop(corpus.train, corpus.vocab.size, args.steps, dtype))
                ours.append(rnnlab_loop(corpus, args.steps, dtype, Path(tmp) / f"r{r}"))
        b, o = statistics.median(bare), statistics.median(ours)
        print(f"{name:9s} bare nn.LSTM {b:9,.0f} chars/s   rnnlab {o:9,.0f} chars/s   ratio {o / b:.3f}")


if __name__ == "__main__":
    main()
