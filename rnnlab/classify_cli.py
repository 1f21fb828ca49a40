"""`rnnlab classify train|eval|predict`: flags in, library calls (rnnlab.tasks.classify_run) out."""
from __future__ import annotations

import json
import sys
import time

from .settings import add_flags, given


def add_parser(sub, parser_class) -> None:
    from .tasks.classify_config import ClassifyConfig
    c = sub.add_parser("classify", help="sentence classification: one label per text (sentiment, topic)",
                       description="A bidirectional LSTM over words, pooled (max and mean) into one vector per text.")
    cmds = c.add_subparsers(dest="classify_command", required=True, parser_class=parser_class)

    t = cmds.add_parser("train", help="train a classifier on labelled sentences",
                        description="Train a classifier: word embedding -> bidirectional LSTM over packed sequences "
                        "-> max+mean pooling -> softmax. --data rt-polarity, a CSV/TSV file (--text-col, "
                        "--label-col) or label<TAB>text lines; a seeded 90/10 split (or --folds K). Writes "
                        "RUN/best/ (lowest validation loss), RUN/last/, RUN/metrics.jsonl and RUN/loss.png. Budget: "
                        f"{ClassifyConfig.default_budget()}, unless --max-epochs/--max-steps/--max-minutes say "
                        "otherwise.")
    add_flags(t, ClassifyConfig, skip=("tensorboard",))
    t.add_argument("--resume", metavar="RUN", help="continue RUN from its last/ checkpoint exactly, in place; "
                   "budget, logging, --lr, --grad-clip and --device may change, the model and data may not")
    t.add_argument("--no-progress", action="store_true", help="a line per log interval and evaluation instead of "
                   "a progress bar")
    t.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout (with "
                   "--folds: mean_accuracy, std_accuracy and the per-fold list)")

    e = cmds.add_parser("eval", help="accuracy, macro F1 and per-class scores of a classification run",
                        description="Score RUN's best/ on its own held-out split, or on every sentence of --data.")
    e.add_argument("run", metavar="RUN", help="a classification run directory (its best/ is used) or a checkpoint")
    e.add_argument("--data", help="labelled file (or rt-polarity) to score instead of the run's held-out split")
    e.add_argument("--text-col", metavar="NAME", help="with --data CSV/TSV: the text column (default text)")
    e.add_argument("--label-col", metavar="NAME", help="with --data CSV/TSV: the label column (default label)")
    e.add_argument("--which", choices=["best", "last"], default="best", help="checkpoint of a run (default best)")
    e.add_argument("--device", default="auto", help="auto (default: CUDA when present), cpu or cuda")
    e.add_argument("--json", action="store_true", help='print one JSON object: {"accuracy", "macro_f1", "n", '
                   '"per_class": {label: {"precision", "recall", "f1", "support"}}, "loss", "split"}')

    p = cmds.add_parser("predict", help="classify a sentence with a trained run",
                        description="Tokenize the text as the run was trained and print the likeliest label and "
                        "the probability of every class.")
    p.add_argument("run", metavar="RUN", help="a classification run directory or checkpoint directory")
    p.add_argument("text", nargs="+", metavar="TEXT", help="the text to classify (quote it, or give the words)")
    p.add_argument("--which", choices=["best", "last"], default="best", help="checkpoint of a run (default best)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument("--json", action="store_true", help='print {"label", "probabilities": {label: p}, "tokens", '
                   '"unknown"}')


def _scores(ev) -> dict | None:
    return None if ev is None else {**ev.metrics, "loss": ev.loss, "n": ev.n}


def cmd_train(args) -> int:
    from .config import budget_overrides
    from .tasks import classify_run
    from .tasks.classify_config import ClassifyConfig
    flags = given(args, ClassifyConfig)
    if args.resume:
        result = classify_run.resume(args.resume, flags, progress=not args.no_progress)
    else:
        flags.setdefault("out", f"runs/classify-{time.strftime('%Y%m%d-%H%M%S')}")
        cfg = ClassifyConfig(**budget_overrides(flags, ClassifyConfig))
        if cfg.folds:
            return _cross_validate(classify_run.cross_validate(cfg, progress=not args.no_progress), args.json)
        result = classify_run.train(cfg, progress=not args.no_progress)
    r = result.run
    from . import distributed
    if (code := distributed.follower_exit(r.stop_signal)) is not None:           # under torchrun rank 0 reports
        return code
    summary = {"run_dir": str(r.run_dir), "steps": r.steps, "best_step": r.best_step, "stop_reason": r.stop_reason,
               "sentences_per_s": round(r.items_per_s, 1), "best": _scores(result.best), "last": _scores(result.last)}
    if args.json:
        print(json.dumps(summary))
    else:
        why = f" ({r.stop_reason})" if r.stop_reason else ""
        parts = [f"{name} accuracy {100 * ev.metrics['accuracy']:.2f}% macro F1 {100 * ev.metrics['macro_f1']:.2f}%"
                 for name, ev in ((f"best/ (step {r.best_step})", result.best), ("last/", result.last)) if ev]
        print(f"done{why}: {r.steps} steps, {r.items_per_s:,.0f} sentences/s; held-out {'; '.join(parts)}; "
              f"run in {r.run_dir}", file=sys.stderr)
        if r.stop_signal:
            print(f"continue it with: rnnlab classify train --resume {r.run_dir}", file=sys.stderr)
    return 128 + r.stop_signal if r.stop_signal else 0


def _cross_validate(cv: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(cv))
        return 0
    for row in cv["folds"]:
        print(f"fold {row['fold']:2d}: accuracy {100 * row['accuracy']:.2f}%  macro F1 {100 * row['macro_f1']:.2f}%  "
              f"({row['n']} sentences)")
    print(f"{cv['k']}-fold accuracy {100 * cv['mean_accuracy']:.2f}% +- {100 * cv['std_accuracy']:.2f}")
    return 0


def cmd_eval(args) -> int:
    from .tasks import classify_run
    clf = classify_run.load(args.run, args.device, args.which)
    score = classify_run.evaluate(clf, args.data, args.text_col, args.label_col)
    if args.json:
        print(json.dumps(score))
        return 0
    print(f"{score['split']}: {score['n']:,} sentences; accuracy {100 * score['accuracy']:.2f}%, macro F1 "
          f"{100 * score['macro_f1']:.2f}%, loss {score['loss']:.4f} nats")
    for name, d in score["per_class"].items():
        print(f"  {name:20s} P {100 * d['precision']:.1f} R {100 * d['recall']:.1f} F1 {100 * d['f1']:.1f}  "
              f"({d['support']} in the data)")
    return 0


def cmd_predict(args) -> int:
    from .tasks import classify_run
    out = classify_run.predict(classify_run.load(args.run, args.device, args.which), " ".join(args.text))
    if args.json:
        print(json.dumps(out))
        return 0
    print(out["label"])
    for name, p in sorted(out["probabilities"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:20s} {p:.4f}")
    return 0


def run(args) -> int:
    return {"train": cmd_train, "eval": cmd_eval, "predict": cmd_predict}[args.classify_command](args)
