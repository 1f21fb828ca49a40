"""WNUT-17 entity F1: rnnlab's tagger against a feature CRF (sklearn-crfsuite, L-BFGS), same run.

    python benchmarks/tag_vs_crf.py                 # the peer, then `rnnlab tag train` with the defaults, then --crf
    python benchmarks/tag_vs_crf.py --peer-only     # just the feature CRF
    python benchmarks/tag_vs_crf.py --flags "" --flags "--hidden 300"   # other settings for ours (one run each)

The peer's token features are the usual hand-made ones (sklearn-crfsuite's tutorial, extended): the
lower-cased word, its 1-3 character prefixes and suffixes, its shape (Xxxx, dd, ...), is-title/upper/
digit, and the same for the words at -2, -1, +1, +2. Both are scored by rnnlab.tasks.entities (the
CoNLL definition; seqeval gives the same numbers, see tests/test_tag_entities.py) on the dev and the
annotated test file; training time is wall-clock and CPU time (the process's) on this machine.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnlab.tasks.entities import score  # noqa: E402
from rnnlab.text.conll import read_conll, resolve_splits  # noqa: E402


def word_shape(w: str) -> str:
    s = re.sub("[A-Z]", "X", re.sub("[a-z]", "x", re.sub("[0-9]", "d", w)))
    return re.sub(r"(.)\1{2,}", r"\1\1", s)          # xxxxx -> xx: short shapes


def token_features(sent: list[str], i: int) -> dict:
    f = {"bias": 1.0}
    for off in (-2, -1, 0, 1, 2):
        j = i + off
        if not 0 <= j < len(sent):
            f[f"{off}:pad"] = True
            continue
        w = sent[j]
        f.update({f"{off}:lower": w.lower(), f"{off}:title": w.istitle(), f"{off}:upper": w.isupper(),
                  f"{off}:shape": word_shape(w)})
        if off == 0:
            f.update({"digit": w.isdigit(), "mention": w.startswith("@"), "hashtag": w.startswith("#"),
                      **{f"pre{k}": w[:k] for k in (1, 2, 3)}, **{f"suf{k}": w[-k:] for k in (1, 2, 3)}})
    return f


def run_peer(splits: dict) -> dict:
    import sklearn_crfsuite
    train, dev, test = (read_conll(splits[k]) for k in ("train", "val", "test"))
    feats = lambda d: [[token_features(s, i) for i in range(len(s))] for s in d.tokens]  # noqa: E731
    start, cpu = time.perf_counter(), time.process_time()
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=100, all_possible_transitions=True)
    crf.fit(feats(train), train.tags)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"name": "sklearn-crfsuite (L-BFGS, c1=c2=0.1, 100 iterations)", "seconds": seconds, "cpu": cpu,
            "dev": score(dev.tags, crf.predict(feats(dev))), "test": score(test.tags, crf.predict(feats(test)))}


def run_ours(flags: str, out: str) -> dict:
    from rnnlab.cli import build_parser
    from rnnlab.settings import given
    from rnnlab.tasks import tag_run
    from rnnlab.tasks.tag_config import TagConfig
    from rnnlab.config import budget_overrides
    args = build_parser().parse_args(["tag", "train", "--data", "wnut17", "--out", out, *shlex.split(flags)])
    cfg = TagConfig(**budget_overrides(given(args, TagConfig), TagConfig))
    start, cpu = time.perf_counter(), time.process_time()
    result = tag_run.train(cfg, progress=False, say=lambda m: print(m, file=sys.stderr))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    as_score = lambda ev: {**ev.metrics}  # noqa: E731
    return {"name": f"rnnlab tag train {flags}".strip(), "seconds": seconds, "cpu": cpu, "dev": as_score(result.val),
            "test": as_score(result.test), "steps": result.run.steps, "best_step": result.run.best_step}


def line(r: dict) -> str:
    f = lambda s: f"{100 * s['precision']:5.1f} {100 * s['recall']:5.1f} {100 * s['f1']:5.1f}"  # noqa: E731
    return (f"{r['name'][:58]:58s} {f(r['dev'])}   {f(r['test'])}   {r['seconds'] / 60:5.1f} min wall, "
            f"{r['cpu'] / 60:5.1f} min CPU")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer-only", action="store_true", help="run only sklearn-crfsuite")
    p.add_argument("--ours-only", action="store_true", help="run only rnnlab's tagger")
    p.add_argument("--flags", action="append", help="flags of one `rnnlab tag train` run of ours (repeatable; "
                   "default: the defaults, then --crf)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the tagger's matrices are "
                   "small, and on a shared machine a second thread that waits for a core makes every step slower)")
    p.add_argument("--out", default=None, help="folder for our runs (run0, run1, ...; default: a temporary one)")
    args = p.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    splits = resolve_splits("wnut17")
    rows = []
    if not args.ours_only:
        rows.append(run_peer(splits))
        print(line(rows[-1]), flush=True)
    if not args.peer_only:
        for k, flags in enumerate(args.flags or ["", "--crf"]):
            out = os.path.join(args.out or tempfile.mkdtemp(prefix="tag_vs_crf-"), f"run{k}")
            rows.append(run_ours(flags, out))
            print(line(rows[-1]), flush=True)
    print(f"\nWNUT-17 entity scores (CoNLL definition), {os.cpu_count()} CPUs\n"
          f"{'system':58s}   dev P     R    F1    test P     R    F1   training time")
    for r in rows:
        print(line(r))
    if len(rows) >= 2 and not args.ours_only:
        for r in rows[1:]:
            print(f"test F1: {r['name']}: {100 * r['test']['f1']:.1f} vs peer {100 * rows[0]['test']['f1']:.1f} "
                  f"({r['test']['f1'] / max(rows[0]['test']['f1'], 1e-9):.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
