"""Callbacks on the trainer's one hook: callback(event, view) -> None | request (see hooks.py).

These are the Keras-style helpers of the lectures: checkpointing, early stopping,
reduce-on-plateau, a metrics log (JSONL + CSV), a progress bar, TensorBoard, a
printed sample at each evaluation and a loss-curve plot at the end. Every one of them
works for any task; only SamplePrinter needs a language model.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import sys
from pathlib import Path

from . import distributed
from .checkpoint import save_checkpoint, saved_step
from .config import SampleConfig
from .errors import RnnlabError
from .generate import sample_text
from .hooks import ScaleLR, Stop
from .reports import pyplot, save_figure
from .rundir import read_metrics

def metrics_row(view) -> dict:
    """One metrics.jsonl row: counters, the training loss, the evaluation's own columns, schedule and budget."""
    score, unit = view.evaluation, view.unit
    return {
        "step": view.step,
        "elapsed_s": round(view.elapsed_s, 3),
        f"{unit}s_seen": view.items_seen,
        "train_loss": view.train_loss if math.isfinite(view.train_loss) else None,
        **(score.row() if score else {}),
        f"{unit}s_per_s": view.items_per_s,
        "lr": view.lr,
        "epoch": round(view.epoch(), 4),
        "lr_horizon": view.horizon(),                       # the cosine horizon in use at this row
        "ended_by": view.budget_spent() or view.stop_reason,   # steps | epochs | time | why it stopped
    }


def say(message: str) -> None:
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

    def __call__(self, event: str, view) -> None:
        if event != "eval":
            return
        row = metrics_row(view)
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        new = not self.csv.exists()
        with open(self.csv, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)


class Checkpointer:
    """Save RUN/last/ at every evaluation and RUN/best/ when validation loss improves; never after divergence.
    It runs before MetricsLog, so a failed save (RnnlabError) leaves no metrics row for its step."""

    def __init__(self, run_dir: Path, data_info: dict):
        self.run_dir, self.data_info = Path(run_dir), data_info

    def save(self, view, name: str) -> None:
        metrics = {"step": view.step, "train_loss": view.train_loss, **view.evaluation.row(),
                   "best_objective": view.best[0]}
        if "val_nats" in metrics:
            metrics["best_val_nats"] = view.best[0]
        sections = {"task": view.task.name, **view.task.checkpoint_sections(), "train": view.cfg.to_dict(),
                    "data": self.data_info}
        if distributed.world_size() > 1:        # train.batch_size is per process: resume keeps their product
            sections["world_size"] = distributed.world_size()
        try:
            save_checkpoint(self.run_dir / name, view.model, sections, metrics, view.resume_state())
        except OSError as exc:              # disk full, quota, I/O error: the previous checkpoint is untouched
            kept = saved_step(self.run_dir, name)
            raise RnnlabError(f"could not save {self.run_dir / name} at step {view.step}: "
                              f"{exc.strerror or exc}", "free disk space, then " + (
                                  f"rnnlab train --resume {self.run_dir} ({name}/ still holds step {kept})"
                                  if kept is not None else "start the run again")) from None

    def __call__(self, event: str, view) -> None:
        if event == "eval" and not view.diverged:
            if view.improved:
                self.save(view, "best")
            self.save(view, "last")


class _Patience:
    """Counts scheduled evaluations without a new best of its own. A stop's extra final evaluation is off
    the schedule and ignored entirely (not even as a best), so 'stop, then resume' counts like one run."""

    state_key = "patience"

    def __init__(self, patience: int):
        self.patience, self.bad, self.best = patience, 0, float("inf")

    def exhausted(self, view) -> bool:
        """Count this evaluation; True when `patience` evaluations in a row brought no new best."""
        value = view.evaluation.objective
        if value < self.best:
            self.best, self.bad = value, 0
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

    state_key = "reduce_lr_on_plateau"

    def __call__(self, event: str, view):
        if event != "eval" or not view.scheduled_eval:
            return None
        if self.exhausted(view) and view.lr_scale > self.min_scale:
            self.bad = 0
            say(f"step {view.step}: no improvement for {self.patience} evaluations, "
                f"learning rate x{view.lr_scale * self.factor:g}")
            return ScaleLR(self.factor)
        return None


