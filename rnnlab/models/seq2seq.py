"""Encoder-decoder with attention (Luong et al. 2015, global "general" attention, no input feeding).

    source (B, S) ──Encoder (bidirectional GRU/LSTM, packed)──▶ h̄ (B, S, 2H_e), last (B, 2H_e)
    s_0 = tanh(W_b last)                                          (1, B, H_d): the decoder's first state
    target in (B, T) = BOS y_1 .. y_n ──embed──▶ GRU/LSTM ──▶ h_t (B, T, H_d)   (teacher forcing: one fused call)
    h_t, h̄ ──LuongAttention──▶ h̃_t = tanh(W_c [c_t; h_t])       (B, T, E)
    logits = W_o h̃_t + b                                          (B, T, V_tgt)   (W_o tied to the target embedding)

Without input feeding the decoder's recurrence does not read the attention, so training runs the whole
target through the fused recurrent kernel and scores all T attention queries in one product; decoding
(models/beam.py) calls `step` one token at a time with the same weights.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import require
from ..text.label_vocab import PAD
from .attention import LuongAttention
from .encoder import RNN_MODULES, Encoder, EncoderConfig


@dataclass
class Seq2SeqConfig:
    """Sizes of a Seq2Seq model (saved in a run's config.json)."""
    kind: str = "gru"               # gru | lstm, encoder and decoder
    src_vocab: int = 0
    tgt_vocab: int = 0
    embed: int = 256                # source and target embeddings, and h̃
    enc_hidden: int = 256           # units per direction of the bidirectional encoder
    enc_layers: int = 1
    dec_hidden: int = 512
    dropout: float = 0.3            # on embeddings, between encoder layers, on h_t and on h̃
    tie: bool = True                # output layer W_o = the target embedding matrix
    bos: int = 2                    # the token the decoder reads first
    eos: int = 3                    # the token that ends a translation
    no_emit: tuple = (0, 2)         # tokens never generated (<pad>, <s>)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Seq2SeqConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        require(isinstance(d, dict), "the run's model settings are damaged", "use the run's other checkpoint")
        d = {k: v for k, v in d.items() if k in names}
        if "no_emit" in d:
            d["no_emit"] = tuple(d["no_emit"])
        return cls(**d)

    def encoder_config(self) -> EncoderConfig:
        return EncoderConfig(kind=self.kind, vocab_size=self.src_vocab, embed=self.embed, hidden=self.enc_hidden,
                             layers=self.enc_layers, bidirectional=True, input_dropout=self.dropout,
                             dropout=self.dropout)


@dataclass
class Memory:
    """What the decoder attends to: encoder outputs, their attention keys, the source mask, the first state."""
    memory: Tensor      # (N, S, 2H_e), zeros at padding
    keys: Tensor        # (N, S, H_d): W_a h̄_s
    mask: Tensor        # (N, S) bool
    state: object       # (1, N, H_d), or (h, c) for an LSTM

    @property
    def batch_size(self) -> int:
        return self.memory.shape[0]

    def select(self, index: Tensor) -> "Memory":
        """Rows `index` (N',) of everything, e.g. each sentence repeated once per beam."""
        return Memory(self.memory[index], self.keys[index], self.mask[index], reorder_state(self.state, index))


def reorder_state(state, index: Tensor):
    """A recurrent state (1, N, H) or an LSTM's (h, c), rows picked by `index` (N',)."""
    if isinstance(state, tuple):
        return tuple(s[:, index] for s in state)
    return state[:, index]


class Seq2Seq(nn.Module):
    """The encoder-decoder above; `forward` for teacher-forced training, `encode` + `step` for decoding."""

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        require(cfg.kind in ("gru", "lstm"), f"unknown --model {cfg.kind!r}", "use --model gru or lstm")
        self.cfg = cfg
        self.encoder = Encoder(cfg.encoder_config())
        enc_out = 2 * cfg.enc_hidden
        self.bridge = nn.Linear(enc_out, cfg.dec_hidden)
        self.tgt_embed = nn.Embedding(cfg.tgt_vocab, cfg.embed, padding_idx=PAD)
        self.decoder = RNN_MODULES[cfg.kind](cfg.embed, cfg.dec_hidden, 1, batch_first=True)
        self.attention = LuongAttention(cfg.dec_hidden, enc_out, cfg.embed)
        self.out_bias = nn.Parameter(torch.zeros(cfg.tgt_vocab))
        self.out_weight = None if cfg.tie else nn.Parameter(torch.empty(cfg.tgt_vocab, cfg.embed).normal_(0, 0.05))
        self.register_buffer("no_emit", torch.tensor(list(cfg.no_emit), dtype=torch.int64), persistent=False)

    def encode(self, src: Tensor, lengths: Tensor) -> Memory:
        """Source ids (B, S) and lengths (B,) -> the decoder's Memory."""
        enc = self.encoder(src, lengths)                                       # outputs (B, S, 2H_e), last (B, 2H_e)
        s0 = torch.tanh(self.bridge(enc.last))[None]                           # (1, B, H_d): s_0 = tanh(W_b last)
        state = (s0, torch.zeros_like(s0)) if self.cfg.kind == "lstm" else s0
        return Memory(enc.outputs, self.attention.keys(enc.outputs), enc.mask, state)

    def decode(self, tgt_in: Tensor, memory: Memory, state=None) -> tuple[Tensor, object, Tensor]:
        """Decoder over tokens (N, T) from `state` (default: the first one): logits (N, T, V), state, a (N, T, S)."""
        p = self.cfg.dropout if self.training else 0.0
        x = F.dropout(self.tgt_embed(tgt_in), p, self.training)               # (N, T, E)
        h, state = self.decoder(x, memory.state if state is None else state)   # (N, T, H_d)
        h = F.dropout(h, p, self.training)
        h_tilde, a = self.attention(h, memory.memory, memory.keys, memory.mask)   # (N, T, E), (N, T, S)
        W_o = self.tgt_embed.weight if self.out_weight is None else self.out_weight   # (V, E)
        logits = F.linear(F.dropout(h_tilde, p, self.training), W_o, self.out_bias)   # (N, T, V)
        return logits, state, a

    def forward(self, src: Tensor, lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: (logits (B, T, V), attention (B, T, S))."""
        logits, _, a = self.decode(tgt_in, self.encode(src, lengths))
        return logits, a

    def step(self, y_prev: Tensor, state, memory: Memory) -> tuple[Tensor, object, Tensor]:
        """One decoding step: previous tokens (N,) -> log p(y_t | y_<t, x) (N, V) (never <pad>/<s>), state, a (N, S)."""
        logits, state, a = self.decode(y_prev[:, None], memory, state)        # (N, 1, V)
        logp = torch.log_softmax(logits[:, 0].float(), dim=-1)                 # (N, V)
        logp = logp.index_fill(1, self.no_emit, float("-inf"))
        return logp, state, a[:, 0]


def token_losses(logits: Tensor, targets: Tensor, smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of every target position (B, T), 0 at padding; label smoothing spreads `smoothing` of
    the target's mass uniformly over the vocabulary."""
    B, T, V = logits.shape
    ce = F.cross_entropy(logits.float().reshape(B * T, V), targets.reshape(B * T), ignore_index=PAD,
                         reduction="none", label_smoothing=smoothing)          # (B*T,), 0 at padding
    return ce.view(B, T)
