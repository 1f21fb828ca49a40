"""What callbacks see of the training loop, and what they may ask of it.

A callback is any callable `callback(event, view)` with event in start | log | eval_start |
eval_progress | eval | end. `view` is a read-only window on the loop (LoopView); the callback
returns None or a request (Stop, ScaleLR, or a list of them) that the loop carries out. A
callback with state to keep across a resume has `state_key` (an explicit name under which
trainer.pt stores it) and `state_dict()` / `load_state_dict(d)`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stop:
    """End the run after this event (the final evaluation and checkpoint follow)."""
    reason: str


@dataclass(frozen=True)
class ScaleLR:
    """Multiply the learning rate from now on by `factor` (kept in the resume state)."""
    factor: float


class LoopView:
    """Read-only view of a Trainer for callbacks: counters, losses, the last evaluation, timings."""

    def __init__(self, trainer):
        self._t = trainer

    # what is trained
    @property
    def task(self):
        return self._t.task

    @property
    def model(self):
        return self._t.task.model

    @property
    def cfg(self):
        return self._t.cfg

    @property
    def device(self):
        return self._t.device

    @property
    def unit(self) -> str:
        return self._t.task.unit

    # counters
    @property
    def step(self) -> int:
        return self._t.progress.step

    @property
    def items_seen(self) -> int:
        return self._t.progress.chars_seen

    @property
    def items_per_s(self) -> float:
        p = self._t.progress
        return p.chars_seen / p.train_seconds if p.train_seconds else 0.0

    @property
    def elapsed_s(self) -> float:
        return self._t.progress.elapsed_s

    @property
    def lr_scale(self) -> float:
        return self._t.progress.lr_scale

    def epoch(self) -> float:
        return self._t.epoch()

    # losses and evaluations
    @property
    def lr(self) -> float:
        return self._t.lr

    @property
    def train_loss(self) -> float:
        return self._t.train_loss

    @property
    def evaluation(self):
        """The last Evaluation (None before the first)."""
        return self._t.last_score

    @property
    def best(self) -> tuple[float, int]:
        """(best objective so far, its step)."""
        return self._t.progress.best_val, self._t.progress.best_step

    @property
    def improved(self) -> bool:
        return self._t.improved

    @property
    def diverged(self) -> bool:
        return self._t.diverged

    @property
    def scheduled_eval(self) -> bool:
        """False for the extra final evaluation a stop adds off the schedule."""
        return self._t.scheduled_eval

    @property
    def eval_fraction(self) -> float:
        """How far the running evaluation is (eval_progress events)."""
        return self._t.eval_fraction

    # budgets and timings
    @property
    def stop_reason(self) -> str | None:
        return self._t.stop_reason

    @property
    def stop_signal(self) -> int | None:
        return self._t.stop_signal

    def budget_spent(self) -> str | None:
        return self._t.budget_spent()

    def horizon(self) -> int:
        return self._t.horizon()

    def planned_steps(self) -> int | None:
        return self._t.planned_steps()

    def seconds_left(self) -> float | None:
        return self._t.seconds_left()

    def resume_state(self) -> dict:
        """Everything a resume needs (what the checkpointer saves as trainer.pt)."""
        return self._t.state_dict()
