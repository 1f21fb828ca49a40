"""Sequence tagging as a task: a tag for every word (named entities, part-of-speech tags, chunks).

    batch k = sentences EpochPlan(seed).indices(k)  ──▶  Tagger  ──▶  nats per sentence (CRF or token CE)
    evaluate: decode the validation split  ──▶  entities.score  ──▶  accuracy, entity P/R/F1, per type

best/ keeps the checkpoint with the lowest objective: 1 - entity F1 for tag sets with B-/I-/E-/S-
prefixes (model selection on the validation F1, as the CoNLL and WNUT evaluations are scored), the
validation loss for plain tag sets (part-of-speech tags), whose per-token accuracy it tracks.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from .. import distributed
from ..device import autocast
from ..errors import require
from ..models.char_features import CharConfig
from ..models.crf import bio_constraints
from ..models.tagger import Tagger, TaggerConfig
from ..text.conll import Tagged
from .base import Evaluation, Task
from .batches import EpochPlan, eval_batches
from .entities import is_chunked, score
from .tag_config import TagConfig
from .tag_data import Encoded, TagBatch, Vocabs, encode, make_batch

EVAL_BATCH = 128


def build_tagger(cfg: TaggerConfig, vocabs: Vocabs) -> Tagger:
    """The tagger for these vocabularies (BIO constraints for a CRF over a BIO tag set)."""
    return Tagger(cfg, bio_constraints(vocabs.tags.names))


@dataclass
class TagEvaluation(Evaluation):
    """Validation scores: loss in nats per sentence; accuracy, precision, recall, f1 (entity-level for
    chunked tag sets, macro per-tag for plain ones) in `metrics`; per_type beside them."""
    chunked: bool = True
    per_type: dict = field(default_factory=dict)

    @property
    def objective(self) -> float:
        return 1.0 - self.metrics["f1"] if self.chunked else self.loss

    @property
    def finite(self) -> bool:
        return math.isfinite(self.loss) and all(math.isfinite(v) for v in self.metrics.values())

    def summary(self) -> str:
        m = self.metrics
        bias = f" (O offset {m['o_bias']:g})" if m.get("o_bias") else ""
        return (f"val {self.loss:.2f} nats/sentence, accuracy {100 * m['accuracy']:.1f}%, "
                f"P {100 * m['precision']:.1f} R {100 * m['recall']:.1f} F1 {100 * m['f1']:.1f}{bias}")


BIAS_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)   # O-score offsets tried on the validation split


def _scored(model: Tagger, data: Encoded, device: torch.device, dtype: torch.dtype, on_progress=None):
    """Emission scores of every batch of a split, (batch, scores (B, T, K), mask), and the summed loss."""
    was_training = model.training
    model.eval()
    out, total = [], 0.0
    batches = eval_batches(data.lengths, EVAL_BATCH)
    with torch.no_grad():
        for k, index in enumerate(batches):
            batch = make_batch(data, index).to(device)
            with autocast(device, dtype):
                scores, mask = model.emissions(batch)                                  # (B, T, K)
            scores = scores.float()
            if data.tags is not None:
                if model.crf is not None:
                    total += float(model.crf.nll(scores, batch.tags, mask).sum())
                else:
                    ce = torch.nn.functional.cross_entropy(scores.transpose(1, 2), batch.tags, reduction="none")
                    total += float((ce * mask).sum())
            out.append((batch, scores, mask))
            if on_progress is not None:
                on_progress((k + 1) / len(batches))
    model.train(was_training)
    return out, (total if data.tags is not None else float("nan"))


def _decode(model: Tagger, scored, n: int, tag_names: list[str], bias: float) -> list[list[str]]:
    pred: list = [None] * n
    with torch.no_grad():
        for batch, scores, mask in scored:
            for i, ids in zip(batch.index, model.decode(batch, scores, mask, bias)):
                pred[i] = [tag_names[j] for j in ids]
    return pred


def tag_split(model: Tagger, data: Encoded, tag_names: list[str], device: torch.device,
              dtype: torch.dtype = torch.float32, on_progress: Callable[[float], None] | None = None):
    """(predicted tag names per sentence, summed loss or nan when the split has no tags), model in eval mode."""
    scored, total = _scored(model, data, device, dtype, on_progress)
    return _decode(model, scored, len(data), tag_names, float(model.o_bias)), total


def evaluate_split(model: Tagger, data: Encoded, gold: list[list[str]], tag_names: list[str],
                   device: torch.device, dtype: torch.dtype = torch.float32, chunked: bool | None = None,
                   on_progress=None, tune: bool = False) -> TagEvaluation:
    """Tag a split and score it against its gold tags. tune: try the O offsets of BIAS_GRID (entity tag
    sets only), keep the one of the best F1 in model.o_bias (saved with the weights) and report its scores."""
    chunked = is_chunked(tag_names) if chunked is None else chunked
    scored, total = _scored(model, data, device, dtype, on_progress)
    grid = BIAS_GRID if tune and chunked and model.cfg.outside >= 0 else (float(model.o_bias),)
    best = None
    for bias in grid:
        s = score(gold, _decode(model, scored, len(data), tag_names, bias), chunked)
        if best is None or s["f1"] > best[1]["f1"]:
            best = (bias, s)
    bias, s = best
    if tune:
        model.o_bias.fill_(bias)
    metrics = {k: s[k] for k in ("accuracy", "precision", "recall", "f1")}
    if model.cfg.outside >= 0:
        metrics["o_bias"] = bias
    return TagEvaluation(loss=total / max(len(data), 1), n=len(data), metrics=metrics, chunked=chunked,
                         per_type=s["per_type"])


class TagTask(Task):
    """Tagging on a training split, scored on a validation split (see the module docstring)."""
    name = "tag"
    unit = "sentence"
    loss_methods = ("sentence_losses",)      # called through DDP under torchrun (replica.py)

    def __init__(self, cfg: TagConfig, vocabs: Vocabs, train: Tagged, val: Tagged, model: Tagger | None = None):
        self.cfg, self.vocabs = cfg, vocabs
        self.train_data = encode(train.tokens, vocabs, model.cfg.chars.max_len if model else CharConfig.max_len,
                                 train.tags, train.path)
        self.model = model if model is not None else build_tagger(cfg.tagger_config(vocabs), vocabs)
        self.val_gold = val.tags
        self.val_data = encode(val.tokens, vocabs, self.model.cfg.chars.max_len, val.tags, val.path or "the validation data")
        self.chunked = is_chunked(vocabs.tags.names)
        self.plan = EpochPlan(self.train_data.lengths, cfg.batch_size * distributed.world_size(), cfg.seed)   # shared

    @property
    def steps_per_epoch(self) -> int:
        return self.plan.steps_per_epoch

    def batch(self, step: int) -> TagBatch:
        return make_batch(self.train_data, distributed.share_of_batch(self.plan.indices(step)))

    def train_loss(self, step: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, int]:
        if step > 0 and self.model.cfg.average:     # the weights after update step - 1 join the average
            self.model.update_average(step)
        batch = self.batch(step).to(device)
        with autocast(device, dtype):
            losses = self.model.sentence_losses(batch)                                 # (B,)
        loss = distributed.share_weighted(losses.float().mean(), len(batch.index), len(self.plan.indices(step)))
        return loss, len(batch.index)

    def evaluate(self, device, dtype, on_progress=None) -> TagEvaluation:
        with self.model.averaged_weights():
            return evaluate_split(self.model, self.val_data, self.val_gold, self.vocabs.tags.names, device, dtype,
                                  self.chunked, on_progress, tune=not self.cfg.no_o_bias)

    def estimate_eval_seconds(self, device, dtype) -> float:
        """Time the tagging of the first 128 validation sentences (no random numbers drawn) and scale."""
        n = min(len(self.val_data), EVAL_BATCH)
        sub = Encoded(*(x[:n] if x is not None else None for x in dataclasses.astuple(self.val_data)))
        start = time.perf_counter()
        tag_split(self.model, sub, self.vocabs.tags.names, device, dtype)
        return (time.perf_counter() - start) * len(self.val_data) / max(n, 1)

    def checkpoint_sections(self) -> dict:
        return {"model": self.model.cfg.to_dict(), "vocab": self.vocabs.to_dict()}


def split_off_validation(train: Tagged, frac: float = 0.1) -> tuple[Tagged, Tagged]:
    """The last `frac` of a file's sentences as validation (no --val given)."""
    require(len(train) >= 2, f"{train.path} has {len(train)} sentence, too few to hold some out for validation",
            "give more sentences or a --val file")
    cut = len(train) - max(1, int(round(frac * len(train))))
    return (Tagged(train.tokens[:cut], train.tags[:cut], train.path),
            Tagged(train.tokens[cut:], train.tags[cut:], train.path + " (last 10%)"))
