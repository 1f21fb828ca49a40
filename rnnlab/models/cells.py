"""One-step recurrent cells with the lecture equations written out.

Weights use PyTorch's layout so they can be shared with nn.RNN / nn.LSTM / nn.GRU:
    W_ih: (G*H, D) input-to-hidden,  W_hh: (G*H, H) hidden-to-hidden,  b_ih, b_hh: (G*H,)
with G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or 3 (GRU: gates r, z, n).
Each cell is a pure function cell(x_t, state, weights) -> (h_t, state).
"""
from __future__ import annotations

import torch
from torch import Tensor

Weights = tuple[Tensor, Tensor, Tensor, Tensor]  # W_ih, W_hh, b_ih, b_hh


def rnn_cell(x_t: Tensor, state: tuple[Tensor], w: Weights) -> tuple[Tensor, tuple[Tensor]]:
    """Vanilla RNN:  h_t = tanh(W_xh x_t + W_hh h_{t-1} + b)."""
    W_ih, W_hh, b_ih, b_hh = w
    (h_prev,) = state                                               # (B, H)
    h = torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)    # (B, H)
    return h, (h,)


def lstm_cell(x_t: Tensor, state: tuple[Tensor, Tensor], w: Weights) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """LSTM:
        i = sigma(W_i [x_t; h_{t-1}] + b_i)     input gate
        f = sigma(W_f [x_t; h_{t-1}] + b_f)     forget gate
        g = tanh (W_g [x_t; h_{t-1}] + b_g)     candidate cell
        o = sigma(W_o [x_t; h_{t-1}] + b_o)     output gate
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)
    """
    W_ih, W_hh, b_ih, b_hh = w
    h_prev, c_prev = state                                          # (B, H) each
    gates = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh            # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=1)                              # (B, H) each
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c_prev + i * g                                          # (B, H)
    h = o * torch.tanh(c)                                           # (B, H)
    return h, (h, c)


def gru_cell(x_t: Tensor, state: tuple[Tensor], w: Weights) -> tuple[Tensor, tuple[Tensor]]:
    """GRU:
        r = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)           reset gate
        z = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)           update gate
        n = tanh (W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))     candidate
        h_t = (1 - z) * n + z * h_{t-1}
    """
    W_ih, W_hh, b_ih, b_hh = w
    (h_prev,) = state                                               # (B, H)
    x_r, x_z, x_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=1)           # (B, H) each
    h_r, h_z, h_n = (h_prev @ W_hh.T + b_hh).chunk(3, dim=1)        # (B, H) each
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    h = (1 - z) * n + z * h_prev                                    # (B, H)
    return h, (h,)


CELLS = {"rnn": rnn_cell, "lstm": lstm_cell, "gru": gru_cell}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
STATE_PARTS = {"rnn": 1, "lstm": 2, "gru": 1}
