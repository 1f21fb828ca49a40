"""Callbacks on the trainer's one hook: callback(event, trainer) with event in start | log | eval | end.

These are the Keras-style helpers of the lectures: checkpointing, early stopping,
reduce-on-plateau, a metrics log (JSONL + CSV), a progress bar, TensorBoard, a
printed sample at each evaluation and a loss-curve plot at the end.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import sys
from pathlib import Path

from .checkpoint import save_checkpoint, saved_step
from .config import SampleConfig
from .errors import RnnlabError
from .generate import sample_text
from .reports import pyplot, save_figure
from .rundir import read_metrics

METRIC_KEYS = ("step", "elapsed_s", "chars_seen", "train_loss", "val_nats", "val_bpc", "chars_per_s", "lr", "epoch",
               "lr_horizon", "ended_by")


def metrics_row(trainer) -> dict:
    p, score = trainer.progress, trainer.last_score
    return {
        "step": p.step,
        "elapsed_s": round(p.elapsed_s, 3),
        "chars_seen": p.chars_seen,
        "train_loss": trainer.train_loss if math.isfinite(trainer.train_loss) else None,
        "val_nats": score.nats if score else None,
        "val_bpc": score.bits if score else None,
        "chars_per_s": p.chars_seen / p.train_seconds if p.train_seconds else 0.0,
        "lr": trainer.lr,
        "epoch": round(trainer.epoch(), 4),
        "lr_horizon": trainer.horizon(),                       # the cosine horizon in use at this row
        "ended_by": trainer.budget_spent() or trainer.stop_reason,   # steps | epochs | time | why it stopped
    }


def _say(message: str) -> None:
    """Print above the progress bar when there is one."""
    try:
        from tqdm import tqdm
        tqdm.write(message, file=sys.stderr)
    except ImportError:
        print(message, file=sys.stderr)


class MetricsLog:
    """Append one line per evaluation to RUN/metrics.jsonl and RUN/metrics.csv."""

    def __init__(self, run_dir: Path):
        self.jsonl, self.csv = Path(run_dir) / "metrics.jsonl", Path(run_dir) / "metrics.csv"

    def __call__(self, event: str, trainer) -> None:
        if event != "eval":
            return
        row = metrics_row(trainer)
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        new = not self.csv.exists()
        with open(self.csv, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=METRIC_KEYS)
            if new:
                writer.writeheader()
            writer.writerow(row)


class Checkpointer:
    """Save RUN/last/ at every evaluation and RUN/best/ when validation loss improves; never after divergence.
    It runs before MetricsLog, so a failed save (RnnlabError) leaves no metrics row for its step."""

    def __init__(self, run_dir: Path, data_info: dict):
        self.run_dir, self.data_info = Path(run_dir), data_info

    def save(self, trainer, name: str) -> None:
        score = trainer.last_score
        metrics = {"step": trainer.progress.step, "train_loss": trainer.train_loss,
                   "val_nats": score.nats, "val_bpc": score.bits, "best_val_nats": trainer.progress.best_val}
        try:
            save_checkpoint(self.run_dir / name, trainer.model, trainer.cfg, trainer.corpus.vocab, self.data_info,
                            metrics, trainer.state_dict())
        except OSError as exc:              # disk full, quota, I/O error: the previous checkpoint is untouched
            kept = saved_step(self.run_dir, name)
            raise RnnlabError(f"could not save {self.run_dir / name} at step {trainer.progress.step}: "
                              f"{exc.strerror or exc}", "free disk space, then " + (
                                  f"rnnlab train --resume {self.run_dir} ({name}/ still holds step {kept})"
                                  if kept is not None else "start the run again")) from None

    def __call__(self, event: str, trainer) -> None:
        if event == "eval" and not trainer.diverged:
            if trainer.improved:
                self.save(trainer, "best")
            self.save(trainer, "last")


class _Patience:
    """Counts scheduled evaluations without a new best of its own. A stop's extra final evaluation is off
    the schedule and ignored entirely (not even as a best), so 'stop, then resume' counts like one run."""

    def __init__(self, patience: int):
        self.patience, self.bad, self.best = patience, 0, float("inf")

    def exhausted(self, trainer) -> bool:
        """Count this evaluation; True when `patience` evaluations in a row brought no new best."""
        nats = trainer.last_score.nats
        if nats < self.best:
            self.best, self.bad = nats, 0
        else:
            self.bad += 1
        return self.bad >= self.patience

    def state_dict(self) -> dict:
        return {"bad": self.bad, "best": self.best}

    def load_state_dict(self, d: dict) -> None:
        self.bad, self.best = d["bad"], d.get("best", float("inf"))


class ReduceLROnPlateau(_Patience):
    """Multiply the learning rate by `factor` after `patience` evaluations without a new best."""

    def __init__(self, patience: int, factor: float = 0.5, min_scale: float = 1e-3):
        super().__init__(patience)
        self.factor, self.min_scale = factor, min_scale

    def __call__(self, event: str, trainer) -> None:
        if event != "eval" or not trainer.scheduled_eval:
            return
        if self.exhausted(trainer) and trainer.progress.lr_scale > self.min_scale:
            trainer.progress.lr_scale *= self.factor
            self.bad = 0
            _say(f"step {trainer.progress.step}: no improvement for {self.patience} evaluations, "
                 f"learning rate x{trainer.progress.lr_scale:g}")


class EarlyStopping(_Patience):
    """Stop after `patience` evaluations without a new best validation loss."""

    def __call__(self, event: str, trainer) -> None:
        if event == "eval" and trainer.scheduled_eval and self.exhausted(trainer):
            trainer.stop(f"early stop: no improvement for {self.patience} evaluations")


class SamplePrinter:
    """Print a short sample at each evaluation, framed like min-char-rnn's `----` blocks."""

    def __init__(self, chars: int, seed: int):
        self.chars, self.seed = chars, seed

    def __call__(self, event: str, trainer) -> None:
        if event != "eval" or not self.chars:
            return
        cfg = SampleConfig(length=self.chars, seed=self.seed + trainer.progress.step)
        text = sample_text(trainer.model, trainer.corpus.vocab, cfg, trainer.device)
        _say(f"---- sample at step {trainer.progress.step} ----\n{text}\n----")


