"""Decoding speed of a translation run: greedy against beam search, sentences per second, same process.

    python benchmarks/translate_speed.py runs/de-en                  # test split; greedy, beam 2, 5, 10
    python benchmarks/translate_speed.py runs/de-en --beams 1 5 --threads 2 --batch 64 128

Each setting translates the run's test split (Multi30k: test_2016_flickr, 1,000 sentences) with best/,
batched over sentences (--batch rows per decoding batch: sentences x beams), and is scored by sacrebleu,
so speed and BLEU come from the same translations. The ratio column is each setting's speed against greedy
decoding at the same batch size, measured in this run. One torch thread by default (a second one that
waits for a shared core only slows small steps down).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from rnnlab.tasks import translate_run  # noqa: E402
from rnnlab.tasks.translate_data import encode  # noqa: E402
from rnnlab.tasks.translate_decode import bleu_chrf, translate_encoded  # noqa: E402
from rnnlab.tasks.translate_text import read_parallel  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", help="a translation run directory")
    ap.add_argument("--beams", type=int, nargs="+", default=[1, 2, 5, 10], help="beam sizes (1 = greedy)")
    ap.add_argument("--batch", type=int, nargs="+", default=[128], help="decoding rows per batch")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N test sentences")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t = translate_run.load(args.run, "cpu")
    info = t.meta["data"]
    data = read_parallel(info["test_src"], info["test_tgt"]) if info.get("test_src") else \
        read_parallel(info["val_src"], info["val_tgt"])
    enc = encode(data, t.vocabs)
    if args.limit:
        enc = enc.subset(args.limit)
    print(f"{args.run}: {len(enc):,} sentences of {info.get('test_name') or 'val'}, {args.threads} thread(s), "
          f"torch {torch.__version__}")
    print(f"{'decoder':>10} {'batch':>6} {'sent/s':>8} {'vs greedy':>9} {'BLEU':>6} {'chrF':>6} {'wall s':>7} "
          f"{'cpu s':>7}")
    for batch in args.batch:
        greedy_rate = None
        for beam in args.beams:
            wall, cpu = time.perf_counter(), time.process_time()
            out = translate_encoded(t.model, enc, t.vocabs, t.device, beam, t.cfg.max_len_ratio, batch_size=batch)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            s = bleu_chrf([o.text for o in out], enc.refs)
            rate = len(enc) / wall
            greedy_rate = rate if beam == 1 else greedy_rate
            ratio = f"{rate / greedy_rate:.2f}x" if greedy_rate else "-"
            name = "greedy" if beam == 1 else f"beam {beam}"
            print(f"{name:>10} {batch:>6} {rate:>8.1f} {ratio:>9} {s['bleu']:>6.2f} {s['chrf']:>6.2f} {wall:>7.1f} "
                  f"{cpu:>7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
