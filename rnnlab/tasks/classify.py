"""Sequence classification (many-to-one) as a Task: sentences -> encoder -> pooling -> class.

    train_loss(k):  batch k of EpochPlan (bucketed by length, epoch e drawn from seed + e)
                    logits = Classifier(tokens, lengths)              (B, C)
                    loss   = mean cross-entropy(logits, y)            nats per sentence
    evaluate():     every held-out sentence once, sorted by length; metrics accuracy and macro_f1.
                    The objective best/ keeps is the validation loss (smoother than accuracy on 1,000 sentences).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .. import distributed
from ..device import autocast
from ..models.classifier import Classifier
from ..text.label_vocab import LabelSet, TokenVocab
from .base import Evaluation, Task
from .batches import EpochPlan, eval_batches, pad_batch
from .classify_data import Split


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, names: list[str]) -> dict:
    """accuracy, macro_f1, n and per-class precision / recall / f1 / support (f1 of a class never predicted
    and never present is left out of the macro mean)."""
    per_class, f1s = {}, []
    for c, name in enumerate(names):
        tp = int(np.sum((y_pred == c) & (y_true == c)))
        pred, true = int(np.sum(y_pred == c)), int(np.sum(y_true == c))
        p = tp / pred if pred else 0.0
        r = tp / true if true else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_class[name] = {"precision": p, "recall": r, "f1": f1, "support": true}
        if pred or true:
            f1s.append(f1)
    n = int(len(y_true))
    return {"accuracy": float(np.mean(y_true == y_pred)) if n else 0.0,
            "macro_f1": float(np.mean(f1s)) if f1s else 0.0, "n": n, "per_class": per_class}


@dataclass
class ClassifyEvaluation(Evaluation):
    """Validation loss (nats per sentence) with accuracy and macro F1; per_class stays out of metrics.jsonl."""
    per_class: dict = field(default_factory=dict)


def gram_batch(grams: list[np.ndarray] | None, index: np.ndarray) -> torch.Tensor | None:
    """(B, G) n-gram ids of the sentences at `index`, padded with PAD (None without n-grams)."""
    if grams is None:
        return None
    return pad_batch([grams[i] for i in index]).tokens                     # (B, G)


@torch.no_grad()
def predict_proba(model: Classifier, ids: list[np.ndarray], device: torch.device, dtype: torch.dtype = torch.float32,
                  batch_size: int = 256, on_progress: Callable[[float], None] | None = None,
                  grams: list[np.ndarray] | None = None) -> np.ndarray:
    """(N, C) class probabilities of id sequences (and their n-gram ids), in their order (eval mode, batches
    sorted by length)."""
    was_training = model.training
    model.eval()
    lengths = np.array([max(len(s), 1) for s in ids])
    probs = np.zeros((len(ids), model.cfg.n_classes), dtype=np.float64)
    batches = eval_batches(lengths, batch_size)
    for j, index in enumerate(batches):
        batch = pad_batch([ids[i] for i in index], index).to(device)
        with autocast(device, dtype):
            g = gram_batch(grams, index)
            logits = model(batch.tokens, batch.lengths, None if g is None else g.to(device))   # (B, C)
        probs[index] = logits.float().softmax(-1).cpu().numpy()
        if on_progress:
            on_progress((j + 1) / len(batches))
    model.train(was_training)
    return probs


def score(model: Classifier, split: Split, names: list[str], device: torch.device, dtype: torch.dtype = torch.float32,
          batch_size: int = 256, on_progress=None) -> ClassifyEvaluation:
    """Loss, accuracy, macro F1 and per-class figures of `model` on a split."""
    probs = predict_proba(model, split.ids, device, dtype, batch_size, on_progress, split.grams)
    picked = probs[np.arange(len(split)), split.y]
    loss = float(-np.mean(np.log(np.maximum(picked, 1e-45))))
    m = classification_metrics(split.y, probs.argmax(1), names)
    return ClassifyEvaluation(loss, m["n"], {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}, m["per_class"])


class ClassifyTask(Task):
    """A Classifier trained on `train`, scored on `val`; batch k depends only on (seed, k)."""
    name = "classify"
    unit = "sentence"

    def __init__(self, model: Classifier, train: Split, val: Split, vocab: TokenVocab, labels: LabelSet,
                 batch_size: int = 32, seed: int = 0, batching: str = "bucket", label_smoothing: float = 0.0,
                 gram_vocab: TokenVocab | None = None):
        self.model, self.train, self.val, self.vocab, self.labels = model, train, val, vocab, labels
        self.gram_vocab = gram_vocab
        self.batch_size, self.seed, self.batching, self.label_smoothing = batch_size, seed, batching, label_smoothing
        self.plan = EpochPlan(train.lengths, batch_size * distributed.world_size(), seed,   # W ranks share a batch
                              mode="shuffle" if batching == "pad-max" else batching)
        self.pad_width = int(max(train.lengths.max(), 1)) if batching == "pad-max" else None
        self._y = torch.from_numpy(train.y)

    @property
    def steps_per_epoch(self) -> int:
        return self.plan.steps_per_epoch

    def batch(self, step: int):
        index = distributed.share_of_batch(self.plan.indices(step))
        return pad_batch([self.train.ids[i] for i in index], index, width=self.pad_width)

    def train_loss(self, step: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, int]:
        batch = self.batch(step).to(device)
        g = gram_batch(self.train.grams, batch.index)
        with autocast(device, dtype):
            logits = self.model(batch.tokens, batch.lengths, None if g is None else g.to(device))   # (B, C)
        y = self._y[batch.index].to(device)                                     # (B,)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=self.label_smoothing)
        return distributed.share_weighted(loss, len(batch.index), len(self.plan.indices(step))), len(batch.index)

    def evaluate(self, device: torch.device, dtype: torch.dtype, on_progress=None) -> ClassifyEvaluation:
        return score(self.model, self.val, self.labels.names, device, dtype, on_progress=on_progress)

    def checkpoint_sections(self) -> dict:
        sections = {"task": self.name, "model": self.model.cfg.to_dict(), "vocab": self.vocab.to_dict(),
                    "labels": self.labels.to_dict()}
        if self.gram_vocab is not None:
            sections["ngrams"] = self.gram_vocab.to_dict()
        return sections