class EarlyStopping(_Patience):
    """Stop after `patience` evaluations without a new best validation loss."""

    state_key = "early_stopping"

    def __call__(self, event: str, view):
        if event == "eval" and view.scheduled_eval and self.exhausted(view):
            return Stop(f"early stop: no improvement for {self.patience} evaluations")
        return None


class SamplePrinter:
    """Print a short sample at each evaluation, framed like min-char-rnn's `----` blocks."""

    def __init__(self, chars: int, seed: int, vocab):
        self.chars, self.seed, self.vocab = chars, seed, vocab

    def __call__(self, event: str, view) -> None:
        if event != "eval" or not self.chars:
            return
        cfg = SampleConfig(length=self.chars, seed=self.seed + view.step)
        text = sample_text(view.model, self.vocab, cfg, view.device)
        say(f"---- sample at step {view.step} ----\n{text}\n----")


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


def unit_of(view) -> str:
    """What the losses are per: the language model's tokenizer (char, byte, word), else the task's unit."""
    return (getattr(view.cfg, "tokenizer", None) or view.unit) if view.task.name == "lm" else view.unit


def loss_status(view) -> str:
    """'loss 1.512 val 1.498 nats/char', or for other tasks 'loss 0.412 | val 0.398 nats, accuracy 81.2%'."""
    loss = f"loss {view.train_loss:.3f}" if math.isfinite(view.train_loss) else "loss -"
    score = view.evaluation
    if view.task.name == "lm":
        return f"{loss}{f' val {score.loss:.3f}' if score else ''} nats/{unit_of(view)}"
    return f"{loss} nats" + (f" | {score.summary()}" if score else "")


class ProgressBar:
    """tqdm bar over the planned steps: losses in one unit, epoch, throughput and one time-left figure.

        step 412/780 | loss 1.512 val 1.498 nats/char | epoch 5.3 | 17,350 chars/s | 4:31 left

    The total is the step budget, or the horizon fitted to a time budget; time left includes the
    evaluations still to come. During an evaluation the bar says how far it is.
    """

    FORMAT = "{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}"

    def __init__(self, enabled: bool = True):
        self.enabled, self.bar = enabled, None

    def __call__(self, event: str, view) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm
        if event == "start":
            self.bar = tqdm(total=view.planned_steps(), initial=view.step, unit="step",
                            dynamic_ncols=True, file=sys.stderr, bar_format=self.FORMAT, desc="step ")
        elif self.bar is None:
            return
        elif event in ("log", "eval"):
            self._refresh(view)
        elif event in ("eval_start", "eval_progress"):
            self.bar.set_postfix_str(self._status(view, f"evaluating {view.eval_fraction:.0%}"))
        elif event == "end":
            self._refresh(view)
            self.bar.close()
            self.bar = None

    def _refresh(self, view) -> None:
        planned = view.planned_steps()
        if planned is not None and planned != self.bar.total:
            self.bar.total = max(planned, view.step)
        self.bar.set_postfix_str(self._status(view, self._left(view)), refresh=False)
        self.bar.update(view.step - self.bar.n)
        self.bar.refresh()

    @staticmethod
    def _status(view, tail: str) -> str:
        unit = unit_of(view)
        return f"{loss_status(view)} | epoch {view.epoch():.1f} | {view.items_per_s:,.0f} {unit}s/s | {tail}"

    @staticmethod
    def _left(view) -> str:
        seconds = view.seconds_left()
        if seconds is None:
            return "timing..."
        return f"{int(seconds // 60)}:{int(seconds % 60):02d} left"


