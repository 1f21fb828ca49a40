"""Encoder for labelled sequences: ids -> embedding -> stacked (bi)directional RNN/LSTM/GRU -> per-token outputs.

    tokens (B, T), lengths (B,)  ->  outputs (B, T, D) with zeros at padding,  last (B, D),   D = dirs * H

Each layer is a one-layer nn.RNN/LSTM/GRU (bidirectional when asked) run over a PackedSequence, so the
padding after a sentence is never computed and the backward direction starts at each sentence's own last
word; `packed=False` runs the padded batch as it is (for benchmarks/padding.py: faster kernels on equal
lengths, but padding is computed and read by the backward direction).

Regularisation, in the order the data meets it:
  word_dropout    whole tokens replaced by <unk> (Iyyer et al. 2015; the model learns to do without a word)
  embed_dropout   whole rows of the embedding table zeroed for a batch (Gal & Ghahramani 2016; AWD-LSTM)
  input_dropout   locked dropout on the embedded inputs (one mask per sentence, shared by every step)
  weight_drop     DropConnect on the hidden-to-hidden matrices W_hh (Merity et al. 2017's AWD-LSTM):
                  recurrent dropout that keeps the fused kernels, one mask per batch for every time step
  dropout         locked dropout between layers
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import require
from ..text.label_vocab import PAD, UNK
from .recurrent import locked_dropout

RNN_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass
class EncoderConfig:
    """Sizes and regularisation of an Encoder (saved in a run's config.json)."""
    kind: str = "lstm"              # lstm | gru | rnn
    vocab_size: int = 0
    embed: int = 300
    hidden: int = 256
    layers: int = 1
    bidirectional: bool = True
    extra_input: int = 0            # features concatenated to each embedded token (e.g. a tagger's char features)
    input_dropout: float = 0.5
    dropout: float = 0.3
    embed_dropout: float = 0.0
    word_dropout: float = 0.0
    weight_drop: float = 0.0
    packed: bool = True
    forget_bias: float = 1.0

    @property
    def output_size(self) -> int:
        return self.hidden * (2 if self.bidirectional else 1)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EncoderConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def check(self) -> None:
        require(self.kind in RNN_MODULES, f"unknown --model {self.kind!r}", "use --model lstm, gru or rnn")
        for name in ("embed", "hidden", "layers", "vocab_size"):
            v = getattr(self, name)
            require(isinstance(v, int) and v > 0, f"--{name} must be a positive whole number, got {v!r}",
                    f"pass e.g. --{name} {getattr(EncoderConfig, name, 1) or 1}")
        for name in ("input_dropout", "dropout", "embed_dropout", "word_dropout", "weight_drop"):
            v = getattr(self, name)
            require(0.0 <= v < 1.0, f"--{name.replace('_', '-')} must be in [0, 1), got {v}",
                    f"pass e.g. --{name.replace('_', '-')} 0.2")


@dataclass
class EncoderOutput:
    outputs: Tensor    # (B, T, D), zeros at padding when packed
    last: Tensor       # (B, D): the forward direction at each sentence's last token, the backward at its first
    mask: Tensor       # (B, T) bool


class Encoder(nn.Module):
    """Embedding plus `layers` recurrent layers; see the module docstring for the regularisation."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed, padding_idx=PAD)
        sizes = [cfg.embed + cfg.extra_input] + [cfg.output_size] * (cfg.layers - 1)
        self.layers = nn.ModuleList(RNN_MODULES[cfg.kind](n_in, cfg.hidden, 1, batch_first=True,
                                                          bidirectional=cfg.bidirectional) for n_in in sizes)
        if cfg.kind == "lstm":
            self._init_forget_bias(cfg.forget_bias)

    @torch.no_grad()
    def _init_forget_bias(self, value: float) -> None:
        """b_f = value in every LSTM direction (b_ih holds it, b_hh's forget slice is zeroed)."""
        H = self.cfg.hidden
        for layer in self.layers:
            for name, p in layer.named_parameters():
                if name.startswith("bias_ih"):
                    p[H:2 * H].fill_(value)
                elif name.startswith("bias_hh"):
                    p[H:2 * H].zero_()

    def embed_tokens(self, tokens: Tensor) -> Tensor:
        """(B, T) ids -> (B, T, E) vectors, with word and embedding-row dropout in training."""
        cfg, weight = self.cfg, self.embed.weight
        if self.training and cfg.word_dropout > 0:
            drop = torch.rand(tokens.shape, device=tokens.device) < cfg.word_dropout
            tokens = torch.where(drop & (tokens != PAD), torch.full_like(tokens, UNK), tokens)   # (B, T)
        if self.training and cfg.embed_dropout > 0:
            keep = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - cfg.embed_dropout)       # (V, 1)
            weight = weight * keep / (1 - cfg.embed_dropout)
        return F.embedding(tokens, weight, padding_idx=PAD)                                    # (B, T, E)

    def forward(self, tokens: Tensor, lengths: Tensor, extra: Tensor | None = None) -> EncoderOutput:
        """tokens (B, T), lengths (B,) on the CPU or the device, extra (B, T, F) or None."""
        cfg = self.cfg
        B, T = tokens.shape
        mask = torch.arange(T, device=tokens.device)[None, :] < lengths.to(tokens.device)[:, None]   # (B, T)
        x = self.embed_tokens(tokens)                                                  # (B, T, E)
        if extra is not None:
            x = torch.cat([x, extra.to(x.dtype)], dim=-1)                              # (B, T, E + F)
        x = locked_dropout(x, cfg.input_dropout, self.training)
        lengths_cpu = lengths.cpu()
        for k, layer in enumerate(self.layers):
            x, h_n = self._run_layer(layer, x, lengths_cpu)                            # (B, T, D), (dirs, B, H)
            if k < len(self.layers) - 1:
                x = locked_dropout(x, cfg.dropout, self.training)
        if cfg.packed:
            last = torch.cat(list(h_n), dim=-1)                                        # (B, D)
        else:
            last = self._last_from_outputs(x, lengths_cpu)
        return EncoderOutput(x * mask[..., None].to(x.dtype), last, mask)

    def _run_layer(self, layer: nn.Module, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """One (bi)directional layer over the batch: packed or padded, W_hh DropConnected in training."""
        T = x.shape[1]
        inp = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False) if self.cfg.packed else x
        if self.training and self.cfg.weight_drop > 0:
            params = {n: (F.dropout(p, self.cfg.weight_drop, True) if n.startswith("weight_hh") else p)
                      for n, p in layer.named_parameters()}
            y, h = torch.func.functional_call(layer, params, (inp,))
        else:
            y, h = layer(inp)
        h_n = h[0] if isinstance(h, tuple) else h                                      # (dirs, B, H)
        if self.cfg.packed:
            y, _ = pad_packed_sequence(y, batch_first=True, total_length=T)            # (B, T, D)
        return y, h_n

    def _last_from_outputs(self, y: Tensor, lengths: Tensor) -> Tensor:
        """Padded run: the forward half at position length-1, the backward half at position 0."""
        H = self.cfg.hidden
        rows = torch.arange(y.shape[0], device=y.device)
        fwd = y[rows, lengths.to(y.device) - 1, :H]                                    # (B, H)
        return torch.cat([fwd, y[:, 0, H:]], dim=-1) if self.cfg.bidirectional else fwd

    def recurrent_parameters(self, k: int, reverse: bool = False) -> dict[str, Tensor]:
        """W_ih, W_hh, b_ih, b_hh of layer k's forward (or reverse) direction, by their nn.LSTM names."""
        suffix = "_reverse" if reverse else ""
        layer = self.layers[k]
        return {n: getattr(layer, f"{n}_l0{suffix}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
