"""Sequence tagger: a tag for every word.

    words (B, T) ──▶ word embedding (E) ─┐
    chars (B, T, L) ──▶ CharFeatures (F) ─┼─▶ BiLSTM encoder (2H) ──▶ dropout ──▶ linear (K) ──▶ softmax or CRF
    shapes (B, T) ──▶ shape embedding (S) ┘

The word embedding and the recurrent layers are the shared Encoder (models/encoder.py: packed sequences,
word dropout, locked and recurrent dropout); the character features and the shape embedding enter it as
its `extra_input`. Without a CRF every token is classified on its own (cross-entropy); with one the
emission scores feed the linear-chain CRF (models/crf.py), trained by -log p(y | x) and decoded by Viterbi.
Losses are summed over each sentence's tokens: nats per sentence.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import require
from .char_features import CharConfig, CharFeatures, word_features
from .crf import CRF, constrained_argmax
from .encoder import Encoder, EncoderConfig


@dataclass
class TaggerConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    chars: CharConfig = field(default_factory=CharConfig)
    num_tags: int = 0
    shapes: int = 0            # word-shape classes (0: no shape embedding)
    shape_embed: int = 8
    head_dropout: float = 0.5  # dropout on the encoder's outputs before the linear head
    crf: bool = False
    constrained: bool = True   # with a BIO tag set, decode only paths where I-X follows B-X or I-X
    outside: int = -1          # id of the O tag (entity tag sets), whose score o_bias lowers when decoding
    average: float = 0.0       # decay of the running average of the weights used to evaluate and predict; 0 off

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TaggerConfig":
        require(isinstance(d, dict) and "encoder" in d and "chars" in d, "the run's tagger settings are damaged",
                "use a run written by rnnlab tag train")
        names = {f.name for f in dataclasses.fields(cls)}
        rest = {k: v for k, v in d.items() if k in names and k not in ("encoder", "chars")}
        return cls(EncoderConfig.from_dict(d["encoder"]), CharConfig.from_dict(d["chars"]), **rest)


class Tagger(nn.Module):
    def __init__(self, cfg: TaggerConfig, allowed=None):
        super().__init__()
        require(cfg.num_tags >= 1, "no tags to learn", "give a training file with tags")
        self.cfg = cfg
        self.chars = CharFeatures(cfg.chars) if cfg.chars.kind != "none" else None
        self.shape = nn.Embedding(cfg.shapes, cfg.shape_embed) if cfg.shapes else None
        extra = cfg.chars.output_size + (cfg.shape_embed if cfg.shapes else 0)
        self.encoder = Encoder(dataclasses.replace(cfg.encoder, extra_input=extra))
        self.drop = nn.Dropout(cfg.head_dropout)
        self.head = nn.Linear(self.encoder.cfg.output_size, cfg.num_tags)
        self.crf = CRF(cfg.num_tags, allowed if cfg.constrained else None) if cfg.crf else None
        self.allowed = allowed if cfg.constrained else None   # softmax decoding keeps to them too
        # subtracted from the O score before decoding: trades precision for recall; set on the validation split
        self.register_buffer("o_bias", torch.zeros(()))
        if cfg.average:      # a copy of every weight, saved with them: a_t = d_t a_{t-1} + (1 - d_t) w_t
            self.averaged = nn.Module()
            for name, p in list(self.named_parameters()):
                self.averaged.register_buffer(name.replace(".", "__"), p.detach().clone())

    def _pairs(self):
        return [(p, getattr(self.averaged, n.replace(".", "__"))) for n, p in self.named_parameters()]

    @torch.no_grad()
    def update_average(self, step: int) -> None:
        """Fold the current weights into the average, d_t = min(average, (1 + t) / (10 + t)) (warm start)."""
        d = min(self.cfg.average, (1 + step) / (10 + step))
        for p, a in self._pairs():
            a.mul_(d).add_(p.detach(), alpha=1 - d)

    @contextlib.contextmanager
    def averaged_weights(self):
        """Evaluate with the averaged weights in place of the trained ones (no-op without averaging)."""
        if not self.cfg.average:
            yield
            return
        saved = [p.detach().clone() for p, _ in self._pairs()]
        with torch.no_grad():
            for p, a in self._pairs():
                p.copy_(a)
        try:
            yield
        finally:
            with torch.no_grad():
                for (p, _), w in zip(self._pairs(), saved):
                    p.copy_(w)

    @torch.no_grad()
    def use_average(self) -> "Tagger":
        """For a loaded model: the averaged weights become the weights."""
        if self.cfg.average:
            for p, a in self._pairs():
                p.copy_(a)
        return self

    def emissions(self, batch) -> tuple[Tensor, Tensor]:
        """Scores of every tag at every word: (B, T, K), and the mask (B, T)."""
        mask = batch.mask
        extra = []
        if self.chars is not None:
            extra.append(word_features(self.chars, batch.chars, batch.char_lengths, mask))   # (B, T, F)
        if self.shape is not None:
            extra.append(self.shape(batch.shapes))                                          # (B, T, S)
        out = self.encoder(batch.words, batch.lengths, torch.cat(extra, -1) if extra else None)
        return self.head(self.drop(out.outputs)), out.mask                                  # (B, T, K)

    def sentence_losses(self, batch) -> Tensor:
        """Nats per sentence: -log p(tags | words) with a CRF, else the tokens' summed cross-entropy. (B,)"""
        scores, mask = self.emissions(batch)                                               # (B, T, K)
        if self.crf is not None:
            return self.crf.nll(scores, batch.tags, mask)                                  # (B,)
        ce = F.cross_entropy(scores.float().transpose(1, 2), batch.tags, reduction="none")  # (B, T)
        return (ce * mask).sum(1)                                                          # (B,)

    def decode(self, batch, scores: Tensor | None = None, mask: Tensor | None = None,
               o_bias: float | None = None) -> list[list[int]]:
        """Best tag ids of each sentence: Viterbi with a CRF; else the likeliest valid BIO path of the per-token
        distributions (constrained), or the per-token argmax. The O tag's score is lowered by o_bias first
        (default: the model's own)."""
        if scores is None:
            scores, mask = self.emissions(batch)
        bias = float(self.o_bias) if o_bias is None else o_bias
        if bias and self.cfg.outside >= 0:
            scores = scores.clone()
            scores[..., self.cfg.outside] -= bias                                          # (B, T, K)
        if self.crf is not None:
            return self.crf.decode(scores, mask)
        if self.allowed is not None:
            return constrained_argmax(torch.log_softmax(scores.float(), -1), mask, self.allowed)
        best = scores.argmax(-1).tolist()                                                  # (B, T)
        return [row[:n] for row, n in zip(best, mask.sum(1).tolist())]
