"""ESN initialisation for a trained vanilla RNN vs PyTorch's default, same budget, same process.

    python benchmarks/esn_init.py [--steps 400] [--hidden 256]

Trains the vanilla tanh RNN language model on tiny Shakespeare twice per optimizer
(momentum SGD, as Sutskever 2012, and Adam): once from PyTorch's default uniform init,
once with every W_hh sparse and scaled to spectral radius 1.1 (`--init esn`). Prints
the exact validation loss of each after the same number of steps.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import rnnlab  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--radius", type=float, default=1.1)
    args = ap.parse_args()
    print(f"vanilla RNN 1x{args.hidden}, batch 64, seq 100, {args.steps} steps, tiny Shakespeare")
    with tempfile.TemporaryDirectory() as tmp:
        for optimizer, lr in (("sgd", 0.5), ("adam", 2e-3)):
            row = []
            for init in ("default", "esn"):
                model = rnnlab.ModelConfig(model="rnn", hidden=args.hidden, layers=1, embed=64, dropout=0.0,
                                           init=init, spectral_radius=args.radius)
                cfg = rnnlab.TrainConfig(max_steps=args.steps, max_minutes=None, batch_size=64, seq_len=100, lr=lr,
                                         optimizer=optimizer, momentum=0.9, eval_every=10**9, sample_chars=0,
                                         out=f"{tmp}/{optimizer}-{init}", seed=0)
                row.append(rnnlab.train(model, cfg, progress=False, say=lambda m: None).best_val_nats)
            print(f"{optimizer:5s} lr {lr:<6g} default init {row[0]:.4f} nats/char   esn init (radius {args.radius}) "
                  f"{row[1]:.4f} nats/char   difference {row[1] - row[0]:+.4f}")


if __name__ == "__main__":
    main()
