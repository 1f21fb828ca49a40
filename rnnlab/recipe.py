"""The default model on a slow machine: chosen from a quick measurement when the time budget binds.

`rnnlab train` with no model flags trains a 2x512 LSTM for 1,100 steps or 10 minutes. Where a
step is slow (no bfloat16 hardware: float32 on AVX2), 10 minutes hold too few steps for that
model; a smaller one that fits more steps ends lower in the same time (measured: README table).
So the default times two steps of each candidate, largest first, and keeps the first that fits
MIN_STEPS steps in the budget. Given --hidden, --layers, ... (or a step budget alone) nothing is
measured and the model is the one asked for.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .config import ModelConfig, TrainConfig
from .device import autocast
from .models.language_model import LanguageModel
from .text.corpus import Corpus
from .text.stream import TokenStream

CANDIDATES = (ModelConfig(), ModelConfig(hidden=256, dropout=0.1))   # largest first
# Below this many steps in the budget the smaller candidate trains better. Measured in 10 minutes (README):
# 2x512 at 613 steps ended at 1.448 nats, 2x384 at 1,072 steps at 1.458, so the larger model still wins
# at ~600 steps; at the ~250 steps of float32 on AVX2 2x256 (~800 steps) wins.
MIN_STEPS = 450
BUDGET_FOR_STEPS = 0.95  # the share of --max-minutes left to steps (evaluations, checkpoints, start-up)


def seconds_per_step(model_cfg: ModelConfig, corpus: Corpus, cfg: TrainConfig, device: torch.device,
                     dtype: torch.dtype, steps: int = 2) -> float:
    """Seconds of one training step of a throwaway model (after one untimed step); draws from torch's RNG."""
    model = LanguageModel(model_cfg.replace(vocab_size=corpus.vocab.size)).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    stream = TokenStream(corpus.train, cfg.batch_size, cfg.seq_len)
    state = None
    for i in range(steps + 1):
        if i == 1:
            start = time.perf_counter()
        x, y = stream.batch(i, device)                                        # (B, T) each
        with autocast(device, dtype):
            logits, state = model(x, state)                                   # (B, T, V)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        state = model.detach_state(state)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        float(loss.detach())                                                  # wait for the device
    return (time.perf_counter() - start) / steps


def choose_model(corpus: Corpus, cfg: TrainConfig, device: torch.device, dtype: torch.dtype, say) -> ModelConfig:
    """The largest candidate that fits MIN_STEPS steps (or the step budget) in cfg.max_minutes; says which."""
    if cfg.max_minutes is None:
        return CANDIDATES[0]
    wanted = min(MIN_STEPS, cfg.max_steps) if cfg.max_steps else MIN_STEPS
    for model_cfg in CANDIDATES:
        per_step = seconds_per_step(model_cfg, corpus, cfg, device, dtype)
        fits = int(BUDGET_FOR_STEPS * cfg.max_minutes * 60 / per_step)
        if fits >= wanted or model_cfg is CANDIDATES[-1]:
            break
    if model_cfg is not CANDIDATES[0]:
        say(f"rnnlab: default model: {model_cfg.layers}x{model_cfg.hidden} LSTM (dropout {model_cfg.dropout:g}), "
            f"not 2x512: a step takes {per_step:.2f} s here, so about {fits} steps fit in {cfg.max_minutes:g} "
            f"minutes; pass --hidden 512 (or any model flag) to choose yourself")
    return model_cfg
