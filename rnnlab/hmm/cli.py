"""`rnnlab hmm ...`: flags in, library calls out."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..argtypes import seed


def add_parser(sub, parser_class) -> None:
    hmm = sub.add_parser("hmm", help="hidden Markov models: train, sample, the letters and landscape experiments")
    cmds = hmm.add_subparsers(dest="hmm_command", required=True, parser_class=parser_class)

    t = cmds.add_parser("train", help="fit an HMM language model; validation bits/char on the RNNs' split",
                        description="Baum-Welch on the first 90% of the text (by default), scored on the last "
                        "10%, the split the RNNs use; writes hmm.npz and config.json to --out.")
    t.add_argument("--data", default="tiny_shakespeare", help="text file or bundled corpus (default tiny_shakespeare)")
    t.add_argument("--states", type=int, default=16, help="hidden states K (default 16)")
    t.add_argument("--letters", action="store_true", help="model only a-z and space (27 symbols)")
    t.add_argument("--iters", type=int, default=100, help="maximum EM iterations (default 100)")
    t.add_argument("--tol", type=float, default=1e-3, help="stop when the log-likelihood gains less (default 1e-3)")
    t.add_argument("--val-frac", type=float, default=0.1, help="held-out fraction (default 0.1)")
    t.add_argument("--seed", type=seed, default=0, help="seed of the random start (default 0)")
    t.add_argument("--out", help="run directory to create: new or empty, never overwritten "
                   "(default runs/hmm-<date>-<time>)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar over the EM iterations")
    t.add_argument("--json", action="store_true", help="print the result as one JSON object (with converged and "
                   "iterations)")

    s = cmds.add_parser("sample", help="generate text from a fitted HMM")
    s.add_argument("run", metavar="RUN", help="directory written by `rnnlab hmm train --out`")
    s.add_argument("-n", "--length", type=int, default=300, help="symbols to generate (default 300)")
    s.add_argument("--seed", type=seed, default=None, help="same seed, same text")

    le = cmds.add_parser("letters", help="2-state HMM on letters: the vowel/consonant phase transition",
                         description="Fit a 2-state HMM to a-z and space from a near-uniform start and run EM "
                         "for every iteration (no early stop), recording the curves of the lecture.")
    le.add_argument("--data", default="tiny_shakespeare", help="text (default tiny_shakespeare)")
    le.add_argument("--chars", type=int, default=20000, help="letters used (default 20000)")
    le.add_argument("--iters", type=int, default=1000, help="EM iterations (default 1000)")
    le.add_argument("--seed", type=seed, default=0, help="seed of the first start's tiny tilt off uniform (default 0)")
    le.add_argument("--restarts", type=int, default=4, help="near-uniform starts; the most likely result is "
                    "reported, every start's outcome is listed (default 4)")
    le.add_argument("--keep-labels", action="store_true", help="keep play speaker labels ('ROMEO:' lines), "
                    "which are names rather than English text; by default they are dropped")
    le.add_argument("--out", default="hmm-letters", help="directory for letters.json and letters.png")
    le.add_argument("--json", action="store_true", help="print loglik, transition_iteration, groups, final_loglik")

    la = cmds.add_parser("landscape", help="heat map: EM's result against its starting point",
                         description="Fit the two emission parameters of a 2-state bit HMM from every point of "
                         "a grid and draw the final log-likelihood.")
    la.add_argument("--grid", type=int, default=41, help="grid points per axis (default 41)")
    la.add_argument("--bits", type=int, default=2000, help="length of the training sequence (default 2000)")
    la.add_argument("--out", default="hmm-landscape", help="directory for landscape.json and landscape.png")
    la.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def _count(name: str, value: int, low: int, high: int, example) -> None:
    """An integer flag within [low, high] (a 400-digit --states or -n must not reach NumPy)."""
    from ..errors import require
    require(low <= value <= high, f"{name} must be {'positive' if low == 1 else f'at least {low}'} and at most "
            f"{high:,}, got {value if len(str(value)) < 30 else f'a {len(str(value))}-digit number'}",
            f"pass e.g. {name} {example}")


class _EMProgress:
    """A progress bar over the EM iterations on stderr with the training log-likelihood and its last gain.
    It appears at the first iteration, so that an error before fitting stays the only line printed."""

    def __init__(self, total: int, enabled: bool = True):
        self.total, self.enabled, self.bar, self.last = total, enabled, None, None

    def __call__(self, iteration: int, loglik: float, model) -> None:
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=self.total, desc="EM", unit="iter", file=sys.stderr, disable=not self.enabled,
                            dynamic_ncols=True, mininterval=0.5)
        gain = "" if self.last is None else f" ({loglik - self.last:+,.1f})"
        self.bar.set_postfix_str(f"train log-likelihood {loglik:,.1f}{gain}", refresh=False)
        self.bar.update(1)
        self.last = loglik

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args) -> int:
    from ..errors import NotUTF8Error, rehint
    try:
        return _run(args)
    except NotUTF8Error as exc:           # rnnlab hmm has no --tokenizer: its fix is the file's encoding
        raise rehint(exc, "rnnlab hmm models UTF-8 characters: convert the file to UTF-8") from None


def _run(args) -> int:
    import math
    import time

    from ..errors import require
    from ..reports import write_json
    from ..text.corpus import read_text, resolve_source
    from . import experiments, lm
    from .model import MAX_PARAMETERS
    if args.hmm_command == "train":
        _count("--states", args.states, 1, int(math.isqrt(MAX_PARAMETERS)) - 1, 16)
        _count("--iters", args.iters, 1, 10 ** 9, 100)
        require(0 < args.val_frac < 1, f"--val-frac must lie strictly between 0 and 1, got {args.val_frac}",
                "pass e.g. --val-frac 0.1")
        require(not math.isnan(args.tol), "--tol must be a number, got nan", "pass e.g. --tol 1e-3")
        out = args.out if args.out is not None else f"runs/hmm-{time.strftime('%Y%m%d-%H%M%S')}"
        progress = _EMProgress(args.iters, enabled=not args.no_progress)
        try:
            result = lm.fit_language_model(args.data, args.states, args.letters, args.val_frac, args.iters, args.tol,
                                           args.seed, out, progress=progress)
        finally:
            progress.close()
        how = "converged" if result["converged"] else "stopped at --iters"
        print(json.dumps(result) if args.json else
              f"{args.states}-state HMM: validation {result['val_bits_per_char']:.4f} bits/char "
              f"({result['val_nats_per_char']:.4f} nats) after {result['iterations']} EM iterations ({how}); "
              f"run in {result['run_dir']}")
    elif args.hmm_command == "sample":
        _count("-n", args.length, 1, 10 ** 8, 300)
        sys.stdout.write(lm.sample_text(args.run, args.length, args.seed) + "\n")
    elif args.hmm_command == "letters":
        _count("--chars", args.chars, 2, 10 ** 9, 20000)
        _count("--iters", args.iters, 1, 10 ** 9, 1000)
        _count("--restarts", args.restarts, 1, 10 ** 4, 4)
        text = read_text(resolve_source(args.data), args.data)
        result = experiments.letters(text, args.chars, args.iters, args.seed, args.restarts, args.keep_labels)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "letters.json", result)
        experiments.plot_letters(result, out)
        summary = {k: result[k] for k in ("loglik", "transition_iteration", "groups", "final_loglik", "restarts")}
        print(json.dumps(summary) if args.json else
              f"phase transition at iteration {result['transition_iteration']}; groups: "
              f"{''.join(result['groups'][0])!r} | {''.join(result['groups'][1])!r}; "
              f"final log-likelihood {result['final_loglik']:.1f}; plots in {out}/")
    else:
        _count("--grid", args.grid, 2, 1000, 41)
        _count("--bits", args.bits, 2, 10 ** 8, 2000)
        result = experiments.landscape(args.grid, args.bits)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "landscape.json", result)
        experiments.plot_landscape(result, out)
        final = result["final_loglik"]
        summary = {"best": max(map(max, final)), "worst": min(map(min, final)), "true_loglik": result["true_loglik"],
                   "distinct_optima": result["distinct_optima"], "png": str(out / "landscape.png")}
        print(json.dumps(summary) if args.json else
              f"final log-likelihood from {summary['worst']:.1f} to {summary['best']:.1f} across starting points "
              f"({summary['distinct_optima']} distinct values); heat map in {summary['png']}")
    return 0