@contextlib.contextmanager
def fraction_bar(enabled: bool, desc: str):
    """A tqdm bar on stderr driven by on_progress(fraction) calls; yields that callable (None when disabled)."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm
    bar = tqdm(total=100, desc=desc, unit="%", file=sys.stderr, leave=False, bar_format="{desc} {percentage:3.0f}%|{bar}|")
    try:
        yield lambda fraction: bar.update(round(100 * fraction) - bar.n)
    finally:
        bar.close()


class ProgressBar:
    """tqdm bar over the planned steps: losses in one unit, epoch, throughput and one time-left figure.

        step 412/780 | loss 1.512 val 1.498 nats/char | epoch 5.3 | 17,350 chars/s | 4:31 left

    The total is the step budget, or the horizon fitted to a time budget; time left includes the
    evaluations still to come. During an evaluation the bar says how far it is.
    """

    FORMAT = "{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}"

    def __init__(self, enabled: bool = True):
        self.enabled, self.bar, self.trainer = enabled, None, None

    def __call__(self, event: str, trainer) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm
        if event == "start":
            self.trainer = trainer
            self.bar = tqdm(total=trainer.planned_steps(), initial=trainer.progress.step, unit="step",
                            dynamic_ncols=True, file=sys.stderr, bar_format=self.FORMAT, desc="step ")
            trainer.eval_progress = self._evaluating
        elif self.bar is None:
            return
        elif event in ("log", "eval"):
            self._refresh(trainer)
        elif event == "eval_start":
            self.bar.set_postfix_str(self._status(trainer, "evaluating 0%"))
        elif event == "end":
            self._refresh(trainer)
            self.bar.close()
            self.bar = None
            trainer.eval_progress = None

    def _evaluating(self, fraction: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(self._status(self.trainer, f"evaluating {fraction:.0%}"))

    def _refresh(self, trainer) -> None:
        planned = trainer.planned_steps()
        if planned is not None and planned != self.bar.total:
            self.bar.total = max(planned, trainer.progress.step)
        self.bar.set_postfix_str(self._status(trainer, self._left(trainer)), refresh=False)
        self.bar.update(trainer.progress.step - self.bar.n)
        self.bar.refresh()

    @staticmethod
    def _status(trainer, tail: str) -> str:
        p, unit = trainer.progress, getattr(trainer.cfg, "tokenizer", "char")
        score = trainer.last_score
        val = f" val {score.nats:.3f}" if score else ""
        loss = f"loss {trainer.train_loss:.3f}" if math.isfinite(trainer.train_loss) else "loss -"
        speed = p.chars_seen / p.train_seconds if p.train_seconds else 0.0
        return f"{loss}{val} nats/{unit} | epoch {trainer.epoch():.1f} | {speed:,.0f} {unit}s/s | {tail}"

    @staticmethod
    def _left(trainer) -> str:
        seconds = trainer.seconds_left()
        if seconds is None:
            return "timing..."
        return f"{int(seconds // 60)}:{int(seconds % 60):02d} left"


class LogLines:
    """Without a progress bar (--no-progress): one stderr line per log interval, and one per evaluation.

        step 120/1100  loss 2.4312 nats/char  lr 2.96e-03  11,204 chars/s
        step 250/1100  val 1.9120 nats/char (2.758 bits)
    """

    def __call__(self, event: str, trainer) -> None:
        p, cfg = trainer.progress, trainer.cfg
        if event not in ("log", "eval"):
            return
        unit = getattr(cfg, "tokenizer", "char")
        step = f"step {p.step}/{cfg.max_steps}" if cfg.max_steps else f"step {p.step}"
        if event == "log":
            speed = p.chars_seen / p.train_seconds if p.train_seconds else 0.0
            _say(f"{step}  loss {trainer.train_loss:.4f} nats/{unit}  lr {trainer.lr:.2e}  {speed:,.0f} {unit}s/s")
        elif trainer.last_score is not None:
            score = trainer.last_score
            _say(f"{step}  val {score.nats:.4f} nats/{unit} ({score.bits:.3f} bits)")


class TensorBoard:
    """Write scalars for TensorBoard when the tensorboard package is installed."""

    def __init__(self, run_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"))
        except ImportError:
            self.writer = None
            _say("note: --tensorboard needs the tensorboard package (pip install tensorboard); not writing events")

    def __call__(self, event: str, trainer) -> None:
        if self.writer is None:
            return
        step = trainer.progress.step
        if event == "log":
            self.writer.add_scalar("train/loss", trainer.train_loss, step)
            self.writer.add_scalar("train/lr", trainer.lr, step)
        elif event == "eval":
            self.writer.add_scalar("val/nats_per_char", trainer.last_score.nats, step)
            self.writer.add_scalar("val/bits_per_char", trainer.last_score.bits, step)
        elif event == "end":
            self.writer.close()


class LossCurve:
    """Collect the training loss at every log and draw RUN/loss.png (train and validation) at the end."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.train_points: list[tuple[int, float]] = []

    def __call__(self, event: str, trainer) -> None:
        if event == "log":
            self.train_points.append((trainer.progress.step, trainer.train_loss))
        elif event == "end":
            plot_loss_curve(self.run_dir, self.train_points)

    def state_dict(self) -> dict:
        return {"train_points": self.train_points}

    def load_state_dict(self, d: dict) -> None:
        self.train_points = [tuple(x) for x in d["train_points"]]


