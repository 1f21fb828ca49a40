"""`rnnlab translate train|eval|run|attention`: flags in, library calls (rnnlab.tasks.translate_run) out."""
from __future__ import annotations

import json
import sys
import time

from .settings import add_flags, given


def add_parser(sub, parser_class) -> None:
    from .tasks.translate_config import TranslateConfig
    tr = sub.add_parser("translate", help="sequence-to-sequence translation: encoder-decoder with attention",
                        description="A bidirectional GRU/LSTM encoder and a GRU/LSTM decoder with Luong attention, "
                        "greedy and beam-search decoding, BLEU and chrF by sacrebleu.")
    cmds = tr.add_subparsers(dest="translate_command", required=True, parser_class=parser_class)

    t = cmds.add_parser("train", help="train a translation model on parallel text",
                        description="Train an encoder-decoder: word vocabularies (cased, --min-count) from the "
                        "training split, teacher forcing with label smoothing, Adam with warmup and cosine decay. "
                        "Each evaluation scores the validation split (loss, greedy BLEU and chrF) and saves last/; "
                        "best/ is the highest validation BLEU. At the end best/ translates the test split with "
                        "beam search. Budget: 30 epochs or 60 minutes, whichever ends first, unless "
                        "--max-epochs/--max-steps/--max-minutes say otherwise.")
    add_flags(t, TranslateConfig, skip=("tensorboard",))
    t.add_argument("--resume", metavar="RUN", help="continue RUN from its last/ checkpoint exactly, in place; "
                   "budget, logging, --lr, --grad-clip and --device may change, the model and data may not")
    t.add_argument("--no-progress", action="store_true", help="a line per log interval and evaluation instead of "
                   "a progress bar")
    t.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")

    e = cmds.add_parser("eval", help="BLEU and chrF of a translation run on its test split",
                        description="Translate RUN's test split (Multi30k: test_2016_flickr) with beam search and "
                        "score the detokenized, cased output against the raw references with sacrebleu "
                        "(BLEU with its 13a tokenizer, and chrF).")
    e.add_argument("run", metavar="RUN", help="a translation run directory (its best/ is used) or checkpoint directory")
    e.add_argument("--src-file", metavar="FILE", help="score these source sentences instead of the run's test split")
    e.add_argument("--tgt-file", metavar="FILE", help="their reference translations, line-aligned")
    e.add_argument("--split", choices=["test", "val"], default="test", help="the run's split to score (default test)")
    e.add_argument("--beam", type=int, default=None, help="beam size; 1 is greedy (default: the run's --beam, 5)")
    _common(e)
    e.add_argument("--json", action="store_true", help='print one JSON object: {"bleu", "chrf", "n", "test", ...}')

    for name, what in (("run", "translate a sentence"), ("attention", "draw the attention heat map of a sentence")):
        p = cmds.add_parser(name, help=what, description=f"{what[0].upper() + what[1:]} with a trained run.")
        p.add_argument("run", metavar="RUN", help="a translation run directory or checkpoint directory")
        p.add_argument("sentence", metavar="SENTENCE", help="the source sentence (quote it)")
        p.add_argument("--beam", type=int, default=5, help="beam size; 1 is greedy (default 5)")
        _common(p)
        if name == "attention":
            p.add_argument("--out", metavar="PNG", default="attention.png", help="image file (default attention.png)")
        p.add_argument("--json", action="store_true", help='print {"translation", "tokens", "score"'
                       + (', "attention"}' if name == "attention" else "}"))


def _common(p) -> None:
    p.add_argument("--which", choices=["best", "last"], default="best", help="checkpoint of a run (default best)")
    p.add_argument("--device", default="auto", help="auto (default: CUDA when present), cpu or cuda")


def _beam(value) -> None:
    from .errors import require
    require(value is None or 1 <= value <= 1000, f"--beam must be in 1..1000, got {value}", "pass e.g. --beam 5")


def _scores(ev) -> dict | None:
    return None if ev is None else {**ev.metrics, "loss": ev.loss, "n": ev.n}


def cmd_train(args) -> int:
    from .config import budget_overrides
    from .tasks import translate_run
    from .tasks.translate_config import TranslateConfig
    flags = given(args, TranslateConfig)
    if args.resume:
        result = translate_run.resume(args.resume, flags, progress=not args.no_progress)
    else:
        flags.setdefault("out", f"runs/translate-{time.strftime('%Y%m%d-%H%M%S')}")
        result = translate_run.train(TranslateConfig(**budget_overrides(flags, TranslateConfig)),
                                     progress=not args.no_progress)
    r = result.run
    summary = {"run_dir": str(r.run_dir), "steps": r.steps, "best_step": r.best_step, "stop_reason": r.stop_reason,
               "ended_by": r.ended_by, "sentences_per_s": round(r.items_per_s, 1), "val": _scores(result.val),
               "test": _scores(result.test)}
    if args.json:
        print(json.dumps(summary))
    else:
        why = f" ({r.stop_reason})" if r.stop_reason else ""
        parts = [f"{name} BLEU {ev.metrics['bleu']:.2f} chrF {ev.metrics['chrf']:.1f}"
                 for name, ev in (("validation (greedy)", result.val), ("test (beam)", result.test)) if ev is not None]
        print(f"done{why}: {r.steps} steps, best/ = step {r.best_step}: {'; '.join(parts) or 'no checkpoint'}; "
              f"run in {r.run_dir}", file=sys.stderr)
        if r.stop_signal:
            print(f"continue it with: rnnlab translate train --resume {r.run_dir}", file=sys.stderr)
    return 128 + r.stop_signal if r.stop_signal else 0


def cmd_eval(args) -> int:
    from .tasks import translate_run
    _beam(args.beam)
    score = translate_run.evaluate(translate_run.load(args.run, args.device, args.which), args.src_file,
                                   args.tgt_file, args.beam, args.split)
    if args.json:
        print(json.dumps(score))
    else:
        print(f"{score['test']}: {score['n']:,} sentences, beam {score['beam']}: BLEU {score['bleu']:.2f}, "
              f"chrF {score['chrf']:.2f} (sacrebleu, detokenized, cased); {score['loss']:.3f} nats/token")
    return 0


def _translated(args):
    from .tasks import translate_run
    _beam(args.beam)
    t = translate_run.load(args.run, args.device, args.which)
    return t, translate_run.translate(t, args.sentence, args.beam)


def cmd_run(args) -> int:
    _, out = _translated(args)
    print(json.dumps({"translation": out.text, "tokens": out.tokens, "score": out.score}) if args.json else out.text)
    return 0


def cmd_attention(args) -> int:
    from .tasks.translate_plots import attention_map
    from .tasks.translate_text import tokenize
    _, out = _translated(args)
    path = attention_map(tokenize(args.sentence), out.tokens, out.attention, args.out)
    if args.json:
        print(json.dumps({"translation": out.text, "tokens": out.tokens, "score": out.score,
                          "attention": out.attention.round(4).tolist(), "image": str(path)}))
    else:
        print(out.text)
        print(f"attention map: {path}", file=sys.stderr)
    return 0


def run(args) -> int:
    commands = {"train": cmd_train, "eval": cmd_eval, "run": cmd_run, "attention": cmd_attention}
    return commands[args.translate_command](args)
