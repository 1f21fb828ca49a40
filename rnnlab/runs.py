"""The Python API behind the CLI: train or resume a run, load it, sample from it, evaluate it.

    >>> import rnnlab
    >>> run = rnnlab.train(rnnlab.ModelConfig(hidden=128, layers=1), rnnlab.TrainConfig(max_steps=200, out="runs/r1"))
    >>> print(rnnlab.sample_text("runs/r1", rnnlab.SampleConfig(prime="ROMEO:", length=200, seed=7)))
    >>> rnnlab.evaluate_run("runs/r1").bits
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from . import callbacks as cb
from . import checkpoint, distributed, finetune, recipe, rundir, taskrun
from .backends import TorchBackend
from .config import ModelConfig, SampleConfig, TrainConfig, budget_overrides
from .device import resolve_device, resolve_dtype
from .errors import NotUTF8Error, RnnlabError, rehint, require
from .evaluation import Score, evaluate
from .generate import generate, generate_batch
from .models.language_model import LanguageModel
from .settings import resumable
from .text.corpus import Corpus, encode_file, fingerprint, load_corpus, resolve_source
from .text.prepare import CACHE_NAME, cached_corpus
from .tasks.lm import LanguageModelTask
from .trainer import Trainer

# Settings a resumed run may change (declared on their fields); everything else comes from the run's config.json.
RESUME_OVERRIDES = resumable(TrainConfig)


@dataclass
class RunResult:
    """What a finished (or stopped) training run reports."""
    run_dir: Path
    steps: int
    best_val_nats: float
    best_step: int
    last_val_nats: float
    stop_reason: str | None
    chars_per_s: float
    unit: str = "char"   # what the losses are per: char, byte or word (the run's --tokenizer)
    stop_signal: int | None = None   # SIGINT or SIGTERM when a signal stopped the run (the CLI exits 128 + it)
    ended_by: str | None = None      # the budget that ended the run: steps, epochs or time (None: stopped)
    lr_horizon: int = 0              # the cosine horizon used (fitted to the time budget, or fixed by steps)

    @property
    def best_val_bits(self) -> float:
        return self.best_val_nats / 0.6931471805599453


def _callbacks(run_dir: Path, cfg: TrainConfig, data_info: dict, progress: bool, vocab=None) -> list:
    """The standard callbacks, with a printed sample at each evaluation (language models only)."""
    return taskrun.standard_callbacks(run_dir, cfg, data_info, progress, (cb.SamplePrinter(cfg.sample_chars, cfg.seed, vocab),))


def _backend(cfg: TrainConfig, say) -> tuple[type, torch.device, torch.dtype]:
    """Backend class, device and compute dtype for cfg.backend."""
    if cfg.backend == "numpy":
        from .numpy_ref.backend import NumpyBackend
        require(cfg.device in ("auto", "cpu"), "--backend numpy runs on the CPU", "drop --device or pass --device cpu")
        require(not distributed.active(), "--backend numpy trains in one process", "run it without torchrun")
        return NumpyBackend, torch.device("cpu"), torch.float64 if cfg.dtype == "float64" else torch.float32
    device = resolve_device(cfg.device)
    return TorchBackend, device, resolve_dtype(cfg.dtype, device, warn=say)


def _data_info(corpus: Corpus) -> dict:
    return {"source": corpus.source, "path": corpus.path, "fingerprint": corpus.fingerprint,
            "n_train": int(len(corpus.train)), "n_val": int(len(corpus.val))}


def _trainer(model: LanguageModel, corpus: Corpus, cfg: TrainConfig, backend, device, dtype, run_dir: Path,
             progress: bool) -> Trainer:
    task = LanguageModelTask(model, corpus, cfg.batch_size, cfg.seq_len, cfg.tokenizer)
    callbacks = _callbacks(run_dir, cfg, _data_info(corpus), progress, corpus.vocab)
    return Trainer(task, cfg, device, dtype, callbacks, backend_cls=backend)


def _run(trainer: Trainer, run_dir: Path) -> RunResult:
    taskrun.run_trainer(trainer, run_dir)
    p = trainer.progress
    return RunResult(run_dir=run_dir, steps=p.step, best_val_nats=p.best_val, best_step=p.best_step,
                     last_val_nats=trainer.last_score.nats if trainer.last_score else float("nan"),
                     stop_reason=trainer.stop_reason, chars_per_s=p.chars_seen / max(p.train_seconds, 1e-9),
                     unit=trainer.cfg.tokenizer, stop_signal=trainer.stop_signal, ended_by=trainer.ended_by,
                     lr_horizon=trainer.horizon())


def train(model_cfg: ModelConfig | None, cfg: TrainConfig, progress: bool = True,
          say: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> RunResult:
    """Train a new language model into cfg.out (a run directory: best/, last/, metrics.jsonl, loss.png).

    The directory must be new or empty; it is locked while the run trains (RnnlabError if in use)."""
    say = distributed.on_root(say)
    with taskrun.new_run(cfg.out, say) as run_dir:
        return _train(run_dir, model_cfg, cfg, progress, say)


def _train(run_dir: Path, model_cfg: ModelConfig | None, cfg: TrainConfig, progress: bool, say) -> RunResult:
    if cfg.init_from:      # fine-tuning: RUN's model (model_cfg None, or equal to it but for dropout) and tokenizer
        base, model_cfg, cfg = finetune.prepare(model_cfg, cfg)
    backend, device, dtype = _backend(cfg, say)
    backend.check_settings(cfg, model_cfg or ModelConfig())
    measured = 0.0                                  # seconds spent choosing the default model
    if cfg.init_from:      # RUN's vocabulary extended by the new text's symbols; RUN's weights, new rows fresh
        corpus, model = finetune.corpus_and_model(base, model_cfg, cfg, say)
    else:
        corpus = (cached_corpus(cfg.data, cfg.tokenizer, cfg.val_frac, cfg.min_count, run_dir / CACHE_NAME, progress)
                  or load_corpus(cfg.data, cfg.tokenizer, cfg.val_frac, cfg.min_count))
        if model_cfg is None:    # no model flags: the default, or a smaller one where the time budget binds
            measured = time.monotonic()
            model_cfg, cfg = distributed.root_decides(   # one measurement, so that every rank builds one model
                lambda: recipe.choose(corpus, cfg, device, dtype, say) if cfg.backend == "torch"
                else (ModelConfig(), cfg))
            measured = time.monotonic() - measured  # counted in the run's time budget
        torch.manual_seed(cfg.seed)  # weight init and dropout; sampling uses its own generators
        model = LanguageModel(model_cfg.replace(vocab_size=corpus.vocab.size))
    run_dir.mkdir(parents=True, exist_ok=True)
    # built before the summary line, so that a corpus too short for the batch is the only line printed
    trainer = _trainer(model, corpus, cfg, backend, device, dtype, run_dir, progress)
    trainer.progress.elapsed_s = measured
    say(f"rnnlab: {model_cfg.model} {model_cfg.layers}x{model_cfg.hidden}, {model.num_parameters():,} parameters, "
        f"vocab {corpus.vocab.size}, {len(corpus.train):,} train / {len(corpus.val):,} val tokens, "
        f"{cfg.backend} {device.type} {str(dtype).replace('torch.', '')} -> {run_dir}")
    return _run(trainer, run_dir)


def resume(run_dir: str | Path, overrides: dict | None = None, progress: bool = True,
           say: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> RunResult:
    """Continue a run from its last/ checkpoint exactly (same data, vocabulary, RNG and optimizer state),
    in place and locked. max_minutes is the run's total wall time, the minutes already spent included."""
    say = distributed.on_root(say)
    run_dir = rundir.check_resume(run_dir)
    require((run_dir / "last").exists() or (run_dir / ".last.old").exists(),
            f"{run_dir} has no last/ checkpoint to resume", "give the --out directory of an earlier training run")
    require(any((run_dir / name / checkpoint.CONFIG).exists() for name in ("last", ".last.old")),
            f"{run_dir}/last is damaged (no {checkpoint.CONFIG}); resuming from best/ would redo steps silently",
            "restore last/, or start a new run with --out")
    overrides = budget_overrides(overrides or {})   # --max-steps alone drops the time cap, as on the CLI
    out = overrides.pop("out", None)
    require(out is None or (str(out) != "" and Path(out).resolve() == run_dir.resolve()),
            f"--resume continues {run_dir} in place, so --out {out} would be ignored",
            "drop --out (to fork a run, copy its directory and resume the copy)")
    with taskrun.existing_run(run_dir, say):
        return _resume(run_dir, overrides, progress, say)


