"""Translation as a task: an encoder-decoder with attention trained by teacher forcing on sentence pairs.

    batch k = pairs EpochPlan(seed).indices(k)  ──▶  Seq2Seq(src, BOS y)  ──▶  cross-entropy per target token
    evaluate: validation loss (teacher forced, no smoothing)  +  greedy translations  ──▶  BLEU, chrF

best/ keeps the checkpoint of the highest validation BLEU (greedy); the final test score uses beam search.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from ..device import autocast
from ..models.seq2seq import Seq2Seq, token_losses
from .base import Evaluation, Task
from .batches import EpochPlan, eval_batches
from .translate_config import TranslateConfig
from .translate_data import Encoded, Vocabs, encode, make_batch
from .translate_decode import bleu_chrf, translate_encoded
from .translate_text import Parallel

EVAL_BATCH = 128


@dataclass
class TranslateEvaluation(Evaluation):
    """loss: nats per target token (EOS included); metrics: bleu, chrf (0-100), perplexity. Objective -BLEU."""

    @property
    def objective(self) -> float:
        return -self.metrics["bleu"]

    @property
    def finite(self) -> bool:
        return math.isfinite(self.loss)

    def summary(self) -> str:
        m = self.metrics
        return f"val {self.loss:.3f} nats/token (ppl {m['perplexity']:.1f}), BLEU {m['bleu']:.2f}, chrF {m['chrf']:.1f}"


@torch.no_grad()
def split_loss(model: Seq2Seq, data: Encoded, device, dtype, on_progress=None) -> tuple[float, int]:
    """(nats per target token, tokens) of a split under teacher forcing, no label smoothing."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    batches = eval_batches(data.src_lengths, EVAL_BATCH)
    for k, index in enumerate(batches):
        b = make_batch(data, index).to(device)
        with autocast(device, dtype):
            logits, _ = model(b.src.tokens, b.src.lengths, b.tgt_in)           # (B, T, V)
        losses = token_losses(logits, b.tgt_out)                              # (B, T)
        total += float(losses.sum())
        count += int((b.tgt_out != 0).sum())
        if on_progress is not None:
            on_progress((k + 1) / len(batches))
    model.train(was_training)
    return total / max(count, 1), count


def evaluate_split(model: Seq2Seq, data: Encoded, vocabs: Vocabs, device, dtype=torch.float32, beam: int = 1,
                   ratio: float = 2.0, on_progress=None) -> tuple[TranslateEvaluation, list]:
    """Loss, BLEU and chrF of a split (translations by greedy search, or beam search with beam > 1)."""
    def part(lo, hi):
        return None if on_progress is None else (lambda f: on_progress(lo + (hi - lo) * f))
    loss, _ = split_loss(model, data, device, dtype, part(0.0, 0.2))
    out = translate_encoded(model, data, vocabs, device, beam, ratio, dtype, on_progress=part(0.2, 1.0))
    scores = bleu_chrf([t.text for t in out], data.refs)
    metrics = {"bleu": scores["bleu"], "chrf": scores["chrf"], "perplexity": math.exp(min(loss, 50.0))}
    return TranslateEvaluation(loss=loss, n=len(data), metrics=metrics), out


class TranslateTask(Task):
    """Sentence-pair translation on a training split, scored on a validation split."""
    name = "translate"
    unit = "sentence"

    def __init__(self, cfg: TranslateConfig, vocabs: Vocabs, train: Parallel, val: Parallel,
                 model: Seq2Seq | None = None):
        self.cfg, self.vocabs = cfg, vocabs
        self.train_data = encode(train, vocabs)
        self.val_data = encode(val, vocabs)
        self.model = model if model is not None else Seq2Seq(cfg.model_config(vocabs))
        self.plan = EpochPlan(self.train_data.src_lengths, cfg.batch_size, cfg.seed)

    @property
    def steps_per_epoch(self) -> int:
        return self.plan.steps_per_epoch

    def train_loss(self, step: int, device, dtype) -> tuple[torch.Tensor, int]:
        b = make_batch(self.train_data, self.plan.indices(step)).to(device)
        with autocast(device, dtype):
            logits, _ = self.model(b.src.tokens, b.src.lengths, b.tgt_in)     # (B, T, V)
        losses = token_losses(logits, b.tgt_out, self.cfg.label_smoothing)    # (B, T)
        return losses.sum() / (b.tgt_out != 0).sum(), len(b.index)            # mean per target token

    def evaluate(self, device, dtype, on_progress=None) -> TranslateEvaluation:
        return evaluate_split(self.model, self.val_data, self.vocabs, device, dtype, 1, self.cfg.max_len_ratio,
                              on_progress)[0]

    def estimate_eval_seconds(self, device, dtype) -> float:
        """Time the loss and greedy translation of the first 128 validation sentences and scale."""
        n = min(len(self.val_data), EVAL_BATCH)
        start = time.perf_counter()
        evaluate_split(self.model, self.val_data.subset(n), self.vocabs, device, dtype, 1, self.cfg.max_len_ratio)
        return (time.perf_counter() - start) * len(self.val_data) / max(n, 1)

    def checkpoint_sections(self) -> dict:
        return {"model": self.model.cfg.to_dict(), "vocab": self.vocabs.to_dict()}
