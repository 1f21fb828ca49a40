"""Pad-to-max vs bucketed vs packed batches on rt-polarity: training sentences per second and accuracy.

    python benchmarks/padding.py [--epochs 2] [--set hidden=128 ...]

The same classifier (default settings, or --set changes) trains on the seeded 90/10 split in four ways:
  pad-max   random batches padded to the longest sentence of the data; the RNN runs over the padding
  shuffle   random batches padded to their own longest sentence; the RNN runs over the padding
  bucket    batches of similar lengths (little padding); the RNN runs over the padding
  packed    bucketed batches as packed sequences (pack_padded_sequence): padding is never computed
Unpacked runs still pool with masks, but the backward direction reads the padding before the words,
which is what costs pad-to-max its accuracy (the lectures' "the main difference: speed").
"""
from __future__ import annotations

import argparse
import ast
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rnnlab.tasks import classify_run  # noqa: E402
from rnnlab.tasks.classify_config import ClassifyConfig  # noqa: E402
from rnnlab.text.labelled import load_labelled  # noqa: E402

WAYS = {"pad-max": dict(batching="pad-max", unpacked=True), "shuffle": dict(batching="shuffle", unpacked=True),
        "bucket": dict(batching="bucket", unpacked=True), "packed": dict(batching="bucket", unpacked=False)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=float, default=2)
    ap.add_argument("--ways", nargs="+", default=list(WAYS), choices=list(WAYS))
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="ClassifyConfig fields to change")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: a shared machine)")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    changes = {}
    for item in args.set:
        k, v = item.split("=", 1)
        try:
            changes[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            changes[k] = v
    data = load_labelled("rt-polarity")
    lengths = sorted(len(t.split()) for t in data.texts)
    print(f"rt-polarity: {len(data):,} sentences, {lengths[len(lengths) // 2]} words at the median, "
          f"{lengths[-1]} at most; {args.epochs:g} epochs each")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.ways:
            cfg = ClassifyConfig(out=str(Path(tmp) / name), max_epochs=args.epochs, eval_every=10 ** 6,
                                 device="cpu", dtype="float32", **{**changes, **WAYS[name]})
            r = classify_run.train(cfg, progress=False, say=lambda m: None)
            rows.append((name, r.run.items_per_s, r.last.metrics["accuracy"]))
            print(f"  {name:8s} {r.run.items_per_s:8.1f} sentences/s  accuracy {100 * r.last.metrics['accuracy']:.2f}%",
                  flush=True)
    base = rows[0][1]
    print(f"\n{'batches':10s} {'sentences/s':>12s} {'vs ' + rows[0][0]:>12s} {'accuracy':>9s}")
    for name, speed, acc in rows:
        print(f"{name:10s} {speed:12.1f} {speed / base:11.2f}x {100 * acc:8.2f}%")


if __name__ == "__main__":
    main()
