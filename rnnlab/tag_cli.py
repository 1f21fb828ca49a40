"""`rnnlab tag train|eval|predict`: flags in, library calls (rnnlab.tasks.tag_run) out."""
from __future__ import annotations

import json
import sys
import time

from .settings import add_flags, given


def add_parser(sub, parser_class) -> None:
    from .tasks.tag_config import TagConfig
    tag = sub.add_parser("tag", help="sequence tagging: a tag for every word (named entities, part of speech)",
                         description="A BiLSTM over words with character features and an optional CRF.")
    cmds = tag.add_subparsers(dest="tag_command", required=True, parser_class=parser_class)

    t = cmds.add_parser("train", help="train a tagger on CoNLL files",
                        description="Train a tagger: word embedding + character CNN/BiLSTM + word shape -> "
                        "bidirectional LSTM -> softmax or CRF. Writes RUN/best/ (the best validation entity F1, "
                        "or loss for tags without B-/I- prefixes), RUN/last/, RUN/metrics.jsonl and RUN/loss.png; "
                        "at the end best/ is scored on the validation and test files. Budget: 20 epochs or 20 "
                        "minutes, whichever ends first, unless --max-epochs/--max-steps/--max-minutes say otherwise.")
    add_flags(t, TagConfig, skip=("tensorboard",))
    t.add_argument("--resume", metavar="RUN", help="continue RUN from its last/ checkpoint exactly, in place; "
                   "budget, logging, --lr, --grad-clip and --device may change, the model and data may not")
    t.add_argument("--no-progress", action="store_true", help="a line per log interval and evaluation instead of "
                   "a progress bar")
    t.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")

    e = cmds.add_parser("eval", help="entity precision/recall/F1 and token accuracy of a tagging run",
                        description="Score RUN's best/ on its test file when it has one, else on its validation "
                        "file, or on the CoNLL file given with --data. Entities count when span and type both "
                        "match (CoNLL); tag sets without B-/I-/E-/S- prefixes get per-tag scores.")
    e.add_argument("run", metavar="RUN", help="a tagging run directory (its best/ is used) or a checkpoint directory")
    e.add_argument("--data", metavar="FILE", help="CoNLL file to score instead of the run's own test/validation split")
    e.add_argument("--which", choices=["best", "last"], default="best", help="checkpoint of a run (default best)")
    e.add_argument("--device", default="auto", help="auto (default: CUDA when present), cpu or cuda")
    e.add_argument("--json", action="store_true", help='print one JSON object: {"accuracy", "precision", "recall", '
                   '"f1", "per_type": {type: {...}}, "n_sentences", ...}')

    p = cmds.add_parser("predict", help="tag a sentence with a trained run",
                        description="Tokenize the sentence (URLs, @mentions and #hashtags whole; punctuation and "
                        "clitics apart), tag every token and list the entities found.")
    p.add_argument("run", metavar="RUN", help="a tagging run directory or checkpoint directory")
    p.add_argument("sentence", nargs="+", metavar="SENTENCE", help="the text to tag (quote it, or give the words)")
    p.add_argument("--which", choices=["best", "last"], default="best", help="checkpoint of a run (default best)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument("--json", action="store_true", help='print {"tokens", "tags", "entities": [{"text", "type", '
                   '"start", "end"}]}')


def _pct(d: dict) -> str:
    return f"P {100 * d['precision']:.1f} R {100 * d['recall']:.1f} F1 {100 * d['f1']:.1f}"


def _scores(ev) -> dict | None:
    return None if ev is None else {**ev.metrics, "loss": ev.loss, "n_sentences": ev.n, "per_type": ev.per_type}


def cmd_train(args) -> int:
    from .config import budget_overrides
    from .tasks import tag_run
    from .tasks.tag_config import TagConfig
    flags = given(args, TagConfig)
    if not args.resume:
        flags.setdefault("out", f"runs/tag-{time.strftime('%Y%m%d-%H%M%S')}")
    if args.resume:
        result = tag_run.resume(args.resume, flags, progress=not args.no_progress)
    else:
        result = tag_run.train(TagConfig(**budget_overrides(flags, TagConfig)), progress=not args.no_progress)
    r = result.run
    from . import distributed
    if (code := distributed.follower_exit(r.stop_signal)) is not None:           # under torchrun rank 0 reports
        return code
    summary = {"run_dir": str(r.run_dir), "steps": r.steps, "best_step": r.best_step, "stop_reason": r.stop_reason,
               "sentences_per_s": round(r.items_per_s, 1), "val": _scores(result.val), "test": _scores(result.test)}
    if args.json:
        print(json.dumps(summary))
    else:
        why = f" ({r.stop_reason})" if r.stop_reason else ""
        parts = [f"{name} {_pct(ev.metrics)} accuracy {100 * ev.metrics['accuracy']:.1f}%"
                 for name, ev in (("validation", result.val), ("test", result.test)) if ev is not None]
        print(f"done{why}: {r.steps} steps, best/ = step {r.best_step}: {'; '.join(parts) or 'no checkpoint'}; "
              f"run in {r.run_dir}", file=sys.stderr)
        if r.stop_signal:
            print(f"continue it with: rnnlab tag train --resume {r.run_dir}", file=sys.stderr)
    return 128 + r.stop_signal if r.stop_signal else 0


def cmd_eval(args) -> int:
    from .tasks import tag_run
    score = tag_run.evaluate(tag_run.load(args.run, args.device, args.which), args.data)
    if args.json:
        print(json.dumps(score))
        return 0
    kind = "entities" if score["scheme"] == "entities" else "macro over tags"
    print(f"{score['split']}: {score['n_sentences']:,} sentences, {score['n_tokens']:,} tokens; accuracy "
          f"{100 * score['accuracy']:.2f}%; {kind}: {_pct(score)}")
    for name, d in score["per_type"].items():
        print(f"  {name:20s} {_pct(d)}  ({d['support']} in the data, {d['predicted']} predicted)")
    return 0


def cmd_predict(args) -> int:
    from .tasks import tag_run
    tagger = tag_run.load(args.run, args.device, args.which)
    out = tag_run.predict(tagger, " ".join(args.sentence))
    if args.json:
        print(json.dumps(out))
        return 0
    print(" ".join(f"{w}/{t}" for w, t in zip(out["tokens"], out["tags"])))
    from .tasks.entities import is_chunked
    if is_chunked(tagger.vocabs.tags.names):
        found = ", ".join(f"{e['text']} ({e['type']})" for e in out["entities"])
        print(f"entities: {found or 'none'}")
    return 0


def run(args) -> int:
    return {"train": cmd_train, "eval": cmd_eval, "predict": cmd_predict}[args.tag_command](args)