class LogLines:
    """Without a progress bar (--no-progress): one stderr line per log interval, and one per evaluation.

        step 120/1100  loss 2.4312 nats/char  lr 2.96e-03  11,204 chars/s
        step 250/1100  val 1.9120 nats/char (2.758 bits)
    """

    def __call__(self, event: str, view) -> None:
        if event not in ("log", "eval"):
            return
        unit, cfg = unit_of(view), view.cfg
        step = f"step {view.step}/{cfg.max_steps}" if cfg.max_steps else f"step {view.step}"
        if event == "log":
            per = f" nats/{unit}" if view.task.name == "lm" else " nats"
            say(f"{step}  loss {view.train_loss:.4f}{per}  lr {view.lr:.2e}  {view.items_per_s:,.0f} {unit}s/s")
        elif view.evaluation is not None:
            score = view.evaluation
            if view.task.name == "lm":
                say(f"{step}  val {score.loss:.4f} nats/{unit} ({score.bits:.3f} bits)")
            else:
                say(f"{step}  {score.summary()}")


class TensorBoard:
    """Write scalars for TensorBoard when the tensorboard package is installed."""

    def __init__(self, run_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"))
        except ImportError:
            self.writer = None
            say("note: --tensorboard needs the tensorboard package (pip install tensorboard); not writing events")

    def __call__(self, event: str, view) -> None:
        if self.writer is None:
            return
        if event == "log":
            self.writer.add_scalar("train/loss", view.train_loss, view.step)
            self.writer.add_scalar("train/lr", view.lr, view.step)
        elif event == "eval":
            for key, value in view.evaluation.row().items():
                if isinstance(value, (int, float)):
                    self.writer.add_scalar(key.replace("val_", "val/", 1), value, view.step)
        elif event == "end":
            self.writer.close()


class LossCurve:
    """Collect the training loss at every log and draw RUN/loss.png (train and validation) at the end."""

    state_key = "loss_curve"

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.train_points: list[tuple[int, float]] = []

    def __call__(self, event: str, view) -> None:
        if event == "log":
            self.train_points.append((view.step, view.train_loss))
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
    key = "val_nats" if rows and "val_nats" in rows[0] else "val_loss"
    ax.plot([r["step"] for r in rows], [r.get(key) for r in rows], "o-", label="validation (exact)")
    title, unit = _describe_run(Path(run_dir))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("step")
    ax.set_ylabel(f"cross-entropy, nats per {unit}")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    rates = [k for k in (rows[0] if rows else {}) if k.startswith("val_") and k not in (key, "val_bpc")
             and all(isinstance(r.get(k), float) and 0 <= r[k] <= 1 for r in rows)]
    if rates:                        # accuracy, F1, ...: on a second axis, in percent
        right = ax.twinx()
        for k in rates[:3]:
            right.plot([r["step"] for r in rows], [100 * r[k] for r in rows], "s--", lw=1, label=k[4:].replace("_", " "))
        right.set_ylabel("validation score, %")
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, loc="best", fontsize=8)
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
        task = meta.get("task", "lm")
        with safe_open(str(ckpt / WEIGHTS), framework="numpy") as f:       # the header only: no weights are read
            params = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
    except (RnnlabError, SafetensorError, OSError, KeyError, TypeError, ValueError):
        return name, "token"
    if task != "lm":
        kind = str(model.get("model", model.get("cell", ""))).upper()
        return (f"{name}: {task}, {kind} {model.get('layers', '?')}x{model.get('hidden', '?')}, {params:,} parameters\n"
                f"on {Path(str(train.get('data', '?'))).name}"), "sentence" if task == "classify" else "token"
    unit = train.get("tokenizer", "char")
    base = Path(str(train.get("init_from") or ""))
    base = base.parent if base.name in ("best", "last") else base                # the run, not its checkpoint
    origin = f", fine-tuned from {base.name}" if train.get("init_from") else ""
    return (f"{name}: {model['model'].upper()} {model['layers']}x{model['hidden']}, {params:,} parameters\n"
            f"{unit}-level on {Path(str(train.get('data', '?'))).name}{origin}"), unit
