"""Show, Attend and Tell (Xu et al. 2015): an LSTM decoder with soft attention over the image grid.

For annotation vectors a_i (i = 1..S, the encoder's grid cells) and the decoder state h_{t-1}:

    e_ti  = w^T tanh(W_a a_i + W_h h_{t-1})                  (W_a a_i computed once per image: the keys)
    α_ti  = exp(e_ti) / Σ_k exp(e_tk)                         the attention weights; Σ_i α_ti = 1
    z_t   = β_t Σ_i α_ti a_i,   β_t = σ(W_β h_{t-1})          the gated context vector
    h_t, c_t = LSTM([E y_{t-1} ; z_t], (h_{t-1}, c_{t-1}))
    p(y_t | y_<t, image) = softmax(L_o (E y_{t-1} + L_h h_t + L_z z_t))        the deep output layer
    h_0 = tanh(W_init,h mean_i a_i),  c_0 = tanh(W_init,c mean_i a_i)

What the decoder reads of y_{t-1} is E[input_map[y_{t-1}]] (an attribute word may be read as its kind, e.g.
<colour>); with `late` ids (the colour words) it also reads E_late[y_{t-2}] when y_{t-2} is one of them: the
identity of a colour arrives one word late, after the shape it describes has been chosen from the image,
so the colour cannot pull the shape (no green star in training) yet the decoder knows which colours it said.
With `query` as well, the late id read at step t also steers that step's attention, and only it:
e_ti = w^T tanh(W_a a_i + W_h h_{t-1} + Q[y_{t-1}]): the colour just written finds the object of that colour,
whose shape the context then carries, while the LSTM and the output layer still read <colour>.

The context enters the recurrence (z_t is an LSTM input), so teacher forcing runs the cell one step at a
time. This attention is not models/attention.py's (Luong's general score is read after the recurrence and
does not feed it); decoding reuses models/beam.py's greedy and beam search through `step` and
models/seq2seq.py's Memory (the grid as the memory, every cell unmasked).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .image_encoder import ImageEncoder, ImageEncoderConfig
from .seq2seq import Memory


@dataclass
class CaptionerConfig:
    """Sizes of a Captioner (saved in a run's config.json)."""
    vocab: int = 0
    encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    embed: int = 128
    hidden: int = 256
    attention: int = 128
    dropout: float = 0.2              # before the output layer
    word_dropout: float = 0.0         # training inputs replaced by <unk> with this probability
    bos: int = 2
    eos: int = 3
    unk: int = 1
    no_emit: tuple = (0, 1, 2)        # never generated: <pad>, <unk>, <s> (and the kinds <size>, ...)
    input_map: tuple = ()             # the id the decoder reads for each id (empty: the id itself)
    late: tuple = ()                  # ids whose identity is also read one word late (E_late y_{t-2})
    query: bool = False               # late ids also steer the attention of the step that reads them (Q y_{t-1})

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "encoder": self.encoder.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "CaptionerConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        return cls(**{**d, "encoder": ImageEncoderConfig.from_dict(d["encoder"]), "no_emit": tuple(d["no_emit"]),
                      "input_map": tuple(d.get("input_map", ())), "late": tuple(d.get("late", ()))})


