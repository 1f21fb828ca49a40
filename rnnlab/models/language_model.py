"""LanguageModel: tokens -> embedding (or one-hot) -> recurrent stack -> linear head -> logits."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..config import ModelConfig
from .recurrent import Recurrent, locked_dropout

State = tuple[Tensor, ...]


class LanguageModel(nn.Module):
    """forward(tokens (B, T), state) -> (logits (B, T, V), state), the contract every sequence model keeps."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        V = cfg.vocab_size
        self.embed = nn.Embedding(V, cfg.embed) if cfg.embed > 0 else None   # None = one-hot input
        self.recurrent = Recurrent(cfg.model, cfg.embed or V, cfg.hidden, cfg.layers, cfg.dropout,
                                   cfg.forget_bias, cfg.spectral_radius if cfg.init == "esn" else None)
        self.head = nn.Linear(cfg.hidden, V)

    def inputs(self, tokens: Tensor) -> Tensor:
        """(B, T) token ids -> (B, T, D) input vectors."""
        if self.embed is None:
            return F.one_hot(tokens, self.cfg.vocab_size).to(self.head.weight.dtype)  # (B, T, V)
        return self.embed(tokens)                                                      # (B, T, E)

    def forward(self, tokens: Tensor, state: State | None = None, use_cells: bool = False):
        p = self.cfg.dropout
        x = locked_dropout(self.inputs(tokens), p, self.training)          # (B, T, D)
        y, state = self.recurrent(x, state, use_cells=use_cells)            # (B, T, H)
        logits = self.head(locked_dropout(y, p, self.training))             # (B, T, V)
        return logits, state

    def init_state(self, batch_size: int) -> State:
        return self.recurrent.init_state(batch_size)

    def detach_state(self, state: State) -> State:
        """Cut the graph (truncated BPTT) and keep the state in the parameters' dtype."""
        dtype = self.head.weight.dtype
        return tuple(s.detach().to(dtype) for s in state)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
