"""A stack of recurrent layers run over time.

The parameters live in one nn.RNN / nn.LSTM / nn.GRU module, so the fast path is
PyTorch's fused kernel (oneDNN on CPU, cuDNN on GPU). `use_cells=True` runs the
same parameters through the written-out cells of cells.py, one step at a time; a
parity test shows both paths give the same numbers.

State: a tuple of tensors, each (layers, B, H): (h,) for rnn/gru, (h, c) for lstm.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .cells import CELLS, STATE_PARTS

_TORCH_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Recurrent(nn.Module):
    """`layers` recurrent layers of `hidden` units; dropout on the outputs of all but the last layer."""

    def __init__(self, kind: str, input_size: int, hidden: int, layers: int, dropout: float = 0.0):
        super().__init__()
        self.kind, self.hidden, self.layers, self.dropout = kind, hidden, layers, dropout
        self.rnn = _TORCH_MODULES[kind](input_size, hidden, layers, batch_first=True,
                                        dropout=dropout if layers > 1 else 0.0)
        if kind == "lstm":
            self._init_forget_bias(1.0)

    @torch.no_grad()
    def _init_forget_bias(self, value: float) -> None:
        """Forget gate starts open: b_f = value (b_ih holds it, b_hh's forget slice is zeroed)."""
        H = self.hidden
        for k in range(self.layers):
            getattr(self.rnn, f"bias_ih_l{k}")[H:2 * H].fill_(value)
            getattr(self.rnn, f"bias_hh_l{k}")[H:2 * H].zero_()

    def layer_weights(self, k: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """W_ih, W_hh, b_ih, b_hh of layer k."""
        return tuple(getattr(self.rnn, f"{name}_l{k}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def init_state(self, batch_size: int) -> tuple[Tensor, ...]:
        w = self.rnn.weight_hh_l0
        return tuple(torch.zeros(self.layers, batch_size, self.hidden, device=w.device, dtype=w.dtype)
                     for _ in range(STATE_PARTS[self.kind]))

    def forward(self, x: Tensor, state: tuple[Tensor, ...] | None = None, use_cells: bool = False):
        """x: (B, T, D) -> outputs (B, T, H) of the top layer, new state."""
        if state is None:
            state = self.init_state(x.shape[0])
        if use_cells:
            return self._forward_cells(x, state)
        y, new = self.rnn(x, state if self.kind == "lstm" else state[0])
        return y, (new if self.kind == "lstm" else (new,))

    def _forward_cells(self, x: Tensor, state: tuple[Tensor, ...]):
        cell = CELLS[self.kind]
        finals = []
        for k in range(self.layers):
            w = self.layer_weights(k)
            s = tuple(part[k] for part in state)                   # (B, H) each
            outputs = []
            for t in range(x.shape[1]):
                h, s = cell(x[:, t], s, w)                          # (B, H)
                outputs.append(h)
            x = torch.stack(outputs, dim=1)                         # (B, T, H)
            if k < self.layers - 1 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
            finals.append(s)
        new_state = tuple(torch.stack([f[i] for f in finals]) for i in range(len(state)))  # (layers, B, H)
        return x, new_state
