"""Command line: parse flags at the edge, build configs, call the library. No logic lives here."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

from . import __version__
from .argtypes import seed
from .config import EvalConfig, LoopConfig, ModelConfig, SampleConfig, TrainConfig, budget_overrides
from .errors import RnnlabError
from .settings import add_flags, flag, given, resumable

class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with a "did you mean" and a pointer to --help, exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} ({_did_you_mean(self, message)}see {self.prog} --help)\n")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an unknown flag is reported by the (sub)command that was chosen, with its flags."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            _chosen(self, parsed).error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def _chosen(parser: argparse.ArgumentParser, parsed) -> argparse.ArgumentParser:
    """The innermost subcommand parser the parsed arguments selected."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and getattr(parsed, action.dest, None) in action.choices:
            return _chosen(action.choices[getattr(parsed, action.dest)], parsed)
    return parser


def _did_you_mean(parser: argparse.ArgumentParser, message: str) -> str:
    """'did you mean --hidden? ' for a misspelt flag or choice in an argparse message, else ''."""
    import difflib
    import re
    if message.startswith("unrecognized arguments: "):
        known = [o for a in parser._actions for o in a.option_strings]
        wrong = [w.split("=")[0] for w in message.split(": ", 1)[1].split() if w.startswith("-")]
    else:
        found = re.search(r"invalid choice: '(.*?)' \(choose from (.*)\)$", message)
        if not found:
            return ""
        known, wrong = re.findall(r"'(.*?)'", found.group(2)), [found.group(1)]
    guesses = [m for w in wrong for m in difflib.get_close_matches(w, known, n=1)]
    return f"did you mean {' '.join(dict.fromkeys(guesses))}? " if guesses else ""