def _resume(run_dir: Path, overrides: dict, progress: bool, say) -> RunResult:
    unknown = set(overrides) - set(RESUME_OVERRIDES) - {"data", "tokenizer"}
    require(not unknown, f"cannot change {', '.join(sorted(unknown))} when resuming",
            "resume with the run's own settings, or start a new run with --out")
    ckpt = checkpoint.load_checkpoint(run_dir, prefer="last")
    saved = ckpt.train_cfg
    tokenizer = overrides.pop("tokenizer", saved.tokenizer)
    require(tokenizer == saved.tokenizer, f"{run_dir} was trained with --tokenizer {saved.tokenizer}, not {tokenizer}",
            "resume without --tokenizer, or start a new run")
    data = overrides.pop("data", saved.data)
    cfg = saved.replace(**overrides, data=data, out=str(run_dir))
    cfg = cfg.replace(batch_size=distributed.per_rank_batch(saved.batch_size, ckpt.meta.get("world_size", 1)))
    step = int(ckpt.meta.get("metrics", {}).get("step", 0))
    require(cfg.max_steps is None or cfg.max_steps > step, f"{run_dir} is already at step {step} and --max-steps is "
            f"{cfg.max_steps}", f"pass --max-steps above {step} (or --max-minutes alone) to train further")
    if "lr_decay_steps" not in overrides:
        cfg = _extend_schedule(cfg, step, say)
    backend, device, dtype = _backend(cfg, say)
    source = ckpt.meta["data"].get("source", saved.data)
    corpus = _training_corpus(ckpt, data, f"resume with the original data ({source}) or start a new run")
    trainer = _trainer(ckpt.model.train(), corpus, cfg, backend, device, dtype, run_dir, progress)
    taskrun.load_resume_state(trainer, ckpt.trainer_state(device), ckpt.path)
    spent = trainer.progress.elapsed_s / 60                       # cumulative across resumes
    if cfg.max_minutes is not None and spent >= cfg.max_minutes:
        raise RnnlabError(f"{run_dir} has already run {spent:.2f} minutes and --max-minutes {cfg.max_minutes:g} is "
                          "the total wall time of the run", f"pass --max-minutes above {spent:.2f} (or --max-steps N "
                          "alone) to train further")
    say(f"rnnlab: resuming {run_dir} at step {trainer.progress.step}")
    return _run(trainer, run_dir)