class SoftAttention(nn.Module):
    """The deterministic soft attention above: keys W_a a_i, then α_t and the gated z_t from h_{t-1}."""

    def __init__(self, features: int, hidden: int, size: int):
        super().__init__()
        self.W_a = nn.Linear(features, size)
        self.W_h = nn.Linear(hidden, size, bias=False)
        self.w = nn.Linear(size, 1, bias=False)
        self.W_beta = nn.Linear(hidden, 1)

    def keys(self, a: Tensor) -> Tensor:
        return self.W_a(a)                                                     # (B, S, A)

    def forward(self, h: Tensor, a: Tensor, keys: Tensor, q: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """h_{t-1} (B, H), a (B, S, D), keys (B, S, A), an extra query term q (B, A) -> z_t (B, D), α_t (B, S)."""
        query = self.W_h(h) if q is None else self.W_h(h) + q                  # (B, A)
        e = self.w(torch.tanh(keys + query[:, None])).squeeze(-1)              # (B, S): e_ti
        alpha = torch.softmax(e.float(), dim=-1).to(a.dtype)                   # (B, S): Σ_i α_ti = 1
        beta = torch.sigmoid(self.W_beta(h))                                   # (B, 1)
        z = beta * torch.bmm(alpha[:, None], a).squeeze(1)                     # (B, D): β_t Σ_i α_ti a_i
        return z, alpha


class Captioner(nn.Module):
    """ImageEncoder + the attention LSTM decoder; `forward` for teacher forcing, `encode` + `step` for decoding."""

    def __init__(self, cfg: CaptionerConfig):
        super().__init__()
        self.cfg = cfg
        D, H, E = cfg.encoder.features, cfg.hidden, cfg.embed
        self.encoder = ImageEncoder(cfg.encoder)
        self.init_h, self.init_c = nn.Linear(D, H), nn.Linear(D, H)
        self.embed = nn.Embedding(cfg.vocab, E)
        self.attend = SoftAttention(D, H, cfg.attention)
        self.cell = nn.LSTMCell(E + D, H)
        self.L_h, self.L_z = nn.Linear(H, E), nn.Linear(D, E, bias=False)
        self.L_o = nn.Linear(E, cfg.vocab)
        self.register_buffer("no_emit", torch.tensor(list(cfg.no_emit), dtype=torch.int64), persistent=False)
        read = list(cfg.input_map) or list(range(cfg.vocab))
        self.register_buffer("input_map", torch.tensor(read, dtype=torch.int64), persistent=False)
        late = torch.zeros(cfg.vocab, dtype=torch.int64)                       # 0: not late; k: the k-th late id
        late[list(cfg.late)] = torch.arange(1, len(cfg.late) + 1)
        self.register_buffer("late_index", late, persistent=False)
        self.late_embed = nn.Embedding(len(cfg.late) + 1, E, padding_idx=0) if cfg.late else None
        self.query_embed = nn.Embedding(len(cfg.late) + 1, cfg.attention, padding_idx=0) if cfg.query else None

    def read(self, tokens: Tensor, late: Tensor | None = None) -> Tensor:
        """E y (+ E_late of the late id `late` read with it): what the decoder reads for each token."""
        x = self.embed(self.input_map[tokens])                                 # (..., E)
        return x if late is None else x + self.late_embed(late)

    def encode(self, images: Tensor) -> Memory:
        """uint8 images (B, H, W, 3) -> Memory: a (B, S, D), its keys, an all-true mask, (h_0, c_0) as (1, B, H)
        (and, with late ids, the pending late id (1, B), none at the start)."""
        a = self.encoder(images)                                               # (B, S, D)
        mean = a.mean(dim=1)                                                   # (B, D)
        h0, c0 = torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))  # (B, H)
        mask = torch.ones(a.shape[:2], dtype=torch.bool, device=a.device)      # (B, S)
        state = (h0[None], c0[None])
        if self.late_embed is not None:
            state += (torch.zeros(1, a.shape[0], dtype=torch.int64, device=a.device),)
        return Memory(a, self.attend.keys(a), mask, state)

    def _query(self, tokens: Tensor) -> Tensor | None:
        """Q y: the attention term of each token's late id (zero for the others), or None without `query`."""
        return None if self.query_embed is None else self.query_embed(self.late_index[tokens])   # (..., A)

    def _step(self, x: Tensor, h: Tensor, c: Tensor, memory: Memory, q: Tensor | None = None):
        """One step from embedded y_{t-1} (N, E) (and its query term q (N, A)): logits (N, V), h_t, c_t (N, H),
        α_t (N, S)."""
        z, alpha = self.attend(h, memory.memory, memory.keys, q)                # (N, D), (N, S)
        h, c = self.cell(torch.cat([x, z], dim=-1), (h, c))                     # (N, H)
        out = x + self.L_h(h) + self.L_z(z)                                    # (N, E): deep output
        logits = self.L_o(F.dropout(out, self.cfg.dropout, self.training))     # (N, V)
        return logits, h, c, alpha

    def forward(self, images: Tensor, tokens_in: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: images (B, H, W, 3), inputs <s> y_1..y_n (B, T) -> logits (B, T, V), α (B, T, S)."""
        memory = self.encode(images)
        if self.training and self.cfg.word_dropout > 0:
            drop = torch.rand(tokens_in.shape, device=tokens_in.device) < self.cfg.word_dropout
            tokens_in = tokens_in.masked_fill(drop & (tokens_in != self.cfg.bos), self.cfg.unk)
        late = None
        if self.late_embed is not None:                                        # y_{t-2}'s late id at step t
            late = F.pad(self.late_index[tokens_in][:, :-1], (1, 0))           # (B, T)
        x = self.read(tokens_in, late)                                         # (B, T, E)
        q = self._query(tokens_in)                                             # (B, T, A) or None
        h, c = memory.state[0][0], memory.state[1][0]                          # (B, H)
        logits, alphas = [], []
        for t in range(tokens_in.shape[1]):
            step_logits, h, c, alpha = self._step(x[:, t], h, c, memory, None if q is None else q[:, t])
            logits.append(step_logits)
            alphas.append(alpha)
        return torch.stack(logits, 1), torch.stack(alphas, 1)                  # (B, T, V), (B, T, S)

    def step(self, y_prev: Tensor, state, memory: Memory) -> tuple[Tensor, tuple, Tensor]:
        """beam.py's step: previous tokens (N,), state ((1, N, H), (1, N, H)[, pending late id (1, N)])
        -> log p (N, V), state, α_t (N, S)."""
        late = state[2][0] if self.late_embed is not None else None
        logits, h, c, alpha = self._step(self.read(y_prev, late), state[0][0], state[1][0], memory,
                                         self._query(y_prev))
        logp = torch.log_softmax(logits.float(), dim=-1).index_fill(1, self.no_emit, float("-inf"))   # (N, V)
        if self.late_embed is not None:
            return logp, (h[None], c[None], self.late_index[y_prev][None]), alpha
        return logp, (h[None], c[None]), alpha
