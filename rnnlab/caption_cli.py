"""`rnnlab caption make-data|train|eval|describe|attention`: flags in, library calls (rnnlab.tasks.caption_*) out."""
from __future__ import annotations

import json
import sys
import time

from .settings import add_flags, given


def add_parser(sub, parser_class) -> None:
    from .tasks.caption_config import CaptionConfig
    cap = sub.add_parser("caption", help="one-to-many: caption images (rendered shapes) with an attention LSTM",
                         description="A small CNN encoder and an LSTM decoder with soft attention over the image grid "
                         "(Show, Attend and Tell), greedy and beam decoding, on scenes the tool renders itself.")
    cmds = cap.add_subparsers(dest="caption_command", required=True, parser_class=parser_class)

    m = cmds.add_parser("make-data", help="render scenes of 1-3 coloured shapes with their captions",
                        description="Render N 64x64 PNG scenes (circles, squares, triangles, stars; 5 colours, 2 "
                        "sizes; in a row left to right or top to bottom) with every valid caption of each, split "
                        "into train / val / test (5%% each held out) and heldout_combinations (5%%: scenes showing "
                        "green star, red triangle or blue circle, which no other split has). Same seed, same files.")
    m.add_argument("--out", required=True, metavar="DIR", help="directory to create (must be new or empty)")
    m.add_argument("--n", type=int, default=20000, help="number of images (default 20000)")
    m.add_argument("--seed", type=int, default=0, help="seed of the scenes (default 0)")
    m.add_argument("--json", action="store_true", help="print meta.json's contents as one JSON object")

    t = cmds.add_parser("train", help="train a captioner on a make-data directory",
                        description="Train the captioner by teacher forcing (one of each image's captions per step), "
                        "Adam with warmup and cosine decay. Each evaluation captions the validation split greedily "
                        "(exact match, attribute accuracy, BLEU-4) and saves last/; best/ is the highest validation "
                        "exact match. At the end best/ captions the test and held-out-combination splits with beam "
                        "search. Budget: " + CaptionConfig.default_budget() + ", unless "
                        "--max-epochs/--max-steps/--max-minutes say otherwise.")
    add_flags(t, CaptionConfig, skip=("tensorboard",))
    t.add_argument("--resume", metavar="RUN", help="continue RUN from its last/ checkpoint exactly, in place; "
                   "budget, logging, --lr, --grad-clip and --device may change, the model and data may not")
    t.add_argument("--no-progress", action="store_true", help="a line per log interval and evaluation instead of "
                   "a progress bar")
    t.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")

    e = cmds.add_parser("eval", help="exact match, attribute accuracy and BLEU-4 on held-out scenes and combinations",
                        description="Caption the test split (held-out scenes of seen combinations) and the "
                        "heldout_combinations split with beam search; report both and their gap.")
    e.add_argument("run", metavar="RUN", help="a captioning run directory (its best/ is used) or checkpoint directory")
    e.add_argument("--data", metavar="DIR", help="make-data directory to score instead of the run's own")
    e.add_argument("--beam", type=int, default=None, help="beam size; 1 is greedy (default: the run's --beam, 3)")
    _common(e)
    e.add_argument("--json", action="store_true", help='print one JSON object: {"bleu4", "exact_match", '
                   '"attribute_accuracy", "heldout_combinations": {...}, "gap": {...}, ...}')

    for name, what in (("describe", "caption an image"), ("attention", "draw where the decoder looked, word by word")):
        p = cmds.add_parser(name, help=what, description=f"{what[0].upper() + what[1:]} with a trained run (any "
                            "PNG or JPEG: grayscale, palette and alpha images are converted, other sizes resized).")
        p.add_argument("run", metavar="RUN", help="a captioning run directory or checkpoint directory")
        p.add_argument("image", metavar="IMAGE", help="an image file")
        p.add_argument("--beam", type=int, default=3, help="beam size; 1 is greedy (default 3)")
        _common(p)
        if name == "attention":
            p.add_argument("--out", metavar="PNG", default="attention.png", help="figure file (default attention.png)")
        p.add_argument("--json", action="store_true", help='print {"caption", "words", "score", "notes"'
                       + (', "attention"}' if name == "attention" else "}"))