def _extend_schedule(cfg: TrainConfig, step: int, say) -> TrainConfig:
    """A resumed cosine run whose new budget goes past its decay horizon would train at the floor LR
    (0 by default) from there on: stretch the horizon to the new --max-steps, or refuse a time-only budget."""
    horizon = cfg.lr_decay_steps
    if cfg.lr_schedule != "cosine" or not horizon or cfg.min_lr_frac >= 1:
        return cfg
    if cfg.max_steps is None:
        require(step < horizon, f"the cosine schedule of {cfg.out} ended at step {horizon}, so further steps would "
                f"train at {cfg.min_lr_frac:g} x the learning rate", "pass --max-steps N or --lr-decay-steps N "
                "beyond it")
        return cfg
    if cfg.max_steps <= horizon:
        return cfg
    say(f"rnnlab: note: the cosine schedule ended at step {horizon}; it now decays over --max-steps "
        f"{cfg.max_steps} (pass --lr-decay-steps to choose)")
    return cfg.replace(lr_decay_steps=cfg.max_steps)


def _training_corpus(ckpt: checkpoint.Checkpoint, data: str, hint: str) -> Corpus:
    """The run's corpus, encoded with its vocabulary, refused unless it is the very text it was trained on.
    A relative --data that does not resolve from here falls back to the absolute path the run recorded."""
    cfg = ckpt.train_cfg
    recorded = ckpt.meta["data"].get("path")
    if data == cfg.data and recorded and Path(recorded).is_file():
        try:
            resolve_source(data)
        except RnnlabError:                                 # a relative path, given in another directory
            data = recorded
    changed = (f"{data} is not the text {ckpt.path.parent} was trained on: the data changed since training "
               "(sha256 differs)")
    try:
        corpus = (cached_corpus(data, cfg.tokenizer, cfg.val_frac, cfg.min_count, ckpt.path.parent / CACHE_NAME,
                                vocab=ckpt.vocab)
                  or load_corpus(data, cfg.tokenizer, cfg.val_frac, cfg.min_count, vocab=ckpt.vocab))
    except RnnlabError:     # symbols the vocabulary lacks, or no longer UTF-8: say first that the text changed
        path = resolve_source(data)
        require(fingerprint(path) == ckpt.meta["data"]["fingerprint"], changed, hint)
        raise
    require(corpus.fingerprint == ckpt.meta["data"]["fingerprint"], changed, hint)
    return corpus


