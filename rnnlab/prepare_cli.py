"""`rnnlab prepare PATH --out DIR [--tokenizer char|byte|word]`: encode a text once into a memory-mapped file."""
from __future__ import annotations

import json


def add_parser(sub, parser_class) -> None:
    p = sub.add_parser("prepare", help="encode a large text once into a memory-mapped token file",
                       description="Read a text in blocks (bounded memory), fit the vocabulary, and write "
                       "DIR/tokens.bin (the token ids) and DIR/prepared.json (vocabulary, split, sha256 of the "
                       "text). `rnnlab train --data DIR` then reads it without loading it; a plain --data file "
                       "over 256 MB is prepared like this into RUN/corpus automatically.")
    p.add_argument("path", metavar="PATH", help="the text file (or a bundled corpus name)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory to create (new or empty)")
    p.add_argument("--tokenizer", choices=["char", "byte", "word"], default="char",
                   help="char (Unicode characters, default), byte (raw bytes, any file) or word")
    p.add_argument("--val-frac", type=float, default=0.1, help="last fraction of the tokens held out for "
                   "validation; `rnnlab train` must be given the same (default 0.1)")
    p.add_argument("--min-count", type=int, default=1, help="word tokenizer: words seen fewer times become <unk> "
                   "(default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the manifest and the speed as one JSON object")


def run(args) -> int:
    import time

    from .callbacks import fraction_bar
    from .text.prepare import check_request, prepare
    check_request(args.path, args.out, args.tokenizer, args.val_frac)     # bad input before the bar starts
    start = time.perf_counter()
    with fraction_bar(not args.no_progress, f"preparing {args.path}") as bar:
        result = prepare(args.path, args.out, args.tokenizer, args.val_frac, args.min_count, on_progress=bar)
    seconds = time.perf_counter() - start
    result.update(seconds=round(seconds, 3), mb_per_s=round(result["source_bytes"] / 1e6 / max(seconds, 1e-9), 1))
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "vocab"}))
    else:
        print(f"prepared {result['n_tokens']:,} {args.tokenizer} tokens ({result['vocab_size']:,} symbols; "
              f"{result['n_train']:,} train) in {seconds:.1f} s = {result['mb_per_s']:.0f} MB/s -> {args.out}")
    return 0