def _common(p) -> None:
    p.add_argument("--which", choices=["best", "last"], default="best", help="checkpoint of a run (default best)")
    p.add_argument("--device", default="auto", help="auto (default: CUDA when present), cpu or cuda")


def _line(s: dict) -> str:
    return (f"exact match {100 * s['exact_match']:.1f}%, attribute accuracy {100 * s['attribute_accuracy']:.2f}%, "
            f"BLEU-4 {s['bleu4']:.1f} ({s['n']:,} images)")


def cmd_make_data(args) -> int:
    from .tasks.caption_data import make_data
    meta = make_data(args.out, args.n, args.seed,
                     None if args.json else lambda k, n: print(f"\r{k:,}/{n:,} images", end="", file=sys.stderr))
    if args.json:
        print(json.dumps(meta))
    else:
        print(f"\nwrote {args.n:,} images and captions.jsonl to {args.out}: " +
              ", ".join(f"{n:,} {k}" for k, n in meta["splits"].items()), file=sys.stderr)
    return 0


def cmd_train(args) -> int:
    from .config import budget_overrides
    from .tasks import caption_run
    from .tasks.caption_config import CaptionConfig
    flags = given(args, CaptionConfig)
    if args.resume:
        result = caption_run.resume(args.resume, flags, progress=not args.no_progress)
    else:
        flags.setdefault("out", f"runs/caption-{time.strftime('%Y%m%d-%H%M%S')}")
        result = caption_run.train(CaptionConfig(**budget_overrides(flags, CaptionConfig)), progress=not args.no_progress)
    r, s = result.run, result.scores
    if args.json:
        print(json.dumps({"run_dir": str(r.run_dir), "steps": r.steps, "best_step": r.best_step,
                          "stop_reason": r.stop_reason, "images_per_s": round(r.items_per_s, 1), "scores": s}))
    else:
        why = f" ({r.stop_reason})" if r.stop_reason else ""
        text = (f"test {_line(s)}; held-out combinations {_line(s['heldout_combinations'])}" if s else "no checkpoint")
        print(f"done{why}: {r.steps} steps, best/ = step {r.best_step}: {text}; run in {r.run_dir}", file=sys.stderr)
        if r.stop_signal:
            print(f"continue it with: rnnlab caption train --resume {r.run_dir}", file=sys.stderr)
    return 128 + r.stop_signal if r.stop_signal else 0


def cmd_eval(args) -> int:
    from .tasks import caption_run
    score = caption_run.evaluate(caption_run.load(args.run, args.device, args.which), args.data, args.beam)
    if args.json:
        print(json.dumps(score))
        return 0
    held = score["heldout_combinations"]
    print(f"held-out scenes (test, beam {score['beam']}): {_line(score)}")
    print(f"held-out combinations: {_line(held)}; the held-out pairs themselves named right: "
          f"{100 * held.get('pair_accuracy', 0):.1f}%")
    print(f"gap (seen - unseen): exact match {100 * score['gap']['exact_match']:.1f} points, attribute accuracy "
          f"{100 * score['gap']['attribute_accuracy']:.2f} points")
    return 0


def cmd_describe(args) -> int:
    from .tasks import caption_run
    captioner = caption_run.load(args.run, args.device, args.which)
    notes: list = []
    cap = caption_run.describe(captioner, args.image, args.beam, notes)
    out = {"caption": cap.text, "words": cap.words, "score": cap.score, "notes": notes}
    if args.caption_command == "attention":
        from .tasks.caption_images import load_image
        from .tasks.caption_plots import attention_figure
        attention_figure(load_image(args.image, captioner.model.cfg.encoder.image_size), cap, args.out)
        out["attention"] = cap.attention.round(4).tolist()
        out["figure"] = args.out
    if args.json:
        print(json.dumps(out))
        return 0
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(cap.text)
    if args.caption_command == "attention":
        print(f"attention figure: {args.out}", file=sys.stderr)
    return 0


def run(args) -> int:
    return {"make-data": cmd_make_data, "train": cmd_train, "eval": cmd_eval, "describe": cmd_describe,
            "attention": cmd_describe}[args.caption_command](args)
