"""A stack of recurrent layers run over time.

Each layer's parameters live in a one-layer nn.RNN / nn.LSTM / nn.GRU, so the fast path
is PyTorch's fused kernel (oneDNN on CPU, cuDNN on GPU). `use_cells=True` runs the
same parameters through the written-out cells of cells.py, one step at a time; a
parity test shows both paths give the same numbers.

Between layers, dropout is *locked* (variational, Gal & Ghahramani 2016): one mask per
sequence and feature, shared by every time step of the chunk. It regularises as well
as per-element dropout and draws T times fewer random numbers, which on a CPU is a
fifth of the training step.

State: a tuple of tensors, each (layers, B, H): (h,) for rnn/gru, (h, c) for lstm.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..spectral import sparse_uniform_torch
from .cells import CELLS, STATE_PARTS

_TORCH_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def locked_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """x (B, T, D): zero a fraction p of the features of each sequence, the same ones at every step."""
    if not training or p == 0.0:
        return x
    mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1.0 - p) / (1.0 - p)   # (B, 1, D)
    return x * mask


class Recurrent(nn.Module):
    """`layers` recurrent layers of `hidden` units; locked dropout on the outputs of all but the last."""

    def __init__(self, kind: str, input_size: int, hidden: int, layers: int, dropout: float = 0.0,
                 forget_bias: float = 1.0, esn_radius: float | None = None):
        super().__init__()
        self.kind, self.hidden, self.num_layers, self.dropout = kind, hidden, layers, dropout
        self.layers = nn.ModuleList(_TORCH_MODULES[kind](input_size if k == 0 else hidden, hidden, 1, batch_first=True)
                                    for k in range(layers))
        if esn_radius is not None:
            self._init_esn(esn_radius)
        if kind == "lstm":
            self._init_forget_bias(forget_bias)

    @torch.no_grad()
    def _init_esn(self, radius: float, density: float = 0.1) -> None:
        """Echo-state initialisation (Jaeger; Sutskever 2012): every H x H block of W_hh sparse and scaled
        to spectral radius `radius`. Drawn from torch's RNG, so torch.manual_seed decides it."""
        H = self.hidden
        for k in range(self.num_layers):
            W_hh = self.layer_weights(k)[1]                                   # (G*H, H)
            for g in range(W_hh.shape[0] // H):
                W_hh[g * H:(g + 1) * H] = sparse_uniform_torch(H, density, radius).to(W_hh.dtype)

    @torch.no_grad()
    def _init_forget_bias(self, value: float) -> None:
        """Forget gate starts open: b_f = value (b_ih holds it, b_hh's forget slice is zeroed)."""
        H = self.hidden
        for k in range(self.num_layers):
            _, _, b_ih, b_hh = self.layer_weights(k)
            b_ih[H:2 * H].fill_(value)
            b_hh[H:2 * H].zero_()

    def layer_weights(self, k: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """W_ih, W_hh, b_ih, b_hh of layer k."""
        layer = self.layers[k]
        return layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0

    def init_state(self, batch_size: int) -> tuple[Tensor, ...]:
        w = self.layers[0].weight_hh_l0
        return tuple(torch.zeros(self.num_layers, batch_size, self.hidden, device=w.device, dtype=w.dtype)
                     for _ in range(STATE_PARTS[self.kind]))

    def forward(self, x: Tensor, state: tuple[Tensor, ...] | None = None, use_cells: bool = False):
        """x: (B, T, D) -> outputs (B, T, H) of the top layer, new state."""
        if state is None:
            state = self.init_state(x.shape[0])
        finals = []
        for k in range(self.num_layers):
            s = tuple(part[k:k + 1] for part in state)                   # (1, B, H) each
            x, s = self._cells(k, x, s) if use_cells else self._fused(k, x, s)
            if k < self.num_layers - 1:
                x = locked_dropout(x, self.dropout, self.training)        # (B, T, H)
            finals.append(s)
        return x, tuple(torch.cat([f[i] for f in finals]) for i in range(len(state)))  # (layers, B, H)

    def _fused(self, k: int, x: Tensor, s: tuple[Tensor, ...]):
        y, new = self.layers[k](x, s if self.kind == "lstm" else s[0])
        return y, (new if self.kind == "lstm" else (new,))

    def _cells(self, k: int, x: Tensor, s: tuple[Tensor, ...]):
        cell, w = CELLS[self.kind], self.layer_weights(k)
        s = tuple(part[0] for part in s)                                  # (B, H) each
        outputs = []
        for t in range(x.shape[1]):
            h, s = cell(x[:, t], s, w)                                    # (B, H)
            outputs.append(h)
        return torch.stack(outputs, dim=1), tuple(part[None] for part in s)
