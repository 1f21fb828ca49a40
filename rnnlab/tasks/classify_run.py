"""The classification API: train into a run directory, resume, cross-validate, load, score, predict.

    train(ClassifyConfig(data="rt-polarity", out="runs/rt"))    -> ClassifyResult (best/ and last/ on the held-out split)
    resume("runs/rt", {"max_epochs": 8})
    cross_validate(ClassifyConfig(folds=10, out="runs/cv"))     -> {"mean_accuracy", "std_accuracy", "folds": [...]}
    clf = load("runs/rt");  evaluate(clf);  predict(clf, "a gorgeous, witty, seductive movie .")
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import checkpoint, distributed, taskrun
from ..device import resolve_device, resolve_dtype
from ..errors import require
from ..models.classifier import Classifier, ClassifierConfig
from ..text.label_vocab import LabelSet, TokenVocab
from ..text.labelled import Labelled, load_labelled, polarity_files, tokenize
from .classify import ClassifyEvaluation, ClassifyTask, classification_metrics, predict_proba, score
from .classify_config import ClassifyConfig
from .classify_data import Split, encode, holdout, kfold, prepare, tokenize_all, word_ngrams

Say = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def data_info(cfg: ClassifyConfig) -> dict:
    """config.json "data": where the sentences came from and the sha256 of their files."""
    files = polarity_files(cfg.data) or (Path(cfg.data).expanduser(),)
    digest = hashlib.sha256()
    for f in files:
        digest.update(Path(f).read_bytes())
    return {"source": cfg.data, "files": [str(Path(f).resolve()) for f in files], "fingerprint": digest.hexdigest(),
            "text_col": cfg.text_col, "label_col": cfg.label_col}


def _devices(cfg: ClassifyConfig, say: Say):
    device = resolve_device(cfg.device)
    return device, resolve_dtype("float32" if cfg.dtype == "auto" else cfg.dtype, device, say)


def _with_horizon(cfg: ClassifyConfig, steps_per_epoch: int) -> ClassifyConfig:
    """A step or epoch budget decays the learning rate over exactly its steps (a language model's runs decay
    over at least 1,100), fixed in config.json; a resume that raises the budget stretches it (see resume)."""
    if cfg.lr_decay_steps is not None:
        return cfg
    budgets = [b for b in (cfg.max_steps, None if cfg.max_epochs is None else int(cfg.max_epochs * steps_per_epoch))
               if b is not None]
    return cfg.replace(lr_decay_steps=max(min(budgets), 1)) if budgets else cfg


def build_task(cfg: ClassifyConfig, data: Labelled, train_idx, val_idx, say: Say = _stderr,
               model: Classifier | None = None, vocab: TokenVocab | None = None, labels: LabelSet | None = None,
               gram_vocab: TokenVocab | None = None) -> ClassifyTask:
    """Vocabularies and labels from the training positions (or the saved ones), the model (fresh, or given)."""
    tokens = tokenize_all(data, cfg.tokenizer, not cfg.cased)
    if vocab is None:
        vocab, labels, train, val, gram_vocab = prepare(data, train_idx, val_idx, cfg.tokenizer, not cfg.cased,
                                                        cfg.min_count, cfg.max_len, tokens, cfg.ngrams)
    else:
        train = encode(tokens, data.labels, train_idx, vocab, labels, data.source, cfg.max_len, gram_vocab, cfg.ngrams)
        val = encode(tokens, data.labels, val_idx, vocab, labels, data.source, cfg.max_len, gram_vocab, cfg.ngrams)
    if model is None:
        torch.manual_seed(cfg.seed)
        model = Classifier(cfg.classifier_config(vocab.size, len(labels), gram_vocab.size if gram_vocab is not None
                                                 else 0))
        cfg.start_encoder(model.encoder, vocab.tokens, cfg.tokenizer, say)
    return ClassifyTask(model, train, val, vocab, labels, cfg.batch_size, cfg.seed, cfg.batching,
                        cfg.label_smoothing, gram_vocab)


@dataclass
class ClassifyResult:
    run: taskrun.TaskResult
    best: ClassifyEvaluation | None     # best/ (lowest validation loss) on the held-out split
    last: ClassifyEvaluation | None     # the final weights on the held-out split


def _finish(task: ClassifyTask, result: taskrun.TaskResult, device, dtype) -> ClassifyResult:
    last = task.evaluate(device, dtype)
    best_dir = Path(result.run_dir) / "best"
    if not (best_dir / checkpoint.CONFIG).exists():
        return ClassifyResult(result, None, last)
    checkpoint.load_weights_into(task.model, best_dir)
    return ClassifyResult(result, task.evaluate(device, dtype), last)


def train(cfg: ClassifyConfig, progress: bool = True, say: Say = _stderr, data: Labelled | None = None,
          split: tuple[np.ndarray, np.ndarray] | None = None) -> ClassifyResult:
    """A new run on the seeded 90/10 split (or the given (train, val) positions)."""
    say = distributed.on_root(say)                         # under torchrun rank 0 alone speaks
    data = data if data is not None else load_labelled(cfg.data, cfg.text_col, cfg.label_col)
    info = data_info(cfg)
    train_idx, val_idx = split if split is not None else holdout(len(data), cfg.val_frac, cfg.seed)
    info["split"] = "given" if split is not None else "holdout"
    task = build_task(cfg, data, train_idx, val_idx, say)
    cfg = _with_horizon(cfg, task.steps_per_epoch)
    device, dtype = _devices(cfg, say)
    say(f"rnnlab classify: {len(task.train):,} training sentences, {len(task.val):,} held out; "
        f"{task.vocab.size:,} tokens, {len(task.labels)} classes ({', '.join(task.labels.names[:8])}"
        f"{', ...' if len(task.labels) > 8 else ''}); validation loss selects best/")
    with taskrun.new_run(cfg.out, say) as run_dir:
        if split is not None:
            np.save(run_dir / "split.npy", np.asarray(val_idx))          # eval scores the same held-out fold
        result = taskrun.fit_task(task, cfg, run_dir, info, device=device, dtype=dtype, progress=progress)
    return _finish(task, result, device, dtype)


def _held_out(run_dir: Path, meta: dict, n: int, cfg: ClassifyConfig) -> tuple[np.ndarray, np.ndarray]:
    """The (train, val) positions a run was trained with."""
    if meta["data"].get("split") == "given":
        val = np.load(run_dir / "split.npy")
        return np.setdiff1d(np.arange(n), val), val
    return holdout(n, cfg.val_frac, cfg.seed)


def _meta_of(ckpt: Path) -> dict:
    meta = checkpoint.task_meta(ckpt, "classify", "a classifier", ("model", "vocab", "labels", "train", "data"))
    return meta


def _source_data(meta: dict, cfg: ClassifyConfig, run_dir: Path) -> Labelled:
    info = meta["data"]
    data = load_labelled(cfg.data, cfg.text_col, cfg.label_col)
    require(data_info(cfg)["fingerprint"] == info.get("fingerprint"), f"{cfg.data} is not the data {run_dir} was "
            "trained on (its sha256 differs)", "restore the original file, or pass --data FILE to score another")
    return data


def resume(run: str | Path, overrides: dict | None = None, progress: bool = True, say: Say = _stderr) -> ClassifyResult:
    """Continue a classification run from last/ exactly; only settings marked resumable may change."""
    say = distributed.on_root(say)                         # under torchrun rank 0 alone speaks
    overrides = taskrun.resume_overrides(run, overrides, ClassifyConfig)
    with taskrun.existing_run(run, say) as run_dir:
        ckpt = checkpoint.resolve_checkpoint(run_dir, "last")
        meta = _meta_of(ckpt)
        saved = ClassifyConfig.from_dict(meta["train"])
        cfg, step = taskrun.resumed_config(meta, ClassifyConfig, overrides, run_dir)
        data = _source_data(meta, cfg, run_dir)
        model = Classifier(ClassifierConfig.from_dict(meta["model"]))
        checkpoint.load_weights_into(model, ckpt)
        task = build_task(cfg, data, *_held_out(run_dir, meta, len(data), cfg), say, model,
                          TokenVocab.from_dict(meta["vocab"]), LabelSet.from_dict(meta["labels"]), _grams(meta))
        spe = task.steps_per_epoch
        derived = _with_horizon(saved.replace(lr_decay_steps=None), spe).lr_decay_steps == saved.lr_decay_steps
        if derived and {"max_epochs", "max_steps"} & set(overrides) and "lr_decay_steps" not in overrides:
            cfg = _with_horizon(cfg.replace(lr_decay_steps=None), spe)      # the new budget's horizon
        device, dtype = _devices(cfg, say)
        say(f"rnnlab classify: resuming {run_dir} at step {step}")
        result = taskrun.fit_task(task, cfg, run_dir, meta["data"], device=device, dtype=dtype, progress=progress,
                                  resume_state=checkpoint.read_trainer_state(ckpt, device))
    return _finish(task, result, device, dtype)


def cross_validate(cfg: ClassifyConfig, progress: bool = True, say: Say = _stderr) -> dict:
    """K-fold cross-validation (cfg.folds): fold k trains on the other folds into OUT/fold-k and is scored on
    its held-out fold with its final weights (no checkpoint is chosen by the test fold)."""
    data = load_labelled(cfg.data, cfg.text_col, cfg.label_col)
    folds, out = kfold(len(data), cfg.folds, cfg.seed), Path(cfg.out)
    rows = []
    for k, (train_idx, test_idx) in enumerate(folds, start=1):
        say(f"rnnlab classify: fold {k} of {len(folds)}")
        fold_cfg = cfg.replace(folds=None, out=str(out / f"fold-{k}"))
        r = train(fold_cfg, progress, say, data, (train_idx, test_idx))
        rows.append({"fold": k, "accuracy": r.last.metrics["accuracy"], "macro_f1": r.last.metrics["macro_f1"],
                     "n": r.last.n, "steps": r.run.steps, "run_dir": str(r.run.run_dir)})
    acc = np.array([r["accuracy"] for r in rows])
    return {"folds": rows, "k": len(folds), "mean_accuracy": float(acc.mean()), "std_accuracy": float(acc.std(ddof=1)),
            "mean_macro_f1": float(np.mean([r["macro_f1"] for r in rows])), "n": int(len(data))}


def _grams(meta: dict) -> TokenVocab | None:
    return TokenVocab.from_dict(meta["ngrams"]) if isinstance(meta.get("ngrams"), dict) else None


@dataclass
class LoadedClassifier:
    path: Path
    model: Classifier
    vocab: TokenVocab
    labels: LabelSet
    cfg: ClassifyConfig
    meta: dict
    device: torch.device
    gram_vocab: TokenVocab | None = None


def load(run: str | Path, device: str = "auto", which: str = "best") -> LoadedClassifier:
    """A run's (or checkpoint directory's) classifier in eval mode."""
    ckpt = checkpoint.resolve_checkpoint(run, which)
    meta = _meta_of(ckpt)
    dev = resolve_device(device)
    model = Classifier(ClassifierConfig.from_dict(meta["model"]))
    checkpoint.load_weights_into(model, ckpt)
    return LoadedClassifier(ckpt, model.to(dev).eval(), TokenVocab.from_dict(meta["vocab"]),
                            LabelSet.from_dict(meta["labels"]), ClassifyConfig.from_dict(meta["train"]), meta, dev,
                            _grams(meta))


def encode_split(clf: LoadedClassifier, data: Labelled, index, source: str = "the data") -> Split:
    """The sentences of `data` at `index` as the run encodes them (its tokenizer and vocabularies)."""
    tokens = tokenize_all(data, clf.cfg.tokenizer, not clf.cfg.cased)
    return encode(tokens, data.labels, np.asarray(index), clf.vocab, clf.labels, source, clf.cfg.max_len,
                  clf.gram_vocab, clf.cfg.ngrams)


def evaluate(clf: LoadedClassifier, data: str | None = None, text_col: str | None = None,
             label_col: str | None = None) -> dict:
    """{"accuracy", "macro_f1", "n", "per_class", "loss", "split"} on `data` (every sentence of it), else on
    the run's own held-out split."""
    cfg, run_dir = clf.cfg, clf.path.parent
    if data is not None:
        labelled, which = load_labelled(data, text_col, label_col), data
        index = np.arange(len(labelled))
    else:
        labelled, which = _source_data(clf.meta, cfg, run_dir), "held-out"
        index = _held_out(run_dir, clf.meta, len(labelled), cfg)[1]
    split = encode_split(clf, labelled, index, which if data else "the held-out split")
    ev = score(clf.model, split, clf.labels.names, clf.device)
    return {**ev.metrics, "n": ev.n, "per_class": ev.per_class, "loss": ev.loss, "split": which}


def predict(clf: LoadedClassifier, text: str) -> dict:
    """{"label", "probabilities": {label: p}, "tokens", "unknown"} of one sentence."""
    require(text.strip() != "", "the sentence to classify is empty", 'give some words, e.g. "a gorgeous movie ."')
    cfg = clf.cfg
    tokens = tokenize(text, cfg.tokenizer, not cfg.cased)[:cfg.max_len]
    require(len(tokens) > 0, f"the sentence has no tokens under --tokenizer {cfg.tokenizer}", "give some words")
    ids = clf.vocab.encode(tokens)
    grams = None
    if clf.gram_vocab is not None:
        g = clf.gram_vocab.encode(word_ngrams(tokens, cfg.ngrams))
        grams = [g[g > 1]]
    probs = predict_proba(clf.model, [ids], clf.device, grams=grams)[0]
    return {"label": clf.labels.names[int(probs.argmax())],
            "probabilities": {n: float(p) for n, p in zip(clf.labels.names, probs)},
            "tokens": tokens, "unknown": int(np.sum(ids == 1))}


__all__ = ["train", "resume", "cross_validate", "load", "evaluate", "predict", "classification_metrics", "Split"]
