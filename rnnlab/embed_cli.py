"""`rnnlab embed neighbors RUN_OR_VECTORS WORD [-k 10] [--json]`: cosine nearest neighbours of a word."""
from __future__ import annotations

import json


def add_parser(sub, parser_class) -> None:
    e = sub.add_parser("embed", help="look at embedding tables (runs or vectors files)")
    esub = e.add_subparsers(dest="embed_command", required=True, parser_class=parser_class)
    n = esub.add_parser("neighbors", help="cosine nearest neighbours of a word",
                        description="List the tokens whose embedding vectors are closest (cosine) to WORD's, from "
                        "any run's embedding table (language-model, classify or tag runs; best/ is used) or from a "
                        "GloVe/word2vec text file.")
    n.add_argument("source", metavar="RUN_OR_VECTORS", help="a run or checkpoint directory, or a vectors text file")
    n.add_argument("word", help="the word (or, for character runs, the character) to look up")
    n.add_argument("-k", type=int, default=10, help="neighbours to list (default 10)")
    n.add_argument("--json", action="store_true", help='print {"word", "neighbors": [[token, cosine], ...]}')


def run(args) -> int:
    from .embed import load_table, neighbors
    tokens, table = load_table(args.source)
    found = neighbors(tokens, table, args.word, args.k)
    if args.json:
        print(json.dumps({"word": args.word, "neighbors": [[t, round(s, 6)] for t, s in found]}))
    else:
        shown = [(t if t.strip() and t.isprintable() else repr(t), s) for t, s in found]   # "\n" -> '\n'
        width = max((len(t) for t, _ in shown), default=0)
        for t, s in shown:
            print(f"{t:{width}s}  {s:.4f}")
    return 0
