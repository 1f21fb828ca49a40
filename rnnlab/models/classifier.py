"""Classifier: tokens -> Encoder -> Pooling -> dropout -> linear head -> class logits (B, C).

With `ngrams` > 0 the logits also get a linear bag-of-n-grams term (a "wide and deep" model):

    logits = W_head . dropout(pool(encoder(tokens))) + s * sum_{g in grams} w_g / sqrt(|grams|)      (B, C)

w_g is one C-vector per word 1..n-gram of the training split (an nn.EmbeddingBag of width C, zero at the
start): logistic regression over the sentence's n-grams, trained jointly with the recurrent model by the
same loss. The scale s = 10 lets Adam move the n-gram term 10x faster than the recurrent weights (on
rt-polarity the term alone then reaches 79.8% on a fold where s = 1 gives 73.1%).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ..errors import require
from ..text.label_vocab import PAD
from .encoder import Encoder, EncoderConfig
from .pooling import Pooling


@dataclass
class ClassifierConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    pool: tuple = ("max", "mean")
    n_classes: int = 2
    head_dropout: float = 0.5       # dropout on the pooled vector
    ngram_vocab: int = 0            # rows of the bag-of-n-grams term (0: no such term)
    ngram_dropout: float = 0.0      # fraction of a training sentence's n-grams dropped
    ngram_scale: float = 10.0       # s in the module docstring

    def to_dict(self) -> dict:
        return {"encoder": self.encoder.to_dict(), "pool": list(self.pool), "n_classes": self.n_classes,
                "head_dropout": self.head_dropout, "ngram_vocab": self.ngram_vocab, "ngram_dropout": self.ngram_dropout,
                "ngram_scale": self.ngram_scale}

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        require(isinstance(d, dict) and isinstance(d.get("encoder"), dict), "the run's model config is damaged",
                "use a run written by rnnlab classify train")
        return cls(EncoderConfig.from_dict(d["encoder"]), tuple(d.get("pool", ("max", "mean"))),
                   int(d.get("n_classes", 2)), float(d.get("head_dropout", 0.5)), int(d.get("ngram_vocab", 0)),
                   float(d.get("ngram_dropout", 0.0)), float(d.get("ngram_scale", 10.0)))


class Classifier(nn.Module):
    """forward(tokens (B, T), lengths (B,)) -> logits (B, C)."""

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        require(0.0 <= cfg.head_dropout < 1.0, f"--head-dropout must be in [0, 1), got {cfg.head_dropout}",
                "pass e.g. --head-dropout 0.5")
        self.cfg = cfg
        self.encoder = Encoder(cfg.encoder)
        self.pool = Pooling(cfg.pool, cfg.encoder.output_size)
        self.drop = nn.Dropout(cfg.head_dropout)
        self.head = nn.Linear(self.pool.output_size, cfg.n_classes)
        self.ngrams = None
        if cfg.ngram_vocab:
            self.ngrams = nn.EmbeddingBag(cfg.ngram_vocab, cfg.n_classes, mode="sum", padding_idx=PAD)
            nn.init.zeros_(self.ngrams.weight)

    def forward(self, tokens: Tensor, lengths: Tensor, grams: Tensor | None = None) -> Tensor:
        """tokens (B, T), lengths (B,), grams (B, G) n-gram ids padded with PAD (when cfg.ngram_vocab)."""
        enc = self.encoder(tokens, lengths)                                  # outputs (B, T, D), last (B, D)
        pooled = self.pool(enc.outputs, enc.mask, enc.last)                  # (B, K * D)
        logits = self.head(self.drop(pooled))                                # (B, C)
        if self.ngrams is not None and grams is not None:
            if self.training and self.cfg.ngram_dropout > 0:
                drop = torch.rand(grams.shape, device=grams.device) < self.cfg.ngram_dropout
                grams = grams.masked_fill(drop, PAD)                         # (B, G)
            count = (grams != PAD).sum(1, keepdim=True).clamp_min(1)         # (B, 1)
            weights = (1.0 / count.to(logits.dtype).sqrt()).expand(grams.shape).contiguous()  # (B, G)
            logits = logits + self.cfg.ngram_scale * self.ngrams(grams, per_sample_weights=weights)   # (B, C)
        return logits
