"""`rnnlab ngram train|eval|sample`: flags in, rnnlab.ngram calls out (no torch at --help)."""
from __future__ import annotations

import json
import sys

from ..argtypes import seed

MAX_SAMPLE = 10 ** 8


def add_parser(sub, parser_class) -> None:
    ngram = sub.add_parser("ngram", help="n-gram language models with interpolated Kneser-Ney smoothing",
                           description="Character, byte or word n-grams of order 1 to 20, fitted on the split the "
                           "recurrent runs train on and scored on the one `rnnlab eval` scores.")
    cmds = ngram.add_subparsers(dest="ngram_command", required=True, parser_class=parser_class)

    t = cmds.add_parser("train", help="count the n-grams of a text; validation nats and bits per token",
                        description="Count every 1..N-gram of the first (1 - --val-frac) of the text, set the "
                        "Kneser-Ney discounts from the counts, score the rest exactly as `rnnlab eval` scores a "
                        "recurrent run, and write ngram.npz and config.json to --out.")
    t.add_argument("--data", default="tiny_shakespeare", help="text file or bundled corpus (default tiny_shakespeare)")
    t.add_argument("--tokenizer", choices=["char", "byte", "word"], default="char",
                   help="what a token is: a character, a byte or a word (default char)")
    t.add_argument("--order", type=int, default=5, help="N, the longest n-gram: 1 to 20 (default 5; N-1 tokens of "
                   "context)")
    t.add_argument("--val-frac", type=float, default=0.1, help="held-out fraction at the end of the text, the "
                   "recurrent runs' split (default 0.1)")
    t.add_argument("--kn", choices=["modified", "standard"], default="modified", help="discounts estimated per "
                   "order from its count-of-counts n_r: modified (default; Chen & Goodman) one each for counts 1, 2 "
                   "and 3+; standard one D = n1 / (n1 + 2 n2)")
    t.add_argument("--discount", type=float, default=None, help="one fixed discount D in (0, 1] for every order and "
                   "count instead of estimated ones")
    t.add_argument("--out", help="run directory to create: new or empty, never overwritten "
                   "(default runs/ngram<N>-<date>-<time>)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar over the orders")
    t.add_argument("--json", action="store_true", help="print the result as one JSON object: nats_per_<unit>, "
                   "bits_per_<unit>, perplexity, n_<unit>s, order, discounts, ngrams, seconds, run_dir")

    e = cmds.add_parser("eval", help="exact loss of an n-gram run on its validation split or a text",
                        description="Score every token but the first, each given the tokens before it (as "
                        "`rnnlab eval` does).")
    e.add_argument("run", metavar="RUN", help="directory written by `rnnlab ngram train --out`")
    e.add_argument("--data", default=None, help="score the whole of this text file or bundled corpus instead of "
                   "the run's validation split")
    e.add_argument("--json", action="store_true", help="print one JSON object: nats_per_<unit>, bits_per_<unit>, "
                   "perplexity, n_<unit>s, order")

    s = cmds.add_parser("sample", help="generate Markov-chain text from an n-gram run",
                        description="Draw each token from P(token | the N-1 tokens before it); the text streams "
                        "to stdout and starts with the prime.")
    s.add_argument("run", metavar="RUN", help="directory written by `rnnlab ngram train --out`")
    s.add_argument("-n", "--length", type=int, default=300, help="tokens to generate (default 300)")
    s.add_argument("--prime", default="", help="text to start from (only symbols of the training text); "
                   "default: start after a newline")
    s.add_argument("--seed", type=seed, default=None, help="same seed, same text (default: a fresh one)")
    s.add_argument("--temperature", type=float, default=1.0, help="draw from P^(1/T): below 1 more likely "
                   "tokens, above 1 flatter (default 1)")


class _OrderProgress:
    """A tqdm bar over the orders on stderr, shown only once counting takes more than half a second."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled, self.bar = total, enabled, None

    def __call__(self, order: int) -> None:
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=self.total, desc="counting n-grams", unit="order", file=sys.stderr,
                            disable=not self.enabled, delay=0.5, leave=False, dynamic_ncols=True)
        self.bar.update(order - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args) -> int:
    import time

    from ..errors import require
    from . import run as ngram_run
    from .model import MAX_ORDER
    if args.ngram_command == "train":
        require(1 <= args.order <= MAX_ORDER, f"--order must be from 1 to {MAX_ORDER}, got {args.order}",
                "pass e.g. --order 5")
        out = args.out if args.out is not None else f"runs/ngram{args.order}-{time.strftime('%Y%m%d-%H%M%S')}"
        progress = _OrderProgress(args.order, enabled=not args.no_progress)
        try:
            result = ngram_run.train(args.data, args.tokenizer, args.order, args.val_frac, args.discount,
                                     args.kn == "modified", out, on_level=progress)
        finally:
            progress.close()
        u = args.tokenizer
        kind = (f"D = {args.discount:g}" if args.discount is not None else
                "modified" if result["modified"] else "standard")
        print(json.dumps(result, allow_nan=False) if args.json else
              f"{args.order}-gram {u} model (interpolated Kneser-Ney, {kind}): validation "
              f"{result[f'nats_per_{u}']:.4f} nats/{u} = {result[f'bits_per_{u}']:.4f} bits/{u}, perplexity "
              f"{result['perplexity']:.3f} ({result[f'n_{u}s']:,} {u}s); counted in {result['train_seconds']:.2f} s, "
              f"scored in {result['eval_seconds']:.2f} s; run in {result['run_dir']}")
    elif args.ngram_command == "eval":
        loaded = ngram_run.load(args.run)
        score = ngram_run.evaluate(loaded, args.data)
        if args.json:
            print(json.dumps({**score.to_dict(), "order": loaded.model.order}, allow_nan=False))
        else:
            u = score.unit
            print(f"{score.nats:.4f} nats/{u}  {score.bits:.4f} bits/{u}  perplexity {score.perplexity:.3f}  "
                  f"({score.n_tokens:,} {u}s scored)")
    else:
        require(1 <= args.length <= MAX_SAMPLE, f"-n must be from 1 to {MAX_SAMPLE:,}, got {args.length}",
                "pass e.g. -n 300")
        for piece in ngram_run.generate_text(args.run, args.length, args.prime, args.seed, args.temperature):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
    return 0
