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

    time_frac is the used fraction of --max-minutes; it sets the progress only when the
    run has no step budget. With a step budget the schedule depends on the step alone, so
    the same seed gives the same weights on any machine (--max-minutes then only caps).
    """
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "constant":
        return 1.0
    horizon = decay_horizon(cfg)
    if horizon is None:                                   # the budget is time alone: anneal over it
        progress = time_frac
    else:                                                 # steps: deterministic, whatever the machine's speed
        progress = (step - cfg.warmup_steps) / max(1, horizon - cfg.warmup_steps)
    progress = min(max(progress, 0.0), 1.0)
    return cfg.min_lr_frac + (1.0 - cfg.min_lr_frac) * 0.5 * (1.0 + math.cos(math.pi * progress))
