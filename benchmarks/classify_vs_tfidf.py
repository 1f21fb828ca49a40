"""rt-polarity K-fold accuracy: rnnlab classify vs scikit-learn TF-IDF + logistic regression, same folds, one process.

    python benchmarks/classify_vs_tfidf.py [--folds 10] [--seeds 1] [--set epochs=4 ...] [--json out.json]

The folds are rnnlab.tasks.classify_data.kfold(10,662, K, seed): each sentence is tested once. The peer
is TfidfVectorizer(word 1-2 grams, sublinear tf) + LogisticRegression at C=1 and C=10 (the issue's
figures: 76.4% and 78.3%). Ours is `rnnlab classify train --folds K` with the default settings (or
--set NAME=VALUE changes): each fold trains on the other folds and is scored with its final weights.
--seeds N also trains N seeds per fold and scores the mean of their probabilities (an ensemble).
Prints mean +- std accuracy (std over folds, ddof 1), the per-fold figures and the seconds each took.
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rnnlab.tasks.classify_config import ClassifyConfig  # noqa: E402
from rnnlab.tasks.classify_data import kfold  # noqa: E402
from rnnlab.text.labelled import load_labelled  # noqa: E402


def tfidf_lr(data, folds, C: float) -> list[float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    texts, y = np.array(data.texts, dtype=object), np.array(data.labels)
    accs = []
    for train, test in folds:
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        X = vec.fit_transform(texts[train])
        clf = LogisticRegression(C=C, max_iter=2000).fit(X, y[train])
        accs.append(float(np.mean(clf.predict(vec.transform(texts[test])) == y[test])))
    return accs


def ours(data, folds, cfg: ClassifyConfig, seeds: int, out: Path) -> tuple[list[float], list[float], list[float]]:
    """Per fold: accuracy of the first seed, of the seeds' mean probabilities, and the seconds taken."""
    import torch
    from rnnlab.tasks import classify_run
    from rnnlab.tasks.classify import predict_proba
    single, ensemble, seconds = [], [], []
    quiet = lambda m: None  # noqa: E731
    for k, (train, test) in enumerate(folds, start=1):
        t0, probs = time.perf_counter(), 0.0
        for s in range(seeds):
            fold_cfg = cfg.replace(seed=cfg.seed + s, out=str(out / f"fold-{k}-seed-{s}"))
            r = classify_run.train(fold_cfg, progress=False, say=quiet, data=data, split=(train, test))
            task_model = classify_run.load(out / f"fold-{k}-seed-{s}", "cpu", "last")
            split = classify_run.encode_split(task_model, data, test)
            probs = probs + predict_proba(task_model.model, split.ids, torch.device("cpu"))
            if s == 0:
                single.append(r.last.metrics["accuracy"])
        ensemble.append(float(np.mean(probs.argmax(1) == split.y)))
        seconds.append(time.perf_counter() - t0)
        print(f"  fold {k:2d}: {100 * single[-1]:.2f}%" + (f" (ensemble of {seeds}: {100 * ensemble[-1]:.2f}%)"
              if seeds > 1 else "") + f"  {seconds[-1]:.0f} s", flush=True)
    return single, ensemble, seconds


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1337, help="seed of the folds and of the first model")
    ap.add_argument("--seeds", type=int, default=1, help="models per fold (their mean probabilities are scored)")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="ClassifyConfig fields to change")
    ap.add_argument("--peer-only", action="store_true")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: a shared machine)")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    data = load_labelled("rt-polarity")
    folds = kfold(len(data), args.folds, args.seed)
    changes = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    cfg = ClassifyConfig(seed=args.seed, device="cpu", dtype="float32", **changes)
    print(f"rt-polarity, {len(data):,} sentences, {args.folds} folds (seed {args.seed})")
    rows = {}
    for C in (1.0, 10.0):
        t0 = time.perf_counter()
        rows[f"tfidf+lr C={C:g}"] = (tfidf_lr(data, folds, C), time.perf_counter() - t0)
    if not args.peer_only:
        print(f"rnnlab classify ({', '.join(f'{k}={v}' for k, v in changes.items()) or 'defaults'}):", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            single, ens, secs = ours(data, folds, cfg, args.seeds, Path(tmp))
        rows["rnnlab classify"] = (single, sum(secs))
        if args.seeds > 1:
            rows[f"rnnlab classify, {args.seeds} seeds"] = (ens, sum(secs))
    print(f"\n{'method':32s} {'mean':>7s} {'std':>6s}  {'seconds':>8s}  per fold")
    for name, (accs, secs) in rows.items():
        a = np.array(accs)
        print(f"{name:32s} {100 * a.mean():6.2f}% {100 * a.std(ddof=1):5.2f}  {secs:8.1f}  "
              + " ".join(f"{100 * x:.1f}" for x in a))
    if args.json:
        Path(args.json).write_text(json.dumps({k: {"folds": v[0], "mean": float(np.mean(v[0])),
                                                   "std": float(np.std(v[0], ddof=1)), "seconds": v[1]}
                                               for k, v in rows.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
