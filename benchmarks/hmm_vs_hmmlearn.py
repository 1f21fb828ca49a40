"""Baum-Welch seconds per iteration: rnnlab's DiscreteHMM vs hmmlearn's CategoricalHMM, same process.

    python benchmarks/hmm_vs_hmmlearn.py [--symbols 1000000] [--states 2 16 64] [--iters 3]

Both start from the same parameters on the same 1,000,000 letters (a-z and space of
tiny Shakespeare, repeated) and run `--iters` EM iterations; prints the median seconds
per iteration, the ratio ours / hmmlearn (target <= 0.5) and both log-likelihoods.
hmmlearn is a dev dependency (pip install hmmlearn).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rnnlab.hmm.experiments import letters_only  # noqa: E402
from rnnlab.hmm.model import DiscreteHMM  # noqa: E402

SHAKESPEARE = Path(__file__).resolve().parents[1] / "rnnlab" / "text" / "datasets" / "tiny_shakespeare.txt"


def main() -> None:
    from hmmlearn.hmm import CategoricalHMM
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--symbols", type=int, default=1_000_000)
    ap.add_argument("--states", type=int, nargs="+", default=[2, 16, 64])
    ap.add_argument("--iters", type=int, default=3)
    args = ap.parse_args()
    letters = letters_only(SHAKESPEARE.read_text())
    X = np.tile(letters, args.symbols // len(letters) + 1)[: args.symbols]
    ours = DiscreteHMM(2, 27)
    ours.score(X[:100])                       # compile the kernels before timing
    ours.em_step([X[:100]])
    print(f"{len(X):,} symbols over 27 letters, {args.iters} EM iterations each")
    for K in args.states:
        ours = DiscreteHMM(K, 27, seed=0)
        ours._initialise("random")
        peer = CategoricalHMM(K, n_iter=1, tol=0, init_params="", params="ste", implementation="scaling")
        peer.n_features = 27
        peer.startprob_, peer.transmat_, peer.emissionprob_ = ours.startprob, ours.transmat, ours.emissionprob
        t_ours, t_peer = [], []
        for _ in range(args.iters):
            t0 = time.perf_counter()
            ll_ours = ours.em_step([X])
            t_ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            peer.fit(X[:, None])
            t_peer.append(time.perf_counter() - t0)
        ll_peer = peer.monitor_.history[-1]
        o, p = statistics.median(t_ours), statistics.median(t_peer)
        print(f"K={K:3d}  rnnlab {o:7.3f} s/iter   hmmlearn(scaling) {p:7.3f} s/iter   ratio {o / p:.3f}   "
              f"loglik {ll_ours:.6e} vs {ll_peer:.6e} (rel diff {abs(ll_ours - ll_peer) / abs(ll_peer):.1e})")


if __name__ == "__main__":
    main()
