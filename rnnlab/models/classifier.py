"""Classifier: tokens -> Encoder -> Pooling -> dropout -> linear head -> class logits (B, C)."""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from ..errors import require
from .encoder import Encoder, EncoderConfig
from .pooling import Pooling


@dataclass
class ClassifierConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    pool: tuple = ("max", "mean")
    n_classes: int = 2
    head_dropout: float = 0.5       # dropout on the pooled vector

    def to_dict(self) -> dict:
        return {"encoder": self.encoder.to_dict(), "pool": list(self.pool), "n_classes": self.n_classes,
                "head_dropout": self.head_dropout}

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        require(isinstance(d, dict) and isinstance(d.get("encoder"), dict), "the run's model config is damaged",
                "use a run written by rnnlab classify train")
        return cls(EncoderConfig.from_dict(d["encoder"]), tuple(d.get("pool", ("max", "mean"))),
                   int(d.get("n_classes", 2)), float(d.get("head_dropout", 0.5)))


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

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        enc = self.encoder(tokens, lengths)                                  # outputs (B, T, D), last (B, D)
        pooled = self.pool(enc.outputs, enc.mask, enc.last)                  # (B, K * D)
        return self.head(self.drop(pooled))                                  # (B, C)
