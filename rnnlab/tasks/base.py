"""The task contract: what the one Trainer needs from a problem.

A task owns its data (batches with lengths and masks), its model (head included), its loss,
its metrics and its evaluation. The Trainer (trainer.py) owns everything else: the optimizer
and learning-rate schedule, budgets, evaluation cadence, callbacks, checkpoints, resume,
signals and NaN handling. Language modelling (tasks/lm.py), classification and tagging are
tasks; a new problem type is a new Task subclass and never a copy of the loop.

    Trainer.fit                          Task
      step k: lr = schedule(k)   ──▶   train_loss(k, device, dtype)  -> (mean loss, items)
              backward, clip, update     (batch k is a pure function of seed and k: resume is exact)
      every eval_every steps     ──▶   evaluate(device, dtype, on_progress) -> Evaluation
      checkpoint                 ──▶   checkpoint_sections() -> config.json sections; state_dict()
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import torch


@dataclass
class Evaluation:
    """One validation pass. `loss` is the mean loss per scored item (nats); best/ keeps the lowest
    `objective` (the loss unless a task prefers e.g. 1 - F1)."""
    loss: float
    n: int                                         # items scored (tokens, sentences)
    metrics: dict = field(default_factory=dict)    # the task's figures, e.g. {"accuracy": 0.79, "macro_f1": 0.79}

    @property
    def objective(self) -> float:
        return self.loss

    @property
    def finite(self) -> bool:
        return math.isfinite(self.loss)

    def row(self) -> dict:
        """Columns of metrics.jsonl / metrics.csv for this evaluation ("val_" + name)."""
        return {"val_loss": self.loss, **{f"val_{k}": v for k, v in self.metrics.items()}}

    def summary(self) -> str:
        """A few words for the progress bar and the log lines, e.g. 'val 0.41 nats, accuracy 81.2%'."""
        extra = "".join(f", {k} {100 * v:.1f}%" for k, v in self.metrics.items() if isinstance(v, float))
        return f"val {self.loss:.3f} nats{extra}"


class Task(ABC):
    """A problem the Trainer can train: model, batches, loss, evaluation, what a checkpoint records."""
    name: ClassVar[str]            # written to config.json ("lm", "classify", "tag", ...)
    unit: ClassVar[str] = "item"   # what train_loss's item count counts; metrics say "<unit>s_seen"
    model: torch.nn.Module

    @property
    @abstractmethod
    def steps_per_epoch(self) -> int:
        """Training batches in one pass over the training data."""

    @abstractmethod
    def train_loss(self, step: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, int]:
        """Forward batch `step` in training mode: (mean loss as a float32 scalar with grad, items in the batch).
        The batch must depend only on the run's seed and `step`, so that resume is exact."""

    @abstractmethod
    def evaluate(self, device: torch.device, dtype: torch.dtype,
                 on_progress: Callable[[float], None] | None = None) -> Evaluation:
        """Score the validation split (model in eval mode, no grad); on_progress(fraction) as it goes."""

    def estimate_eval_seconds(self, device: torch.device, dtype: torch.dtype) -> float:
        """Seconds one evaluate() will take, measured without drawing random numbers (0 if cheap)."""
        return 0.0

    def checkpoint_sections(self) -> dict:
        """config.json sections besides train/data/metrics, e.g. {"model": ..., "vocab": ...}."""
        return {"model": self.model.cfg.to_dict()}

    def state_dict(self) -> dict:
        """What resume needs beyond weights and optimizer, e.g. a carried hidden state."""
        return {}

    def load_state_dict(self, d: dict) -> None:
        pass

    def share_state(self) -> None:
        """Distributed (every rank, before rank 0 checkpoints): gather what state_dict() holds per rank."""
