"""The default recipe, chosen from a quick measurement when the time budget binds.

`rnnlab train` with no model flags trains a 2x512 LSTM for 1,100 steps or 10 minutes. Where a
step is slower (no AMX: AVX-512 BF16; no bfloat16 at all: float32 on AVX2), 10 minutes hold
fewer steps, and what trains best in them differs (measured: README table). So the default
times two steps of the 2x512 LSTM and picks the recipe for the steps that fit. Given any model
flag (or no time budget) nothing is measured and the model is the one asked for; a --lr other
than the default is kept.

Measured in 10 minutes on 2 cores:
- 1,100 steps fit (AMX): 2x512, dropout 0.2, lr 3e-3 reach 1.403 nats per character.
- ~750 steps (AVX-512 BF16, no AMX): dropout 0.15 and lr 4e-3 reach 1.420 at 752 steps; dropout 0.2
  and lr 3e-3 on the same 752-step schedule reach 1.436.
- ~250 steps (float32 on AVX2): the 2x512 LSTM on a 250-step schedule ends at 1.659 and a 2x256 LSTM
  (~820 steps) at 1.552, but the same 2x512 model at --batch-size 32 (the same 3.2M characters in 1,000
  smaller steps, dropout 0.1, lr 3e-3) reaches 1.453: where the budget holds few characters, more and
  smaller updates learn more from them. So the default there keeps 2x512 and takes batches of 32.
"""
from __future__ import annotations

import time

import torch

from .config import ModelConfig, TrainConfig
from .models.language_model import LanguageModel
from .tasks.lm import LanguageModelTask
from .text.corpus import Corpus
from .trainer import Trainer

DEFAULT_LR = TrainConfig().lr
DEFAULT_BATCH = TrainConfig().batch_size
FULL_STEPS = 1100        # the default step budget fits: the recipe the defaults were tuned with
MIN_STEPS = 450          # fewer 2x512 steps than this: the smaller model trains better in the same minutes
FULL = (ModelConfig(), DEFAULT_LR)
SHORT = (ModelConfig(dropout=0.15), 4e-3)
SMALL_BATCHES = (ModelConfig(dropout=0.1), DEFAULT_LR)
SMALL_BATCH = 32         # --batch-size of the recipe where fewer than MIN_STEPS 2x512 steps fit
BUDGET_FOR_STEPS = 0.95  # the share of --max-minutes left to steps (evaluations, checkpoints, start-up)


def seconds_per_step(model_cfg: ModelConfig, corpus: Corpus, cfg: TrainConfig, device: torch.device,
                     dtype: torch.dtype, steps: int = 2) -> float:
    """Seconds of one Trainer step of a throwaway model (after one untimed step); draws from torch's RNG."""
    model = LanguageModel(model_cfg.replace(vocab_size=corpus.vocab.size))
    task = LanguageModelTask(model, corpus, cfg.batch_size, cfg.seq_len, cfg.tokenizer)
    trainer = Trainer(task, cfg.replace(max_steps=steps + 1, max_minutes=None), device, dtype)
    trainer.train_step()
    trainer.flush_loss()                                                      # wait for the device
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    trainer.flush_loss()
    return (time.perf_counter() - start) / steps


def choose(corpus: Corpus, cfg: TrainConfig, device: torch.device, dtype: torch.dtype,
           say) -> tuple[ModelConfig, TrainConfig]:
    """The default model, and the learning rate if cfg.lr is the default, for the steps that fit; says which."""
    if cfg.max_minutes is None:
        return FULL[0], cfg
    budget = BUDGET_FOR_STEPS * cfg.max_minutes * 60
    per_step = seconds_per_step(FULL[0], corpus, cfg, device, dtype)
    fits = int(budget / per_step)
    if fits >= min(FULL_STEPS, cfg.max_steps or FULL_STEPS):
        return FULL[0], cfg
    model_cfg, lr = SHORT if fits >= MIN_STEPS else SMALL_BATCHES
    if model_cfg is SMALL_BATCHES[0] and cfg.batch_size == DEFAULT_BATCH:      # a --batch-size given is kept
        steps = cfg.max_steps
        if steps == FULL_STEPS:            # the default step budget: the same characters in smaller steps
            steps = FULL_STEPS * DEFAULT_BATCH // SMALL_BATCH
        cfg = cfg.replace(batch_size=SMALL_BATCH, max_steps=steps)
        fits = int(budget / seconds_per_step(model_cfg, corpus, cfg, device, dtype))
    if cfg.lr == DEFAULT_LR:
        cfg = cfg.replace(lr=lr)
    say(f"rnnlab: default recipe for this machine: {model_cfg.layers}x{model_cfg.hidden} LSTM, dropout "
        f"{model_cfg.dropout:g}, --lr {cfg.lr:g}, --batch-size {cfg.batch_size} ({FULL_STEPS} steps of {DEFAULT_BATCH} "
        f"rows do not fit in {cfg.max_minutes:g} minutes here; about {fits} of these steps do); pass any model flag "
        "to choose yourself")
    return model_cfg, cfg
