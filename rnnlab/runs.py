"""The Python API behind the CLI: train or resume a run, load it, sample from it, evaluate it.

    >>> import rnnlab
    >>> run = rnnlab.train(rnnlab.ModelConfig(hidden=128, layers=1), rnnlab.TrainConfig(max_steps=200, out="runs/r1"))
    >>> print(rnnlab.sample_text("runs/r1", rnnlab.SampleConfig(prime="ROMEO:", length=200, seed=7)))
    >>> rnnlab.evaluate_run("runs/r1").bits
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from . import callbacks as cb
from . import checkpoint
from .config import ModelConfig, SampleConfig, TrainConfig
from .device import resolve_device, resolve_dtype
from .errors import RnnlabError, require
from .evaluation import Score, evaluate
from .generate import generate
from .models.language_model import LanguageModel
from .text.corpus import Corpus, encode_file, load_corpus, resolve_source
from .schedule import decay_horizon
from .trainer import Trainer

# Settings a resumed run may change; everything else comes from the run's config.json.
RESUME_OVERRIDES = ("max_steps", "max_minutes", "eval_every", "log_every", "sample_chars", "device", "dtype",
                    "tensorboard", "lr_decay_steps", "early_stop_patience", "plateau_patience")


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

    @property
    def best_val_bits(self) -> float:
        return self.best_val_nats / 0.6931471805599453


def _callbacks(run_dir: Path, cfg: TrainConfig, data_info: dict, progress: bool) -> list:
    callbacks: list = [cb.MetricsLog(run_dir)]
    if cfg.plateau_patience:
        callbacks.append(cb.ReduceLROnPlateau(cfg.plateau_patience, cfg.plateau_factor))
    if cfg.early_stop_patience:
        callbacks.append(cb.EarlyStopping(cfg.early_stop_patience))
    # the checkpoint comes after every callback that changes what a resume must restore
    callbacks += [cb.LossCurve(run_dir), cb.Checkpointer(run_dir, data_info), cb.SamplePrinter(cfg.sample_chars, cfg.seed),
                  cb.ProgressBar(progress)]
    if cfg.tensorboard:
        callbacks.append(cb.TensorBoard(run_dir))
    return callbacks


def _backend(cfg: TrainConfig, say) -> tuple[type, torch.device, torch.dtype]:
    """Trainer class, device and compute dtype for cfg.backend."""
    if cfg.backend == "numpy":
        from .numpy_ref.trainer import NumpyTrainer
        require(cfg.device in ("auto", "cpu"), "--backend numpy runs on the CPU", "drop --device or pass --device cpu")
        return NumpyTrainer, torch.device("cpu"), torch.float64 if cfg.dtype == "float64" else torch.float32
    device = resolve_device(cfg.device)
    return Trainer, device, resolve_dtype(cfg.dtype, device, warn=say)


def _data_info(corpus: Corpus) -> dict:
    return {"source": corpus.source, "path": corpus.path, "fingerprint": corpus.fingerprint,
            "n_train": int(len(corpus.train)), "n_val": int(len(corpus.val))}


def _run(trainer: Trainer, run_dir: Path) -> RunResult:
    trainer.fit()
    p = trainer.progress
    if trainer.diverged:
        kept = f"best/ and last/ in {run_dir} keep step {p.best_step}" if p.best_step >= 0 else "no checkpoint was written"
        raise RnnlabError(f"training stopped: {trainer.stop_reason}; {kept}",
                          "lower --lr, keep --grad-clip on, or use --dtype float32")
    return RunResult(run_dir=run_dir, steps=p.step, best_val_nats=p.best_val, best_step=p.best_step,
                     last_val_nats=trainer.last_score.nats if trainer.last_score else float("nan"),
                     stop_reason=trainer.stop_reason, chars_per_s=p.chars_seen / max(p.train_seconds, 1e-9),
                     unit=trainer.cfg.tokenizer)


def train(model_cfg: ModelConfig, cfg: TrainConfig, progress: bool = True,
          say: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> RunResult:
    """Train a new language model into cfg.out (a run directory: best/, last/, metrics.jsonl, loss.png)."""
    run_dir = Path(cfg.out)
    require(not (run_dir / "last").exists() and not (run_dir / "best").exists(),
            f"{run_dir} already holds a training run", f"continue it with --resume {run_dir} or choose another --out")
    trainer_cls, device, dtype = _backend(cfg, say)
    trainer_cls.check_settings(cfg, model_cfg)
    corpus = load_corpus(cfg.data, cfg.tokenizer, cfg.val_frac, cfg.min_count)
    torch.manual_seed(cfg.seed)  # weight init and dropout; sampling uses its own generators
    model = LanguageModel(model_cfg.replace(vocab_size=corpus.vocab.size))
    cfg = cfg.replace(lr_decay_steps=decay_horizon(cfg))   # fixed now, so a resume keeps this schedule
    run_dir.mkdir(parents=True, exist_ok=True)
    say(f"rnnlab: {model_cfg.model} {model_cfg.layers}x{model_cfg.hidden}, {model.num_parameters():,} parameters, "
        f"vocab {corpus.vocab.size}, {len(corpus.train):,} train / {len(corpus.val):,} val tokens, "
        f"{cfg.backend} {device.type} {str(dtype).replace('torch.', '')} -> {run_dir}")
    trainer = trainer_cls(model, corpus, cfg, device, dtype, _callbacks(run_dir, cfg, _data_info(corpus), progress))
    return _run(trainer, run_dir)


def resume(run_dir: str | Path, overrides: dict | None = None, progress: bool = True,
           say: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> RunResult:
    """Continue a run from its last/ checkpoint exactly (same data, vocabulary, RNG and optimizer state)."""
    run_dir = Path(run_dir)
    require((run_dir / "last").exists() or (run_dir / ".last.old").exists(),
            f"{run_dir} has no last/ checkpoint to resume", "give the --out directory of an earlier training run")
    require(any((run_dir / name / checkpoint.CONFIG).exists() for name in ("last", ".last.old")),
            f"{run_dir}/last is damaged (no {checkpoint.CONFIG}); resuming from best/ would redo steps silently",
            "restore last/, or start a new run with --out")
    overrides = dict(overrides or {})
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
    step = int(ckpt.meta.get("metrics", {}).get("step", 0))
    require(cfg.max_steps is None or cfg.max_steps > step, f"{run_dir} is already at step {step} and --max-steps is "
            f"{cfg.max_steps}", f"pass --max-steps above {step} (or --max-minutes alone) to train further")
    if "lr_decay_steps" not in overrides:
        cfg = _extend_schedule(cfg, step, say)
    trainer_cls, device, dtype = _backend(cfg, say)
    source = ckpt.meta["data"].get("source", saved.data)
    corpus = _training_corpus(ckpt, data, f"resume with the original data ({source}) or start a new run")
    trainer = trainer_cls(ckpt.model.train(), corpus, cfg, device, dtype,
                      _callbacks(run_dir, cfg, _data_info(corpus), progress))
    try:
        trainer.load_state_dict(ckpt.trainer_state(device))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise RnnlabError(f"{ckpt.path / checkpoint.TRAINER} is damaged ({exc.__class__.__name__}: {exc})",
                          "restore it, or start a new run with --out") from None
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
    corpus = load_corpus(data, cfg.tokenizer, cfg.val_frac, cfg.min_count, vocab=ckpt.vocab)
    require(corpus.fingerprint == ckpt.meta["data"]["fingerprint"],
            f"{data} is not the text {ckpt.path.parent} was trained on (sha256 differs)", hint)
    return corpus


def load_run(path: str | Path, device: str = "auto", which: str = "best") -> checkpoint.Checkpoint:
    """Load a run's best/ (or last/) checkpoint, or a checkpoint directory, onto a device."""
    return checkpoint.load_checkpoint(path, resolve_device(device), prefer=which)