LOOP_FIELDS = tuple(f.name for f in dataclasses.fields(LoopConfig))   # --help groups the loop's flags


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="rnnlab", description="Recurrent language models: train, sample, evaluate.")
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    t = sub.add_parser("train", help="train a language model on a text", description="Train an RNN/LSTM/GRU language "
                       "model with truncated BPTT; writes RUN/best/, RUN/last/, RUN/metrics.jsonl and RUN/loss.png.")
    add_flags(t.add_argument_group("model"), ModelConfig)
    add_flags(t.add_argument_group("data"), TrainConfig, skip=LOOP_FIELDS)
    add_flags(t.add_argument_group("training loop"), TrainConfig, only=LOOP_FIELDS)
    changeable = ", ".join(sorted(flag(f) for f in dataclasses.fields(TrainConfig) if f.name in resumable(TrainConfig)))
    t.add_argument("--resume", metavar="RUN", help="continue RUN from its last/ checkpoint exactly, in place "
                   "(--out may not name another directory: copy the run to fork it); the model and data may not "
                   f"change, these flags may: {changeable}")
    t.add_argument("--no-progress", action="store_true", help="no progress bar: instead a line per log interval "
                   "(step, training loss in nats, learning rate, speed) and per evaluation; samples still print")
    t.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")

    s = sub.add_parser("sample", help="generate text from a trained run", description="Generate text; it streams to "
                       "stdout as it is produced and starts with the prime.")
    s.add_argument("run", metavar="RUN_OR_CKPT", help="a run directory (its best/ is used) or a checkpoint directory")
    add_flags(s, SampleConfig)
    s.add_argument("--which", choices=["best", "last"], default="best", help="checkpoint of a run to use (default best)")
    s.add_argument("--device", default="auto", help="auto (default: CUDA when present), cpu or cuda")

    e = sub.add_parser("eval", help="exact loss of a run on its validation split or a text",
                       description="Score every token once with the state carried through the text.")
    e.add_argument("run", metavar="RUN_OR_CKPT", help="a run directory (its best/ is used) or a checkpoint directory")
    add_flags(e, EvalConfig)
    e.add_argument("--json", action="store_true", help="print one JSON object: nats_per_char, bits_per_char, perplexity, n_chars")

    sub.add_parser("datasets", help="list the bundled corpora", description="List corpora usable as --data NAME.")

    g = sub.add_parser("gradcheck", help="check the NumPy models' hand-written gradients by finite differences",
                       description="Compare rnnlab.numpy_ref's BPTT gradients with centred finite differences "
                       "(float64 analytic, extended-precision differences) for every parameter of a 2-layer model.")
    g.add_argument("--model", choices=["rnn", "lstm", "gru"], action="append",
                   help="model to check (repeatable; default all three)")
    g.add_argument("--json", action="store_true", help="print {model: {param: max_rel_error}} as one JSON object")

    f = sub.add_parser("gradflow", help="the lectures' exploding/vanishing gradient experiments (PNG + JSON)",
                       description="Sweep the spectral radius of W_hh of a 5-unit RNN over 50 steps, and compare "
                       "||dLoss/dh_t|| over 100 steps for a vanilla RNN and an LSTM.")
    f.add_argument("--out", default="gradflow", help="directory for sweep.png, rnn_vs_lstm.png, gradflow.json")
    f.add_argument("--seed", type=seed, default=0, help="seed for the random matrices and inputs (default 0)")
    f.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    from .esn.cli import add_parser as add_esn
    from .hmm.cli import add_parser as add_hmm
    add_hmm(sub, Parser)
    add_esn(sub, Parser)
    from .tag_cli import add_parser as add_tag
    add_tag(sub, Parser)
    from .forecast_cli import add_parser as add_forecast
    add_forecast(sub, Parser)
    from .translate_cli import add_parser as add_translate
    add_translate(sub, Parser)
    from .caption_cli import add_parser as add_caption
    add_caption(sub, Parser)
    from .classify_cli import add_parser as add_classify
    from .embed_cli import add_parser as add_embed
    add_classify(sub, Parser)
    add_embed(sub, Parser)
    from .prepare_cli import add_parser as add_prepare
    add_prepare(sub, Parser)
    from .bench_cli import add_parser as add_bench
    add_bench(sub, Parser)
    from .inspect.cli import add_parser as add_inspect
    from .ngram.cli import add_parser as add_ngram
    from .serve.cli import add_parser as add_serve
    add_ngram(sub, Parser)
    add_inspect(sub, Parser)
    add_serve(sub, Parser)

    toy = sub.add_parser("toy", help="the lectures' toy problems").add_subparsers(dest="toy", required=True,
                                                                                 parser_class=Parser)
    a = toy.add_parser("addition", help="binary addition: a sigmoid RNN vs a feed-forward net",
                       description="Train on 8-bit sums, test exact-sum accuracy on unseen 8-, 16- and 32-bit numbers.")
    a.add_argument("--hidden", type=int, default=16, help="sigmoid hidden units of the RNN (default 16)")
    a.add_argument("--steps", type=int, default=3000, help="training steps of 100 sums (default 3000)")
    a.add_argument("--seed", type=seed, default=0, help="seed (default 0)")
    a.add_argument("--json", action="store_true", help='print {"rnn": {"8": acc, ...}, "mlp": {...}}')
    return parser


def cmd_train(args) -> int:
    from . import runs
    # the config's budget rule (--max-steps alone removes the time cap, --max-minutes alone the step cap),
    # applied here too so that a resume's overrides follow it; TrainConfig(**train_given) would on its own
    train_given = budget_overrides(given(args, TrainConfig))
    model_given = given(args, ModelConfig)
    if args.resume:
        if model_given:
            raise RnnlabError(f"cannot change the model ({', '.join('--' + k for k in model_given)}) when resuming",
                              "drop those flags, or start a new run with --out")
        result = runs.resume(args.resume, train_given, progress=not args.no_progress)   # refuses another --out
    else:
        if train_given.get("backend") == "numpy":
            model_given.setdefault("dropout", 0.0)   # the NumPy models have no dropout
        if train_given.get("init_from"):    # the model, --tokenizer and --min-count come from that run
            from .finetune import cli_settings
            model_cfg, train_given = cli_settings(train_given["init_from"], model_given, train_given)
        else:    # no model flags: None lets the default recipe choose the size from a quick measurement
            model_cfg = ModelConfig(**model_given) if model_given else None
        model = model_cfg.model if model_cfg is not None else "lstm"
        train_given.setdefault("out", f"runs/{model}-{time.strftime('%Y%m%d-%H%M%S')}")
        result = runs.train(model_cfg, TrainConfig(**train_given), progress=not args.no_progress)
    from . import distributed
    if (code := distributed.follower_exit(result.stop_signal)) is not None:      # under torchrun rank 0 reports
        return code
    summary = {"run_dir": str(result.run_dir), "steps": result.steps, "best_val_nats": result.best_val_nats,
               "best_val_bpc": result.best_val_bits, "best_step": result.best_step,
               "chars_per_s": round(result.chars_per_s, 1), "stop_reason": result.stop_reason}
    if args.json:
        print(json.dumps(summary))
    else:
        why = f" ({result.stop_reason})" if result.stop_reason else ""
        u = result.unit
        print(f"done{why}: {result.steps} steps, best validation {result.best_val_nats:.4f} nats/{u} = "
              f"{result.best_val_bits:.4f} bits/{u} at step {result.best_step}, {result.chars_per_s:,.0f} {u}s/s; "
              f"run in {result.run_dir}", file=sys.stderr)
        if result.stop_signal:
            print(f"continue it with: rnnlab train --resume {result.run_dir}", file=sys.stderr)
    return 128 + result.stop_signal if result.stop_signal else 0     # 130 after SIGINT, 143 after SIGTERM


