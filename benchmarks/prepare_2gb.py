"""`rnnlab prepare` speed and the memory of training from a prepared 2 GB corpus (targets: >= 50 MB/s on one
core; peak resident memory under 1.5 GB).

    python benchmarks/prepare_2gb.py [--gb 2] [--steps 20]

Writes a text of tiny Shakespeare repeated (plus some non-ASCII lines), prepares it in a child process,
then trains the default 2x512 LSTM for a few steps from the prepared directory in another child process
(--val-frac 0.001, so the exact validation pass reads 2 MB), and prints MB/s and each child's peak RSS
(ru_maxrss of the children so far: the second figure is the larger of the two).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAKESPEARE = Path(__file__).resolve().parents[1] / "rnnlab" / "text" / "datasets" / "tiny_shakespeare.txt"


def rnnlab(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "rnnlab", *map(str, args)], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"rnnlab {args[0]} failed:\n{proc.stderr}")
    return proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=2.0, help="size of the text in GB (default 2)")
    ap.add_argument("--steps", type=int, default=20, help="training steps (default 20)")
    ap.add_argument("--dir", default=None, help="where to write the text (default a temporary directory)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        big = Path(tmp) / "big.txt"
        piece = SHAKESPEARE.read_bytes() + "Ünïcödé: çà et là.\n".encode()
        with open(big, "wb") as f:
            for _ in range(int(args.gb * 1e9 / len(piece)) + 1):
                f.write(piece)
        size = big.stat().st_size
        prepared = rnnlab("prepare", big, "--out", Path(tmp) / "prep", "--val-frac", "0.001", "--no-progress", "--json")
        stats = json.loads(prepared.stdout)
        prepare_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"prepare: {size / 1e9:.2f} GB in {stats['seconds']:.1f} s = {stats['mb_per_s']:.0f} MB/s "
              f"(target >= 50), peak RSS {prepare_mb:,.0f} MB")
        start = time.perf_counter()
        trained = rnnlab("train", "--data", Path(tmp) / "prep", "--val-frac", "0.001", "--max-steps", args.steps,
                         "--out", Path(tmp) / "run", "--no-progress", "--sample-chars", "0")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"train from the prepared corpus: {args.steps} steps + exact validation in "
              f"{time.perf_counter() - start:.0f} s, peak RSS {peak_mb:,.0f} MB (target < 1,536 MB)")
        print(trained.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