def plot_loss_curve(run_dir: Path, train_points: list) -> Path | None:
    """Plot train loss and validation loss (nats per token) against step into RUN/loss.png."""
    metrics = Path(run_dir) / "metrics.jsonl"
    if not metrics.exists():
        return None
    plt = pyplot()
    rows, _ = read_metrics(metrics)                 # a torn last line (a killed run) is left out
    fig, ax = plt.subplots(figsize=(7, 4.4))
    finite = [(s, v) for s, v in train_points if math.isfinite(v)]
    if finite:
        steps, losses = zip(*finite)
        ax.plot(steps, losses, lw=1, alpha=0.6, label="train (interval mean)")
    ax.plot([r["step"] for r in rows], [r["val_nats"] for r in rows], "o-", label="validation (exact)")
    title, unit = _describe_run(Path(run_dir))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("step")
    ax.set_ylabel(f"cross-entropy, nats per {unit}")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, Path(run_dir) / "loss.png")


def _describe_run(run_dir: Path) -> tuple[str, str]:
    """Title ('NAME: LSTM 2x512, 3,713,089 parameters' over 'char-level on DATA') and the loss unit, read from
    the run's newest checkpoint; only the name when there is none."""
    from safetensors import SafetensorError, safe_open

    from .checkpoint import WEIGHTS, read_meta, resolve_checkpoint
    from .errors import RnnlabError
    name = run_dir.resolve().name
    try:
        ckpt = resolve_checkpoint(run_dir, prefer="last")
        meta = read_meta(ckpt)
        model, train = meta["model"], meta["train"]
        with safe_open(str(ckpt / WEIGHTS), framework="numpy") as f:       # the header only: no weights are read
            params = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
    except (RnnlabError, SafetensorError, OSError, KeyError, TypeError, ValueError):
        return name, "token"
    unit = train.get("tokenizer", "char")
    base = Path(str(train.get("init_from") or ""))
    base = base.parent if base.name in ("best", "last") else base                # the run, not its checkpoint
    origin = f", fine-tuned from {base.name}" if train.get("init_from") else ""
    return (f"{name}: {model['model'].upper()} {model['layers']}x{model['hidden']}, {params:,} parameters\n"
            f"{unit}-level on {Path(str(train.get('data', '?'))).name}{origin}"), unit