def cmd_sample(args) -> int:
    from . import runs
    cfg = SampleConfig(**given(args, SampleConfig))
    ckpt = runs.load_run(args.run, args.device, which=args.which)
    if cfg.num_samples == 1:                   # one sample streams as it is produced
        for piece in runs.sample(ckpt, cfg):
            sys.stdout.write(piece)
            sys.stdout.flush()
    else:                                      # several are generated side by side as one batch
        sys.stdout.write("\n----\n".join(runs.sample_batch(ckpt, cfg)))
    sys.stdout.write("\n")
    return 0


def cmd_eval(args) -> int:
    from . import runs
    cfg = EvalConfig(**given(args, EvalConfig))
    score = runs.evaluate_run(args.run, cfg.data, cfg.device, cfg.dtype, progress=sys.stderr.isatty())
    if args.json:
        print(json.dumps(score.to_dict(), allow_nan=False))     # an overflowed perplexity is null, never Infinity
    else:
        u = score.unit
        print(f"{score.nats:.4f} nats/{u}  {score.bits:.4f} bits/{u}  perplexity {score.perplexity:.3f}  "
              f"({score.n_tokens:,} {u}s scored)")
    return 0


def cmd_datasets(args) -> int:
    from .text.datasets import BUNDLED
    for c in BUNDLED.values():
        print(f"{c.name:20s} {c.path.stat().st_size:>12,} bytes  {c.description}")
    return 0


def cmd_gradcheck(args) -> int:
    from .numpy_ref.gradcheck import TOLERANCE, gradcheck
    result = {kind: gradcheck(kind) for kind in (args.model or ["rnn", "lstm", "gru"])}
    worst = max(max(errors.values()) for errors in result.values())
    if args.json:
        print(json.dumps(result))
    else:
        for kind, errors in result.items():
            print(f"{kind}:")
            for name, err in errors.items():
                print(f"  {name:32s} {err:.2e}")
        print(f"worst relative error {worst:.2e} ({'below' if worst < TOLERANCE else 'ABOVE'} {TOLERANCE:g})")
    return 0 if worst < TOLERANCE else 1


def cmd_gradflow(args) -> int:
    from .toys.gradflow import run
    result = run(args.out, seed=args.seed)
    summary = {"out": args.out, "sweep_final_norm": result["sweep_final_norm"],
               "rnn_vs_lstm_first_step": {k: v[0] for k, v in result["rnn_vs_lstm"].items()}}
    if args.json:
        print(json.dumps(summary))
        return 0
    print("norm of the backward signal after 50 steps (starts at 1):")
    for act, finals in result["sweep_final_norm"].items():
        print(f"  {act:6s} " + "  ".join(f"r={r}: {v:.1e}" for r, v in finals.items()))
    for kind, norms in result["rnn_vs_lstm"].items():
        print(f"{kind:4s} ||dLoss/dh_t||: t=99 {norms[-1]:.1e}, t=90 {norms[-10]:.1e}, t=50 {norms[50]:.1e}, "
              f"t=0 {norms[0]:.1e}")
    print(f"plots and numbers in {args.out}/ (sweep.png, rnn_vs_lstm.png, gradflow.json)")
    return 0


