"""Image captioning as a task: the attention LSTM trained by teacher forcing on rendered scenes.

    batch k = images EpochPlan(seed).indices(k), one caption each drawn from Generator([seed, k])
      ──▶ Captioner(images, <s> y)  ──▶  cross-entropy per word (</s> included)
    evaluate: val loss (teacher forced on each image's first caption) + greedy captions
      ──▶ exact match, attribute accuracy, BLEU-4

best/ keeps the checkpoint of the highest validation exact match (ties: the lower loss). The held-out
scenes (test) and held-out combinations are scored only at the end and by `caption eval`, never for selection.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..device import autocast
from ..models.caption_decoder import Captioner
from .base import Evaluation, Task
from .batches import EpochPlan
from .caption_config import CaptionConfig
from .caption_data import PAD, Split, Vocab, teacher_batch
from .caption_decode import describe_images, score_captions

EVAL_BATCH = 256


@dataclass
class CaptionEvaluation(Evaluation):
    """loss: nats per word; metrics: exact_match, attribute_accuracy (fractions), bleu4 (0-100)."""

    @property
    def objective(self) -> float:
        return (1.0 - self.metrics["exact_match"]) + 1e-6 * self.loss

    def summary(self) -> str:
        m = self.metrics
        return (f"val {self.loss:.3f} nats/word, exact {100 * m['exact_match']:.1f}%, attributes "
                f"{100 * m['attribute_accuracy']:.1f}%, BLEU-4 {m['bleu4']:.1f}")


def word_loss(model: Captioner, images: torch.Tensor, tokens_in: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per target word (padding left out), float32."""
    logits, _ = model(images, tokens_in)                                       # (B, T, V)
    return F.cross_entropy(logits.float().transpose(1, 2), targets, ignore_index=PAD)


@torch.no_grad()
def split_loss(model: Captioner, split: Split, vocab: Vocab, device, dtype) -> float:
    """Nats per word of each image's first caption under teacher forcing."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(split), EVAL_BATCH):
        inp, tgt = teacher_batch(vocab, [c[0] for c in split.captions[start:start + EVAL_BATCH]])
        images = torch.from_numpy(split.images[start:start + EVAL_BATCH]).to(device)
        tgt_t = torch.from_numpy(tgt).to(device)
        with autocast(device, dtype):
            loss = word_loss(model, images, torch.from_numpy(inp).to(device), tgt_t)
        n = int((tgt_t != PAD).sum())
        total, count = total + float(loss) * n, count + n
    model.train(was_training)
    return total / max(count, 1)


def evaluate_split(model: Captioner, split: Split, vocab: Vocab, device, dtype=torch.float32, beam: int = 1,
                   max_len: int = 30, on_progress=None) -> tuple[CaptionEvaluation, list]:
    """(the scores of a split, its captions)."""
    found = describe_images(model, split.images, vocab, device, beam, max_len, dtype, on_progress=on_progress)
    scores = score_captions([c.text for c in found], split)
    loss = split_loss(model, split, vocab, device, dtype)
    return CaptionEvaluation(loss=loss, n=len(split), metrics={k: v for k, v in scores.items() if k != "n"}), found


class CaptionTask(Task):
    """Captioning on the training split, scored on the validation split (see the module docstring)."""
    name = "caption"
    unit = "image"

    def __init__(self, cfg: CaptionConfig, vocab: Vocab, train: Split, val: Split, model: Captioner | None = None):
        self.cfg, self.vocab, self.train, self.val = cfg, vocab, train, val
        self.model = model if model is not None else Captioner(cfg.model_config(vocab))
        self.plan = EpochPlan(np.zeros(len(train)), cfg.batch_size, cfg.seed, mode="shuffle")

    @property
    def steps_per_epoch(self) -> int:
        return self.plan.steps_per_epoch

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(images (B, H, W, 3) uint8, inputs (B, T), targets (B, T)) of training step `step`."""
        index = self.plan.indices(step)
        rng = np.random.default_rng([self.cfg.seed, step])
        chosen = [self.train.captions[i][int(rng.integers(len(self.train.captions[i])))] for i in index]
        return (self.train.images[index], *teacher_batch(self.vocab, chosen))

    def train_loss(self, step: int, device, dtype) -> tuple[torch.Tensor, int]:
        images, inp, tgt = (torch.from_numpy(x).to(device) for x in self.batch(step))
        with autocast(device, dtype):
            loss = word_loss(self.model, images, inp, tgt)
        return loss, len(images)

    def evaluate(self, device, dtype, on_progress=None) -> CaptionEvaluation:
        return evaluate_split(self.model, self.val, self.vocab, device, dtype, 1, self.cfg.max_len, on_progress)[0]

    def estimate_eval_seconds(self, device, dtype) -> float:
        """Time the greedy captions of the first 256 validation images and scale (the loss pass included)."""
        n = min(len(self.val), EVAL_BATCH)
        start = time.perf_counter()
        describe_images(self.model, self.val.images[:n], self.vocab, device, 1, self.cfg.max_len, dtype)
        return 1.5 * (time.perf_counter() - start) * len(self.val) / max(n, 1)

    def checkpoint_sections(self) -> dict:
        return {"model": self.model.cfg.to_dict(), "vocab": self.vocab.to_dict()}

