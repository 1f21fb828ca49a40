"""Learning-rate schedules: linear warmup, then constant or cosine decay over a horizon in steps.

The horizon is fixed when the budget is steps (--max-steps, --max-epochs, or --lr-decay-steps):
the same seed then gives the same weights on any machine. When a time budget (--max-minutes)
may end the run first, the trainer fits the horizon to the steps that fit in the time left
(`fit_horizon`), so the learning rate still reaches its floor when the time is up.
"""
from __future__ import annotations

import math

from .config import TrainConfig

DEFAULT_HORIZON = 1100   # the default step budget; shorter step-budget runs decay over it (see decay_horizon)


def step_budget(cfg: TrainConfig, steps_per_epoch: int | None = None) -> int | None:
    """The run's last step under --max-steps and --max-epochs (the smaller), None when neither is set."""
    budgets = [cfg.max_steps] if cfg.max_steps is not None else []
    if getattr(cfg, "max_epochs", None) is not None and steps_per_epoch:
        budgets.append(max(1, math.ceil(cfg.max_epochs * steps_per_epoch)))
    return min(budgets) if budgets else None


def decay_horizon(cfg: TrainConfig, steps_per_epoch: int | None = None) -> int | None:
    """The fixed cosine horizon: --lr-decay-steps, else max(step budget, cfg.MIN_HORIZON).

    A language model's MIN_HORIZON is its default budget (1,100 steps): shorter and resumed
    step-budget runs with the same settings thus follow the same schedule, so 'train N, resume to
    2N' equals 'train 2N'. Other tasks decay over their own budget. None when no step budget is set.
    """
    if cfg.lr_decay_steps:
        return cfg.lr_decay_steps
    steps = step_budget(cfg, steps_per_epoch)
    return None if steps is None else max(steps, getattr(cfg, "MIN_HORIZON", DEFAULT_HORIZON))


def horizon_follows_time(cfg: TrainConfig) -> bool:
    """True when the trainer fits the cosine horizon to the time budget (no explicit --lr-decay-steps)."""
    return cfg.max_minutes is not None and not cfg.lr_decay_steps and cfg.lr_schedule == "cosine"


def fit_horizon(step: int, seconds_left: float, seconds_per_step: float, seconds_per_eval: float,
                eval_every: int, cap: int | None) -> int:
    """The last step that fits in `seconds_left`, counting the evaluations on the way and the final one.

    Solves (N - step) * s_step + ((N - step) / eval_every + 1) * s_eval = seconds_left for N,
    then bounds it: never below step + 1, never above `cap` (the step budget's horizon).
    """
    per_step = seconds_per_step + seconds_per_eval / eval_every      # an evaluation's cost spread over its steps
    fits = step + int((seconds_left - seconds_per_eval) / per_step) if per_step > 0 else step + 1
    if cap is not None:
        fits = min(fits, cap)
    return max(step + 1, fits)


def lr_factor(cfg: TrainConfig, step: int, horizon: int | None = None) -> float:
    """Multiplier of the base LR at `step` (0-based): warmup, then cosine from 1 to --min-lr-frac at `horizon`.

    `horizon` defaults to the fixed decay_horizon(cfg); the trainer passes the fitted one for time budgets.
    """
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "constant":
        return 1.0
    horizon = horizon or decay_horizon(cfg) or DEFAULT_HORIZON
    progress = (step - cfg.warmup_steps) / max(1, horizon - cfg.warmup_steps)
    progress = min(max(progress, 0.0), 1.0)
    return cfg.min_lr_frac + (1.0 - cfg.min_lr_frac) * 0.5 * (1.0 + math.cos(math.pi * progress))
