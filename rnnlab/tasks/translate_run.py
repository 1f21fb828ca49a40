"""The translation API: train an encoder-decoder into a run directory, resume it, load it, score it, translate.

    train(TranslateConfig(src="de", tgt="en", out="runs/de-en"))  -> TranslateResult (val and test of best/)
    resume("runs/de-en", {"max_minutes": 90})
    t = load("runs/de-en");  evaluate(t);  translate(t, "Ein Mann fährt Fahrrad .", beam=5)
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .. import checkpoint, taskrun
from ..device import resolve_device, resolve_dtype
from ..errors import require
from ..models.seq2seq import Seq2Seq, Seq2SeqConfig
from .translate import TranslateEvaluation, TranslateTask, evaluate_split
from .translate_config import TranslateConfig
from .translate_data import Encoded, Vocabs, encode, encode_sources
from .translate_decode import Translation, translate_encoded
from .translate_text import Parallel, read_parallel, resolve_files, split_off_validation, tokenize

Say = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass
class Splits:
    train: Parallel
    val: Parallel
    test: Parallel | None
    info: dict                      # config.json "data": files, their sha256, which test set


def load_splits(cfg: TranslateConfig) -> Splits:
    files = resolve_files(cfg)
    train = read_parallel(*files["train"])
    if "val" in files:
        val = read_parallel(*files["val"])
    else:
        train, val = split_off_validation(train)
    test = read_parallel(*files["test"]) if "test" in files else None
    digest = hashlib.sha256()
    for path in files["train"]:
        digest.update(Path(path).read_bytes())
    info = {"source": cfg.data if not cfg.src_file else "files",
            **{f"{k}_{side}": str(Path(p).resolve()) for k, pair in files.items()
               for side, p in zip(("src", "tgt"), pair)},
            "test_name": Path(files["test"][0]).stem if "test" in files else None,
            "fingerprint": digest.hexdigest(), "val_from_train": "val" not in files}
    return Splits(train, val, test, info)


@dataclass
class TranslateResult:
    run: taskrun.TaskResult
    val: TranslateEvaluation | None     # best/ on the validation split (greedy)
    test: TranslateEvaluation | None    # best/ on the test split (beam search, --beam)


def _devices(cfg: TranslateConfig, say: Say):
    device = resolve_device(cfg.device)
    return device, resolve_dtype(cfg.dtype, device, say)


def _finish(task: TranslateTask, result: taskrun.TaskResult, test: Parallel | None, device, dtype) -> TranslateResult:
    best = Path(result.run_dir) / "best"
    if not (best / checkpoint.CONFIG).exists():
        return TranslateResult(result, None, None)
    checkpoint.load_weights_into(task.model, best)
    task.model.to(device)
    cfg = task.cfg
    val = evaluate_split(task.model, task.val_data, task.vocabs, device, dtype, 1, cfg.max_len_ratio)[0]
    tst = None
    if test is not None:
        tst = evaluate_split(task.model, encode(test, task.vocabs), task.vocabs, device, dtype, cfg.beam,
                             cfg.max_len_ratio)[0]
    return TranslateResult(result, val, tst)


def _describe(say: Say, splits: Splits, vocabs: Vocabs) -> None:
    say(f"rnnlab translate: {len(splits.train):,} training pairs, {len(splits.val):,} validation"
        + (f", {len(splits.test):,} test ({splits.info['test_name']})" if splits.test else "")
        + f"; {vocabs.src.size:,} source and {vocabs.tgt.size:,} target words (cased; validation BLEU selects best/)")


def train(cfg: TranslateConfig, progress: bool = True, say: Say = _stderr) -> TranslateResult:
    """A new run: vocabularies from the training split, the model, the Trainer; best/ scored at the end."""
    splits = load_splits(cfg)
    vocabs = Vocabs.fit([tokenize(s) for s in splits.train.src], [tokenize(s) for s in splits.train.tgt],
                        cfg.min_count)
    device, dtype = _devices(cfg, say)
    torch.manual_seed(cfg.seed)
    task = TranslateTask(cfg, vocabs, splits.train, splits.val)
    _describe(say, splits, vocabs)
    with taskrun.new_run(cfg.out, say) as run_dir:
        result = taskrun.fit_task(task, cfg, run_dir, splits.info, device=device, dtype=dtype, progress=progress)
    return _finish(task, result, splits.test, device, dtype)


def resume(run: str | Path, overrides: dict | None = None, progress: bool = True,
           say: Say = _stderr) -> TranslateResult:
    """Continue a translation run from last/ exactly; only settings marked resumable may change."""
    overrides = taskrun.resume_overrides(run, overrides, TranslateConfig)
    with taskrun.existing_run(run, say) as run_dir:
        ckpt = checkpoint.resolve_checkpoint(run_dir, "last")
        meta = checkpoint.read_meta(ckpt)
        require(checkpoint.task_of(meta) == "translate", f"{run_dir} is a {checkpoint.task_of(meta)} run, not a "
                "translation run", "resume it with its own command")
        cfg, step = taskrun.resumed_config(meta, TranslateConfig, overrides, run_dir)
        splits = load_splits(cfg)
        require(splits.info["fingerprint"] == meta["data"].get("fingerprint"), f"the training files are not the "
                f"ones {run_dir} was trained on (their sha256 differs)", "resume with the original files")
        device, dtype = _devices(cfg, say)
        task = TranslateTask(cfg, Vocabs.from_dict(meta["vocab"]), splits.train, splits.val, _saved_model(meta, ckpt))
        say(f"rnnlab translate: resuming {run_dir} at step {step}")
        result = taskrun.fit_task(task, cfg, run_dir, splits.info, device=device, dtype=dtype, progress=progress,
                                  resume_state=checkpoint.read_trainer_state(ckpt, device))
    return _finish(task, result, splits.test, device, dtype)


def _saved_model(meta: dict, ckpt: Path) -> Seq2Seq:
    """The checkpoint's model: built from its config.json, its weights loaded (checked)."""
    model = Seq2Seq(Seq2SeqConfig.from_dict(meta["model"]))
    checkpoint.load_weights_into(model, ckpt)
    return model


