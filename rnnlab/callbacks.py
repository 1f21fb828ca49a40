"""Callbacks on the trainer's one hook: callback(event, trainer) with event in start | log | eval | end.

These are the Keras-style helpers of the lectures: checkpointing, early stopping,
reduce-on-plateau, a metrics log (JSONL + CSV), a progress bar, TensorBoard, a
printed sample at each evaluation and a loss-curve plot at the end.
"""
from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

from .checkpoint import save_checkpoint
from .config import SampleConfig
from .generate import sample_text
from .reports import pyplot, save_figure

METRIC_KEYS = ("step", "elapsed_s", "chars_seen", "train_loss", "val_nats", "val_bpc", "chars_per_s", "lr")


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
    """Save RUN/last/ at every evaluation and RUN/best/ when validation loss improves; never after divergence."""

    def __init__(self, run_dir: Path, data_info: dict):
        self.run_dir, self.data_info = Path(run_dir), data_info

    def save(self, trainer, name: str) -> None:
        score = trainer.last_score
        metrics = {"step": trainer.progress.step, "train_loss": trainer.train_loss,
                   "val_nats": score.nats, "val_bpc": score.bits, "best_val_nats": trainer.progress.best_val}
        save_checkpoint(self.run_dir / name, trainer.model, trainer.cfg, trainer.corpus.vocab, self.data_info,
                        metrics, trainer.state_dict())

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


class ProgressBar:
    """tqdm bar: loss, validation bits per character, characters per second, time left."""

    def __init__(self, enabled: bool = True):
        self.enabled, self.bar = enabled, None

    def __call__(self, event: str, trainer) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm
        p, cfg = trainer.progress, trainer.cfg
        if event == "start":
            self.bar = tqdm(total=cfg.max_steps, initial=p.step, unit="step", dynamic_ncols=True, file=sys.stderr)
        elif event == "log" and self.bar is not None:
            score = trainer.last_score
            val = f"{score.bits:.3f}" if score else "-"
            self.bar.set_postfix_str(
                f"loss {trainer.train_loss:.3f} | val {val} bpc | "
                f"{p.chars_seen / max(p.train_seconds, 1e-9):,.0f} chars/s | {self._left(trainer)} left", refresh=False)
            self.bar.update(p.step - self.bar.n)
        elif event == "end" and self.bar is not None:
            self.bar.close()
            self.bar = None

    @staticmethod
    def _left(trainer) -> str:
        p, cfg = trainer.progress, trainer.cfg
        left = [cfg.max_minutes * 60 - p.elapsed_s] if cfg.max_minutes else []
        if cfg.max_steps and p.step:
            left.append((cfg.max_steps - p.step) * p.elapsed_s / p.step)
        seconds = max(0.0, min(left)) if left else 0.0
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


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
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(7, 4))
    if train_points:
        steps, losses = zip(*[(s, v) for s, v in train_points if math.isfinite(v)])
        ax.plot(steps, losses, lw=1, alpha=0.6, label="train (interval mean)")
    ax.plot([r["step"] for r in rows], [r["val_nats"] for r in rows], "o-", label="validation (exact)")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy, nats per token")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, Path(run_dir) / "loss.png")
