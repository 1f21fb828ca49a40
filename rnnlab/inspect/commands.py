"""The `rnnlab inspect` commands: load the run and the text, call the analysis, write what it produced."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..callbacks import fraction_bar
from ..errors import NotUTF8Error, RnnlabError, rehint, require


@dataclass
class Subject:
    """A run's model and vocabulary, and the text it is inspected on, tokenized and aligned."""
    ckpt: object
    text: str
    tokens: np.ndarray     # (T,)
    offsets: np.ndarray    # (T,) character where each token starts
    source: str            # where the text came from, for the reports

    @property
    def model(self):
        return self.ckpt.model


PARAGRAPH_SEARCH = 5000


def paragraph_start(text: str) -> str:
    """The text from its first paragraph break on (within PARAGRAPH_SEARCH characters): the validation split
    starts mid-sentence, possibly inside $...$ or quotes, which would turn those features inside out."""
    cut = text.find("\n\n", 0, PARAGRAPH_SEARCH)
    return text[cut + 2:] if cut >= 0 else text


def load_subject(run: str, text_file: str | None, max_chars: int) -> Subject:
    """The run on CPU in float32, and the text (a file, or the run's validation split) up to max_chars."""
    from .. import runs
    from .activations import tokenize
    require(max_chars > 0, f"--max-chars must be positive, got {max_chars}", "pass e.g. --max-chars 100000")
    ckpt = runs.load_run(run, device="cpu")
    runs._require_finite_weights(ckpt)
    if text_file is None:
        corpus = runs._training_corpus(ckpt, ckpt.train_cfg.data, "pass --text with the text to inspect")
        text = paragraph_start(ckpt.vocab.decode(corpus.val[:max_chars + PARAGRAPH_SEARCH]))[:max_chars]
        source = f"the validation split of {ckpt.train_cfg.data}"
    else:
        path = Path(text_file)
        require(path.is_file(), f"no such text file: {text_file}", "give the path of a UTF-8 text file with --text")
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read(max_chars)
        except UnicodeDecodeError:
            raise rehint(NotUTF8Error(f"{text_file} is not valid UTF-8 text", ""), "convert it to UTF-8") from None
        source = text_file
    require(len(text) >= 2, f"the text to inspect ({source}) has fewer than 2 characters", "give a longer text")
    tokens, offsets = tokenize(ckpt.vocab, text)
    require(len(tokens) >= 2, f"the text to inspect ({source}) has fewer than 2 tokens", "give a longer text")
    return Subject(ckpt, text, tokens, offsets, source)


def parse_unit(spec: str, model) -> tuple[int, str, int]:
    """'LAYER:KIND:UNIT' (layer from 1) -> (layer index, kind, unit), checked against the model."""
    from .activations import GATE_NAMES
    rec = model.recurrent
    kinds = ["h"] + (["c"] if rec.kind == "lstm" else []) + list(GATE_NAMES[rec.kind])
    parts = spec.split(":")
    ok = len(parts) == 3 and parts[0].isdigit() and parts[2].isdigit() and parts[1] in kinds
    require(ok, f"--unit {spec!r} is not LAYER:KIND:UNIT", f"write e.g. --unit 1:h:0 (KIND one of {', '.join(kinds)})")
    layer, unit = int(parts[0]), int(parts[2])
    require(1 <= layer <= rec.num_layers, f"--unit {spec}: the model has layers 1..{rec.num_layers}",
            "pick an existing layer")
    require(unit < rec.hidden, f"--unit {spec}: the model has units 0..{rec.hidden - 1}", "pick an existing unit")
    return layer - 1, parts[1], unit