@dataclass
class Translator:
    path: Path
    model: Seq2Seq
    vocabs: Vocabs
    cfg: TranslateConfig
    meta: dict
    device: torch.device


def load(run: str | Path, device: str = "auto", which: str = "best") -> Translator:
    """A run's (or checkpoint directory's) model in eval mode."""
    ckpt = checkpoint.resolve_checkpoint(run, which)
    meta = checkpoint.task_meta(ckpt, "translate", "a translation run")
    dev = resolve_device(device)
    return Translator(ckpt, _saved_model(meta, ckpt).to(dev).eval(), Vocabs.from_dict(meta["vocab"]),
                      TranslateConfig.from_dict(meta["train"]), meta, dev)


def evaluate(t: Translator, src_file: str | None = None, tgt_file: str | None = None, beam: int | None = None,
             split: str = "test") -> dict:
    """{"bleu", "chrf", "n", "test", ...} of the given files, else the run's test split (or validation split)."""
    info = t.meta["data"]
    if src_file or tgt_file:
        require(bool(src_file) and bool(tgt_file), "--src-file and --tgt-file go together", "give both sides")
        data, name = read_parallel(src_file, tgt_file), Path(src_file).stem
    elif split == "test" and info.get("test_src"):
        data, name = read_parallel(info["test_src"], info["test_tgt"]), info.get("test_name") or "test"
    elif info.get("val_from_train"):
        data, name = split_off_validation(read_parallel(info["train_src"], info["train_tgt"]))[1], "val"
    else:
        data, name = read_parallel(info["val_src"], info["val_tgt"]), "val"
    beam = beam or t.cfg.beam
    ev, _ = evaluate_split(t.model, encode(data, t.vocabs), t.vocabs, t.device, torch.float32, beam,
                           t.cfg.max_len_ratio)
    return {"bleu": ev.metrics["bleu"], "chrf": ev.metrics["chrf"], "n": ev.n, "test": name, "beam": beam,
            "loss": ev.loss, "perplexity": ev.metrics["perplexity"], "cased": True, "detokenized": True}


def translate(t: Translator, sentence: str, beam: int = 5) -> Translation:
    """One sentence translated (beam 1: greedy), with its attention matrix."""
    example = 'give some words, e.g. "Ein Mann fährt Fahrrad ."'
    require(sentence.strip() != "", "the sentence to translate is empty", example)
    ids, tokens = encode_sources([sentence], t.vocabs)
    require(len(tokens[0]) > 0, "the sentence to translate has no words", example)
    data = Encoded(ids, None, tokens, None)
    return translate_encoded(t.model, data, t.vocabs, t.device, beam, t.cfg.max_len_ratio)[0]


__all__ = ["train", "resume", "load", "evaluate", "translate", "TranslateConfig", "TranslateResult", "Translator"]
