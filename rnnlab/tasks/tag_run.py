"""The tagging API: train a tagger into a run directory, resume it, load it, score it, tag sentences.

    train(TagConfig(data="wnut17", crf=True, out="runs/ner"))   -> TagResult (dev and test scores of best/)
    resume("runs/ner", {"max_epochs": 40})
    tagger = load("runs/ner");  evaluate(tagger);  predict(tagger, "Grabbed a coffee with Taylor Swift")
"""
from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .. import checkpoint, distributed, taskrun
from ..config import UNSET
from ..device import resolve_device, resolve_dtype
from ..errors import require
from ..models.tagger import Tagger, TaggerConfig
from ..text.conll import Tagged, read_conll, resolve_splits
from .entities import entities, is_chunked
from .tag import TagConfig, TagEvaluation, TagTask, build_tagger, evaluate_split, split_off_validation
from .tag_data import Vocabs, encode, normalise

Say = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def fingerprint(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class TagResult:
    run: taskrun.TaskResult
    val: TagEvaluation | None       # best/ on the validation split
    test: TagEvaluation | None      # best/ on the test split, when the run has one


@dataclass
class Splits:
    train: Tagged
    val: Tagged
    test: Tagged | None
    info: dict                      # config.json "data": files and their sha256


def load_splits(cfg: TagConfig) -> Splits:
    files = resolve_splits(cfg.data, cfg.val, cfg.test)
    train = read_conll(files["train"])
    if "val" in files:
        val = read_conll(files["val"])
    else:
        train, val = split_off_validation(train)
    test = read_conll(files["test"]) if "test" in files else None
    info = {"source": cfg.data, **{k: str(Path(f).resolve()) for k, f in files.items()},
            "fingerprint": fingerprint(files["train"]), "val_from_train": "val" not in files}
    return Splits(train, val, test, info)


def _devices(cfg: TagConfig, say: Say):
    device = resolve_device(cfg.device)
    return device, resolve_dtype(cfg.dtype, device, say)


def _finish(task: TagTask, result: taskrun.TaskResult, test: Tagged | None, device, dtype) -> TagResult:
    best = Path(result.run_dir) / "best"
    if not (best / checkpoint.CONFIG).exists():
        return TagResult(result, None, None)
    checkpoint.load_weights_into(task.model, best)
    task.model.use_average()
    val = evaluate_split(task.model, task.val_data, task.val_gold, task.vocabs.tags.names, device, dtype, task.chunked)
    return TagResult(result, val, _score(task.model, task.vocabs, test, device, dtype) if test else None)


def _score(model: Tagger, vocabs: Vocabs, data: Tagged, device, dtype) -> TagEvaluation:
    enc = encode(data.tokens, vocabs, model.cfg.chars.max_len, data.tags, data.path or "the data")
    return evaluate_split(model, enc, data.tags, vocabs.tags.names, device, dtype, is_chunked(vocabs.tags.names))


def train(cfg: TagConfig, progress: bool = True, say: Say = _stderr) -> TagResult:
    """A new run: vocabularies from the training split, the tagger, the Trainer; best/ scored at the end."""
    say = distributed.on_root(say)                         # under torchrun rank 0 alone speaks
    splits = load_splits(cfg)
    vocabs = Vocabs.fit(splits.train, cfg.min_count)
    vocabs.tags.encode([t for s in splits.val.tags for t in s], splits.val.path)     # unseen tags: refused early
    if splits.test is not None:
        vocabs.tags.encode([t for s in splits.test.tags for t in s], splits.test.path)
    device, dtype = _devices(cfg, say)
    torch.manual_seed(cfg.seed)
    task = TagTask(cfg, vocabs, splits.train, splits.val)
    cfg.start_encoder(task.model.encoder, vocabs.words.tokens, "word", say, key=normalise)
    say(f"rnnlab tag: {len(splits.train):,} training sentences, {len(splits.val):,} validation"
        + (f", {len(splits.test):,} test" if splits.test else "") + f"; {vocabs.words.size:,} words, "
        f"{vocabs.chars.size} characters, {len(vocabs.tags)} tags"
        f" ({'entity F1 selects best/' if task.chunked else 'plain tags: validation loss selects best/'})")
    with taskrun.new_run(cfg.out, say) as run_dir:
        result = taskrun.fit_task(task, cfg, run_dir, splits.info, device=device, dtype=dtype, progress=progress)
    return _finish(task, result, splits.test, device, dtype)


def resume(run: str | Path, overrides: dict | None = None, progress: bool = True, say: Say = _stderr) -> TagResult:
    """Continue a tagging run from last/ exactly; only settings marked resumable may change."""
    say = distributed.on_root(say)                         # under torchrun rank 0 alone speaks
    overrides = taskrun.resume_overrides(run, overrides, TagConfig)
    with taskrun.existing_run(run, say) as run_dir:
        ckpt = checkpoint.resolve_checkpoint(run_dir, "last")
        meta = checkpoint.read_meta(ckpt)
        require(checkpoint.task_of(meta) == "tag", f"{run_dir} is a {checkpoint.task_of(meta)} run, not a tagger",
                f"resume it with its own command")
        cfg, step = taskrun.resumed_config(meta, TagConfig, overrides, run_dir)
        splits = load_splits(cfg)
        require(splits.info["fingerprint"] == meta["data"].get("fingerprint"), f"{cfg.data} is not the training "
                f"data {run_dir} was trained on (its sha256 differs)", "resume with the original files")
        vocabs = Vocabs.from_dict(meta["vocab"])
        device, dtype = _devices(cfg, say)
        model = build_tagger(TaggerConfig.from_dict(meta["model"]), vocabs)
        checkpoint.load_weights_into(model, ckpt)
        task = TagTask(cfg, vocabs, splits.train, splits.val, model)
        say(f"rnnlab tag: resuming {run_dir} at step {step}")
        result = taskrun.fit_task(task, cfg, run_dir, splits.info, device=device, dtype=dtype, progress=progress,
                                  resume_state=checkpoint.read_trainer_state(ckpt, device))
    return _finish(task, result, splits.test, device, dtype)


@dataclass
class LoadedTagger:
    path: Path
    model: Tagger
    vocabs: Vocabs
    cfg: TagConfig
    meta: dict
    device: torch.device


def load(run: str | Path, device: str = "auto", which: str = "best") -> LoadedTagger:
    """A run's (or checkpoint directory's) tagger in eval mode."""
    ckpt = checkpoint.resolve_checkpoint(run, which)
    meta = checkpoint.task_meta(ckpt, "tag", "a tagger")
    vocabs = Vocabs.from_dict(meta["vocab"])
    dev = resolve_device(device)
    model = build_tagger(TaggerConfig.from_dict(meta["model"]), vocabs)
    checkpoint.load_weights_into(model, ckpt)
    model.use_average()
    return LoadedTagger(ckpt, model.to(dev).eval(), vocabs, TagConfig.from_dict(meta["train"]), meta, dev)


def evaluate(tagger: LoadedTagger, data: str | None = None) -> dict:
    """Scores on `data` (a CoNLL file), else the run's test split, else its validation split."""
    info = tagger.meta["data"]
    if data is not None:
        split, which = read_conll(data), data
    elif info.get("test"):
        split, which = read_conll(info["test"]), "test"
    elif info.get("val_from_train"):
        split, which = split_off_validation(read_conll(info["train"]))[1], "val"
    else:
        split, which = read_conll(info["val"]), "val"
    ev = _score(tagger.model, tagger.vocabs, split, tagger.device, torch.float32)
    return {**ev.metrics, "per_type": ev.per_type, "n_sentences": ev.n, "n_tokens": split.n_tokens,
            "loss": ev.loss, "scheme": "entities" if ev.chunked else "plain", "split": which}


_TOKEN = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|\w+(?=n't\b)|n't\b|'(?:s|m|re|ve|ll|d)\b|\w+(?:[-.]\w+)*|"
                    r"\.\.\.|[^\w\s]", re.I)


def tokenize(sentence: str) -> list[str]:
    """Tweet-style tokens: URLs, @mentions and #hashtags whole, clitics ('s, n't) and punctuation apart."""
    return _TOKEN.findall(sentence)


def predict(tagger: LoadedTagger, sentence: str | list[str]) -> dict:
    """{"tokens", "tags", "entities": [{"text", "type", "start", "end"}]} of one sentence (end exclusive)."""
    tokens = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
    require(len(tokens) > 0, "the sentence to tag is empty", 'give some words, e.g. "Grabbed a coffee with Taylor Swift"')
    from .tag import tag_split
    enc = encode([tokens], tagger.vocabs, tagger.model.cfg.chars.max_len)
    tags = tag_split(tagger.model, enc, tagger.vocabs.tags.names, tagger.device)[0][0]
    found = [{"text": " ".join(tokens[a:b + 1]), "type": t, "start": a, "end": b + 1} for t, a, b in entities(tags)] \
        if is_chunked(tagger.vocabs.tags.names) else []
    return {"tokens": tokens, "tags": tags, "entities": found}


__all__ = ["train", "resume", "load", "evaluate", "predict", "tokenize", "TagConfig", "TagResult", "UNSET"]