def cmd_toy(args) -> int:
    from .errors import require
    from .toys import addition
    require(0 < args.hidden <= 4096 and 0 < args.steps <= 10 ** 7, f"--hidden must be in 1..4096 and --steps in "
            f"1..10,000,000, got {args.hidden} and {args.steps}", "pass e.g. --hidden 16 --steps 3000")
    result = addition.run(seed=args.seed, hidden=args.hidden, steps=args.steps)
    if args.json:
        print(json.dumps(result))
    else:
        for model, accs in result.items():
            print(f"{model}: " + "  ".join(f"{n}-bit {acc:.1%}" for n, acc in accs.items()))
    return 0


def cmd_hmm(args) -> int:
    from .hmm.cli import run
    return run(args)


def cmd_esn(args) -> int:
    from .esn.cli import run
    return run(args)


def cmd_tag(args) -> int:
    from .tag_cli import run
    return run(args)


def cmd_translate(args) -> int:
    from .translate_cli import run
    return run(args)


def cmd_forecast(args) -> int:
    from .forecast_cli import run
    return run(args)


def cmd_caption(args) -> int:
    from .caption_cli import run
    return run(args)


def cmd_classify(args) -> int:
    from .classify_cli import run
    return run(args)


def cmd_embed(args) -> int:
    from .embed_cli import run
    return run(args)


def cmd_bench(args) -> int:
    from .bench_cli import run
    return run(args)


def cmd_prepare(args) -> int:
    from .prepare_cli import run
    return run(args)


def cmd_ngram(args) -> int:
    from .ngram.cli import run
    return run(args)


def cmd_inspect(args) -> int:
    from .inspect.cli import run
    return run(args)


def cmd_serve(args) -> int:
    from .serve.cli import run
    return run(args)


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "datasets": cmd_datasets,
            "gradcheck": cmd_gradcheck, "gradflow": cmd_gradflow, "toy": cmd_toy, "hmm": cmd_hmm,
            "esn": cmd_esn, "tag": cmd_tag, "forecast": cmd_forecast, "translate": cmd_translate,
            "caption": cmd_caption,
            "classify": cmd_classify, "embed": cmd_embed,
            "ngram": cmd_ngram, "prepare": cmd_prepare, "bench": cmd_bench, "inspect": cmd_inspect, "serve": cmd_serve}



def _out_of_memory(command: str) -> int:
    print(f"rnnlab {command}: error: not enough memory for this request (ask for smaller sizes or lengths)",
          file=sys.stderr)
    return 2


def _out_of_memory_error(exc: RuntimeError) -> bool:
    """torch reports an exhausted allocator as a RuntimeError: CUDA/CPU 'can't allocate memory', std::bad_alloc."""
    text = str(exc)
    return ("allocate" in text and "memory" in text) or "bad_alloc" in text or "out of memory" in text


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if sys.stdout is None:     # `rnnlab ... >&-`: Python gets no stdout at all
        if args.command != "train" or args.json:    # train's product is its run directory; it logs to stderr
            print(f"rnnlab {args.command}: error: standard output is closed, so the output has nowhere to go "
                  "(redirect it instead, e.g. > out.txt)", file=sys.stderr)
            return 2
        sys.stdout = open(os.devnull, "w")
    try:
        return COMMANDS[args.command](args)
    except RnnlabError as exc:
        print(f"rnnlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:   # `rnnlab sample ... | head`: the reader has all it wanted
        sys.stderr.close()
        return 0
    except MemoryError:
        return _out_of_memory(args.command)
    except RuntimeError as exc:      # torch's allocator reports exhaustion as a RuntimeError
        if not _out_of_memory_error(exc):
            raise
        return _out_of_memory(args.command)
    except OSError as exc:   # unreadable data, unwritable --out, disk full: say which file
        where = f": {exc.filename}" if exc.filename else ""
        print(f"rnnlab {args.command}: error: {exc.strerror or exc}{where} (check the path and its permissions)",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnlab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
