"""Peak resident memory of `rnnlab train` on a 100 MB text file (target: below 1.5 GB).

    python benchmarks/memory_100mb.py [--mb 100] [--steps 20]

Builds the file from tiny Shakespeare repeated, trains the default model for a few
steps in a child process (data loading, vocabulary, encoding, training steps, the
exact validation pass over 10 MB and the checkpoints all happen), and prints the
child's peak RSS as reported by the kernel.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAKESPEARE = Path(__file__).resolve().parents[1] / "rnnlab" / "text" / "datasets" / "tiny_shakespeare.txt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.txt"
        text = SHAKESPEARE.read_bytes()
        with open(big, "wb") as f:
            for _ in range(int(args.mb * 1e6 / len(text)) + 1):
                f.write(text)
        size = big.stat().st_size
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "rnnlab", "train", "--data", str(big), "--max-steps",
                               str(args.steps), "--out", str(Path(tmp) / "run"), "--no-progress", "--sample-chars", "0"],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if proc.returncode:
            sys.exit(f"training failed:\n{proc.stderr}")
        print(f"text {size / 1e6:.1f} MB, {args.steps} steps + exact validation: peak RSS {peak_mb:,.0f} MB "
              f"(target < 1,536 MB), {seconds:.0f} s")
        print(proc.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
