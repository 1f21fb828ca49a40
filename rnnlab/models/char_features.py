"""Character-level word features: a vector for every word from its spelling, so unseen words still get one.

    chars (N, L) ids of N words (PAD after each word), lengths (N,)  ->  features (N, F)

cnn   (Ma & Hovy 2016): embed characters (N, L, C), convolve with F filters of width w over the word
      (padding w // 2), and max-pool over the word's characters:  f = max_l relu(W * c[l-w/2 .. l+w/2] + b)
lstm  (Lample et al. 2016): a bidirectional LSTM over the characters; f = [h_fwd at the last char; h_bwd
      at the first char], each F/2 wide.

Words are cut to `max_len` characters (their first max_len - 1 and last one), which keeps suffixes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..errors import require
from ..text.label_vocab import PAD

CHAR_KINDS = ("cnn", "lstm", "none")


@dataclass
class CharConfig:
    kind: str = "cnn"          # cnn | lstm | none
    vocab_size: int = 0        # set from the training split's characters
    embed: int = 32
    features: int = 64         # F: filters (cnn) or both directions together (lstm)
    width: int = 3             # cnn filter width
    max_len: int = 24          # characters kept per word
    dropout: float = 0.25      # on the character embeddings

    @property
    def output_size(self) -> int:
        return 0 if self.kind == "none" else self.features

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CharConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def check(self) -> None:
        require(self.kind in CHAR_KINDS, f"unknown --char {self.kind!r}", "use --char cnn, lstm or none")
        if self.kind == "none":
            return
        for name in ("embed", "features", "width", "max_len", "vocab_size"):
            v = getattr(self, name)
            require(isinstance(v, int) and 0 < v <= 4096, f"--char-{name.replace('_', '-')} must be in 1..4096, "
                    f"got {v!r}", f"pass e.g. --char-{name.replace('_', '-')} {getattr(CharConfig, name) or 1}")
        require(self.kind != "lstm" or self.features % 2 == 0, "--char-features must be even for --char lstm",
                "pass e.g. --char-features 64")
        require(0.0 <= self.dropout < 1.0, f"--char-dropout must be in [0, 1), got {self.dropout}",
                "pass e.g. --char-dropout 0.25")


class CharFeatures(nn.Module):
    """Spelling -> vector for each word (see the module docstring)."""

    def __init__(self, cfg: CharConfig):
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed, padding_idx=PAD)
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.kind == "cnn":
            self.conv = nn.Conv1d(cfg.embed, cfg.features, cfg.width, padding=cfg.width // 2)
        else:
            self.lstm = nn.LSTM(cfg.embed, cfg.features // 2, batch_first=True, bidirectional=True)

    def forward(self, chars: Tensor, lengths: Tensor) -> Tensor:
        """chars (N, L) long, lengths (N,) >= 1 -> (N, F)."""
        x = self.drop(self.embed(chars))                                         # (N, L, C)
        if self.cfg.kind == "cnn":
            h = torch.relu(self.conv(x.transpose(1, 2)))                         # (N, F, L')
            L = h.shape[2]
            inside = torch.arange(L, device=chars.device)[None, :] < lengths.to(chars.device)[:, None]  # (N, L')
            h = h.masked_fill(~inside[:, None, :], 0.0)                          # relu >= 0: 0 never beats a char
            return h.max(dim=2).values                                           # (N, F)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)                                          # (2, N, F/2)
        return torch.cat([h_n[0], h_n[1]], dim=-1)                               # (N, F)


def word_features(module: CharFeatures, chars: Tensor, char_lengths: Tensor, mask: Tensor) -> Tensor:
    """Features of the real words of a padded batch: chars (B, T, L), char_lengths (B, T), mask (B, T) -> (B, T, F);
    padding positions are zeros and are never computed."""
    B, T, _ = chars.shape
    flat = mask.reshape(-1).nonzero().squeeze(1)                                 # (N,) real words
    f = module(chars.reshape(B * T, -1)[flat], char_lengths.reshape(-1)[flat])   # (N, F)
    out = f.new_zeros(B * T, f.shape[1])                                         # (B*T, F)
    out[flat] = f
    return out.view(B, T, -1)                                                    # (B, T, F)