def load_run(path: str | Path, device: str = "auto", which: str = "best") -> checkpoint.Checkpoint:
    """Load a run's best/ (or last/) checkpoint, or a checkpoint directory, onto a device."""
    return checkpoint.load_checkpoint(path, resolve_device(device), prefer=which)


def _sample_config(cfg: SampleConfig | None, settings: dict) -> SampleConfig:
    """A SampleConfig, its settings given as keywords, or both (the keywords win)."""
    require(cfg is None or isinstance(cfg, SampleConfig), f"expected a SampleConfig, got {type(cfg).__name__}",
            "pass rnnlab.SampleConfig(...) or its settings as keywords, e.g. length=200")
    names = {f.name for f in dataclasses.fields(SampleConfig)}
    unknown = sorted(set(settings) - names)
    require(not unknown, f"unknown sample setting(s) {', '.join(unknown)}", f"use {', '.join(sorted(names))}")
    return (cfg or SampleConfig()).replace(**settings) if settings else (cfg or SampleConfig())


def _require_finite_weights(ckpt: checkpoint.Checkpoint) -> None:
    """NaN or inf weights (a diverged or damaged checkpoint) cannot be sampled from or scored."""
    bad = [name for name, p in ckpt.model.named_parameters() if not bool(torch.isfinite(p).all())]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise RnnlabError(f"{ckpt.path} holds weights that are not finite numbers (NaN or inf in {bad[0]}{more})",
                          "use the run's other checkpoint, RUN/last or RUN/best, or train again")


def sample(path_or_ckpt, cfg: SampleConfig | None = None, device: str = "auto", **settings) -> Iterator[str]:
    """Stream text pieces from a run or checkpoint: the prime first, then cfg.length sampled tokens.

    The settings are a SampleConfig, or its fields as keywords: sample(run, prime="ROMEO:", length=200)."""
    cfg = _sample_config(cfg, settings)
    ckpt = path_or_ckpt if isinstance(path_or_ckpt, checkpoint.Checkpoint) else load_run(path_or_ckpt, device)
    _require_finite_weights(ckpt)
    return generate(ckpt.model, ckpt.vocab, cfg, next(ckpt.model.parameters()).device)


def sample_batch(path_or_ckpt, cfg: SampleConfig | None = None, device: str = "auto", **settings) -> list[str]:
    """cfg.num_samples whole samples generated side by side as one batch; sample i is the text that
    sample_text gives with seed + i."""
    cfg = _sample_config(cfg, settings)
    ckpt = path_or_ckpt if isinstance(path_or_ckpt, checkpoint.Checkpoint) else load_run(path_or_ckpt, device)
    _require_finite_weights(ckpt)
    return generate_batch(ckpt.model, ckpt.vocab, cfg, next(ckpt.model.parameters()).device)


def sample_text(path_or_ckpt, cfg: SampleConfig | None = None, device: str = "auto", **settings) -> str:
    """One whole sample as a string: sample_text(run, SampleConfig(...)) or sample_text(run, length=200, seed=7)."""
    return "".join(sample(path_or_ckpt, cfg, device, **settings))


def evaluate_run(path: str | Path, data: str | None = None, device: str = "auto", dtype: str = "float32",
                 progress: bool = False) -> Score:
    """Exact loss of a run's best checkpoint on its validation split, or on the whole of `data`
    (progress: a bar on stderr)."""
    ckpt = load_run(path, device)
    _require_finite_weights(ckpt)
    dev = next(ckpt.model.parameters()).device
    if data is None:
        tokens = _training_corpus(ckpt, ckpt.train_cfg.data, "pass --data with the text to score").val
    else:
        try:
            tokens = encode_file(resolve_source(data), data, ckpt.vocab)
        except NotUTF8Error as exc:      # this run's --tokenizer is fixed: eval has no --tokenizer to suggest
            raise rehint(exc, f"this run reads {ckpt.train_cfg.tokenizer}s of UTF-8 text: convert {data} to UTF-8") \
                from None
        require(len(tokens) >= 2, f"{data} has fewer than 2 tokens", "give a longer text")
    with cb.fraction_bar(progress, f"scoring {len(tokens):,} tokens") as on_progress:
        score = evaluate(ckpt.model, tokens, dev, resolve_dtype(dtype, dev), on_progress=on_progress)
    require(not math.isnan(score.nats), f"{ckpt.path} gives a loss that is not a number on this text "
            "(its weights overflow)", "use the run's other checkpoint, RUN/last or RUN/best, or train again")
    return dataclasses.replace(score, unit=ckpt.train_cfg.tokenizer)
