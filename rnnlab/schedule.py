"""Learning-rate schedules as pure functions of progress: linear warmup, then constant or cosine decay."""
from __future__ import annotations

import math

from .config import TrainConfig


def decay_horizon(cfg: TrainConfig) -> int | None:
    """Steps over which cosine decays: --lr-decay-steps, else max(--max-steps, the default budget).

    Short and resumed runs with the same settings thus follow the same schedule, so
    'train N, resume to 2N' equals 'train 2N'. None means the horizon is the time budget.
    """
    if cfg.lr_decay_steps:
        return cfg.lr_decay_steps
    if cfg.max_steps is None:
        return None
    return max(cfg.max_steps, TrainConfig().max_steps)


def lr_factor(cfg: TrainConfig, step: int, time_frac: float = 0.0) -> float:
    """Multiplier of the base LR at `step` (0-based).

    time_frac is the used fraction of --max-minutes: when a run has both budgets, cosine
    follows whichever is further along, so a slow machine still anneals before the time cap.
    """
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "constant":
        return 1.0
    horizon = decay_horizon(cfg)
    progress = time_frac if cfg.max_minutes else 0.0   # with a time budget, anneal by whichever ends first
    if horizon is not None:
        progress = max(progress, (step - cfg.warmup_steps) / max(1, horizon - cfg.warmup_steps))
    progress = min(max(progress, 0.0), 1.0)
    return cfg.min_lr_frac + (1.0 - cfg.min_lr_frac) * 0.5 * (1.0 + math.cos(math.pi * progress))