def cells(args) -> dict:
    from .cells import scan_cells
    require(args.top >= 1, f"--top must be at least 1, got {args.top}", "pass e.g. --top 3")
    names = feature_names(args.feature)                      # a bad --feature is refused before any work
    s = load_subject(args.run, args.text, args.max_chars)
    with fraction_bar(not args.no_progress, "correlating units with features") as on_progress:
        found = scan_cells(s.model, s.text, s.tokens, s.offsets, args.feature, top=args.top, progress=on_progress)
    rows = [dict(m.to_dict(), layer=m.layer + 1) for m in found]
    absent = [name for name in names if name not in {r["feature"] for r in rows}]
    if not args.json:
        width = max(len(r["feature"]) for r in rows)
        for r in rows:
            snippet = r["snippet"].replace("\n", "\\n")
            print(f"{r['feature']:{width}s}  layer {r['layer']} {r['kind']} unit {r['unit']:4d}  "
                  f"r = {r['correlation']:+.3f}  {snippet!r}")
        if absent:
            print(f"not in this text: {', '.join(absent)}")
    return {"features": rows, "absent": absent, "text": s.source, "tokens": int(len(s.tokens))}


def feature_names(extra: list[str]) -> list[str]:
    from .features import BUILTIN, parse_feature
    return list(BUILTIN) + [parse_feature(spec)[0] for spec in extra]


def gates(args) -> dict:
    from ..reports import write_json
    from .gates import plot, saturation, summary
    s = load_subject(args.run, args.text, args.max_chars)
    require(s.model.recurrent.kind != "rnn", "a vanilla RNN has no gates", "inspect an LSTM or GRU run")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with fraction_bar(not args.no_progress, "gate saturation") as on_progress:
        stats = saturation(s.model, s.tokens, progress=on_progress)
    result = {"gates": summary(stats), "text": s.source, "tokens": int(len(s.tokens))}
    write_json(out / "gates.json", result)
    plot(stats, out / "gates.png")
    if not args.json:
        for name, layers in result["gates"].items():
            for row in layers:
                print(f"{name} gate, layer {row['layer'] + 1}: left-saturated {row['mean_left']:.1%} of positions, "
                      f"right-saturated {row['mean_right']:.1%} (mean over units)")
        print(f"wrote {out / 'gates.json'} and {out / 'gates.png'}")
    return {"gates": {n: [{k: v for k, v in row.items() if k not in ("left", "right")} for row in layers]
                      for n, layers in result["gates"].items()}, "out": str(out)}


def export(args) -> dict:
    from .activations import collect
    from .export import write_lstmvis, write_npz
    require(args.k >= 1, f"-k must be at least 1, got {args.k}", "pass e.g. -k 5")
    s = load_subject(args.run, args.text, args.max_chars)
    acts = collect(s.model, s.tokens, k=args.k)
    if args.format == "npz":
        path = write_npz(args.out, acts, s)
    else:
        path = write_lstmvis(args.out, acts, s)
    print(f"wrote {path}")
    return {"out": str(path)}


def errors(args) -> dict:
    from .error_analysis import analyse, plot, print_summary
    from ..reports import write_json
    orders = parse_orders(args.orders)
    s = load_subject(args.run, args.text, args.max_chars)
    with fraction_bar(not args.no_progress, "scoring the text") as on_progress:
        result = analyse(s, orders, progress=on_progress)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "errors.json", result)
        plot(result, out / "errors.png")
    if not args.json:
        print_summary(result)
    return result


def parse_orders(spec: str) -> list[int]:
    try:
        orders = sorted({int(x) for x in spec.split(",") if x.strip()})
    except ValueError:
        raise RnnlabError(f"--orders {spec!r} is not a list of numbers", "write e.g. --orders 2,5,10") from None
    require(orders and all(1 <= o <= 20 for o in orders), f"--orders {spec!r}: orders go from 1 to 20",
            "write e.g. --orders 2,5,10")
    return orders


def report(args) -> dict:
    from .report import write_report
    require(args.report_chars > 0, f"--report-chars must be positive, got {args.report_chars}",
            "pass e.g. --report-chars 5000")
    orders = parse_orders(args.orders)
    feature_names(args.feature)
    s = load_subject(args.run, args.text, args.max_chars)
    unit = parse_unit(args.unit, s.model) if args.unit else None
    require(str(args.out).endswith((".html", ".htm")), f"--out {args.out} is not an .html file",
            "write e.g. --out report.html")
    with fraction_bar(not args.no_progress, "building the report") as on_progress:
        path = write_report(s, args.out, unit=unit, features=args.feature, orders=orders,
                            shown_chars=args.report_chars, progress=on_progress)
    print(f"wrote {path}")
    return {"out": str(path)}