def sample(path_or_ckpt, cfg: SampleConfig, device: str = "auto") -> Iterator[str]:
    """Stream text pieces from a run or checkpoint: the prime first, then cfg.length sampled tokens."""
    ckpt = path_or_ckpt if isinstance(path_or_ckpt, checkpoint.Checkpoint) else load_run(path_or_ckpt, device)
    return generate(ckpt.model, ckpt.vocab, cfg, next(ckpt.model.parameters()).device)


def sample_text(path_or_ckpt, cfg: SampleConfig, device: str = "auto") -> str:
    """One whole sample as a string."""
    return "".join(sample(path_or_ckpt, cfg, device))


def evaluate_run(path: str | Path, data: str | None = None, device: str = "auto", dtype: str = "float32") -> Score:
    """Exact loss of a run's best checkpoint on its validation split, or on the whole of `data`."""
    ckpt = load_run(path, device)
    dev = next(ckpt.model.parameters()).device
    if data is None:
        tokens = _training_corpus(ckpt, ckpt.train_cfg.data, "pass --data with the text to score").val
    else:
        tokens = encode_file(resolve_source(data), data, ckpt.vocab)
        require(len(tokens) >= 2, f"{data} has fewer than 2 tokens", "give a longer text")
    score = evaluate(ckpt.model, tokens, dev, resolve_dtype(dtype, dev))
    return dataclasses.replace(score, unit=ckpt.train_cfg.tokenizer)
