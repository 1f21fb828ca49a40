"""`rnnlab inspect cells|gates|errors|report|export RUN --text FILE`: flags in, rnnlab.inspect calls out."""
from __future__ import annotations

import json


MAX_CHARS = 200_000


def _common(p, text_help: str = "text to run the model over (default: the run's validation split)") -> None:
    p.add_argument("run", metavar="RUN", help="a language-model run or checkpoint directory (best/ is used)")
    p.add_argument("--text", metavar="FILE", help=text_help)
    p.add_argument("--max-chars", type=int, default=MAX_CHARS, help="read at most this many characters of the "
                   f"text, from its start (default {MAX_CHARS:,})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_parser(sub, parser_class) -> None:
    ins = sub.add_parser("inspect", help="look inside a language-model run: cells, gates, errors, an HTML report",
                         description="What a trained language model has learned, on any text: units that track "
                         "character features, gate saturation, errors against n-gram models, a report page.")
    cmds = ins.add_subparsers(dest="inspect_command", required=True, parser_class=parser_class)

    c = cmds.add_parser("cells", help="the unit that best tracks each character feature",
                        description="Correlate every unit (h and c of every layer) with character features of the "
                        "text (inside quotes, brackets and their depth, [[ ]], URLs, position in the line, C "
                        "comments, if-blocks, indentation, $...$, start of a word, after a newline, vowels) and "
                        "report the best unit per feature with a snippet where it fires.")
    _common(c)
    c.add_argument("--feature", action="append", default=[], metavar="NAME=REGEX",
                   help="add a feature that is on inside the matches of REGEX (repeatable)")
    c.add_argument("--top", type=int, default=1, help="units listed per feature (default 1)")
    c.add_argument("--json", action="store_true", help='print {"features": [{"feature", "layer", "unit", "kind", '
                   '"correlation", "snippet", "position"}]} (layers counted from 1)')

    g = cmds.add_parser("gates", help="gate saturation: the fraction of positions each unit is < 0.1 or > 0.9",
                        description="For each layer and sigmoid gate (i, f, o of an LSTM; r, z of a GRU), the "
                        "fraction of positions at which each unit is left-saturated (< 0.1) or right-saturated "
                        "(> 0.9): gates.json and the scatter plot gates.png in --out.")
    _common(g)
    g.add_argument("--out", required=True, metavar="DIR", help="directory for gates.json and gates.png")
    g.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    e = cmds.add_parser("errors", help="bits per character of the run against n-gram models on the same text",
                        description="Score the text with the run and with interpolated Kneser-Ney n-gram models "
                        "trained on the run's training split: bits per character of each, where the run wins "
                        "and loses (per character class, and the snippets with the largest gaps), and the "
                        "accuracy of predicting a closing bracket or quote against the distance to its opener.")
    _common(e)
    e.add_argument("--orders", default="2,5,10", help="n-gram orders to compare, comma-separated (default 2,5,10)")
    e.add_argument("--out", metavar="DIR", help="directory for errors.json and errors.png (the closing-bracket "
                   "figure)")
    e.add_argument("--json", action="store_true", help='print {"run_bits_per_char", "ngram_bits_per_char": '
                   '{"2": ...}, "by_class", "closing": ..., "wins", "losses"}')

    r = cmds.add_parser("report", help="one self-contained HTML page: coloured text, top-5 predictions, cells, "
                        "gates, errors", description="Write an HTML page that needs no network: the text coloured "
                        "per character by a unit, the top-5 next characters under each position on hover, the "
                        "units found by `inspect cells`, and the gate and error plots.")
    _common(r)
    r.add_argument("--out", required=True, metavar="FILE", help="the .html file to write")
    r.add_argument("--unit", metavar="LAYER:KIND:UNIT", help="the unit to colour the text by, e.g. 2:c:17 (layer "
                   "from 1, kind h or c or a gate); default: the unit found for the first feature it tracks best")
    r.add_argument("--feature", action="append", default=[], metavar="NAME=REGEX", help="as in `inspect cells`")
    r.add_argument("--orders", default="2,5,10", help="n-gram orders of the error section (default 2,5,10)")
    r.add_argument("--report-chars", type=int, default=5000, help="characters of the text shown coloured "
                   "(default 5000; the statistics use all of it)")

    x = cmds.add_parser("export", help="activations to .npz, or HDF5 files in LSTMVis's layout",
                        description="Write h, c, every gate and the top-k next tokens of every position: one "
                        ".npz file, or (--format lstmvis, needs h5py) states.hdf5, train.hdf5, words.dict and "
                        "lstm.yml that LSTMVis reads.")
    _common(x)
    x.add_argument("--out", required=True, metavar="PATH", help="the .npz file, or the directory for LSTMVis")
    x.add_argument("--format", choices=["npz", "lstmvis"], default="npz", help="npz (default) or lstmvis")
    x.add_argument("-k", type=int, default=5, help="next tokens kept per position (default 5)")


def run(args) -> int:
    from . import commands
    result = getattr(commands, args.inspect_command)(args)
    if getattr(args, "json", False):
        print(json.dumps(result))
    return 0
