"""One recurrent layer over a whole sequence, forward and hand-written backward, batched.

Parameters use PyTorch's layout (W_ih (G*H, D), W_hh (G*H, H), b_ih, b_hh (G*H,)), so
weights copy both ways between these layers, rnnlab's cells and nn.RNN/LSTM/GRU.
Shapes: B batch, T time, D input, H hidden. Arrays are time-major inside: (T, B, .).
The input projection  a_x = x W_ih^T + b_ih  is computed for all t at once; only the
recurrent part runs step by step. Each forward returns a cache the backward consumes.
"""
from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))   # overflow-free logistic


# ----------------------------------------------------------------------------- vanilla RNN
def rnn_forward(ax, h0, W_hh, b_hh):
    """ax (T, B, H) input projections, h0 (B, H) -> hs (T, B, H), cache.
    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b)"""
    T = ax.shape[0]
    hs = np.empty_like(ax)                                   # (T, B, H)
    h = h0
    for t in range(T):
        h = np.tanh(ax[t] + h @ W_hh.T + b_hh)               # (B, H)
        hs[t] = h
    return hs, (h0, hs)


def rnn_backward(dhs, dh_last, cache, W_hh):
    """dhs (T, B, H) loss gradient w.r.t. each h_t (from above), dh_last (B, H) w.r.t. the final state.
    -> dax (T, B, H), dh0 (B, H), dW_hh, db_hh."""
    h0, hs = cache
    dax = np.empty_like(hs)
    dW_hh = np.zeros_like(W_hh)
    dh_next = dh_last
    for t in reversed(range(hs.shape[0])):
        h_prev = hs[t - 1] if t else h0
        dz = (dhs[t] + dh_next) * (1.0 - hs[t] ** 2)         # (B, H) through tanh
        dW_hh += dz.T @ h_prev
        dax[t] = dz
        dh_next = dz @ W_hh                                  # (B, H) to h_{t-1}
    return dax, dh_next, dW_hh, dax.sum(axis=(0, 1))


# ----------------------------------------------------------------------------- LSTM
def lstm_forward(ax, h0, c0, W_hh, b_hh):
    """ax (T, B, 4H) -> hs (T, B, H), cs (T, B, H), cache.
    i, f, g, o = sigma, sigma, tanh, sigma of (a_x + W_hh h_{t-1} + b_hh)
    c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)"""
    T, B, G = ax.shape
    H = G // 4
    hs, cs = np.empty((T, B, H), ax.dtype), np.empty((T, B, H), ax.dtype)
    gates = np.empty_like(ax)                                # (T, B, 4H) activated i, f, g, o
    h, c = h0, c0
    for t in range(T):
        a = ax[t] + h @ W_hh.T + b_hh                        # (B, 4H)
        gates[t, :, :2 * H] = sigmoid(a[:, :2 * H])          # i, f
        gates[t, :, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])  # g
        gates[t, :, 3 * H:] = sigmoid(a[:, 3 * H:])          # o
        i, f, g, o = np.split(gates[t], 4, axis=1)
        c = f * c + i * g                                    # (B, H)
        h = o * np.tanh(c)                                   # (B, H)
        hs[t], cs[t] = h, c
    return hs, cs, (h0, c0, hs, cs, gates)


def lstm_backward(dhs, dh_last, dc_last, cache, W_hh):
    """-> dax (T, B, 4H), dh0, dc0, dW_hh, db_hh."""
    h0, c0, hs, cs, gates = cache
    H = hs.shape[2]
    dax = np.empty_like(gates)
    dW_hh = np.zeros_like(W_hh)
    dh_next, dc_next = dh_last, dc_last
    for t in reversed(range(hs.shape[0])):
        h_prev, c_prev = (hs[t - 1], cs[t - 1]) if t else (h0, c0)
        i, f, g, o = np.split(gates[t], 4, axis=1)
        tanh_c = np.tanh(cs[t])
        dh = dhs[t] + dh_next                                # (B, H)
        do = dh * tanh_c
        dc = dh * o * (1.0 - tanh_c ** 2) + dc_next          # (B, H)
        da = dax[t]                                          # (B, 4H) pre-activation gradients
        da[:, :H] = dc * g * i * (1.0 - i)                   # input gate
        da[:, H:2 * H] = dc * c_prev * f * (1.0 - f)         # forget gate
        da[:, 2 * H:3 * H] = dc * i * (1.0 - g ** 2)         # candidate
        da[:, 3 * H:] = do * o * (1.0 - o)                   # output gate
        dW_hh += da.T @ h_prev
        dh_next = da @ W_hh                                  # (B, H)
        dc_next = dc * f                                     # (B, H)
    return dax, dh_next, dc_next, dW_hh, dax.sum(axis=(0, 1))


# ----------------------------------------------------------------------------- GRU
def gru_forward(ax, h0, W_hh, b_hh):
    """ax (T, B, 3H) -> hs (T, B, H), cache.
    r = sigma(a_xr + a_hr), z = sigma(a_xz + a_hz), n = tanh(a_xn + r * a_hn),
    h_t = (1 - z) * n + z * h_{t-1},   with a_h = W_hh h_{t-1} + b_hh"""
    T, B, G = ax.shape
    H = G // 3
    hs = np.empty((T, B, H), ax.dtype)
    rzn = np.empty_like(ax)                                  # (T, B, 3H) activated r, z, n
    ahn = np.empty((T, B, H), ax.dtype)                      # W_hn h_{t-1} + b_hn, needed by backward
    h = h0
    for t in range(T):
        ah = h @ W_hh.T + b_hh                               # (B, 3H)
        rzn[t, :, :2 * H] = sigmoid(ax[t, :, :2 * H] + ah[:, :2 * H])
        r, z = rzn[t, :, :H], rzn[t, :, H:2 * H]
        ahn[t] = ah[:, 2 * H:]
        n = rzn[t, :, 2 * H:] = np.tanh(ax[t, :, 2 * H:] + r * ahn[t])
        h = (1.0 - z) * n + z * h                            # (B, H)
        hs[t] = h
    return hs, (h0, hs, rzn, ahn)


def gru_backward(dhs, dh_last, cache, W_hh):
    """-> dax (T, B, 3H), dh0, dW_hh, db_hh."""
    h0, hs, rzn, ahn = cache
    H = hs.shape[2]
    dax = np.empty_like(rzn)
    dah = np.empty_like(rzn)                                 # gradients of a_h = W_hh h + b_hh
    dW_hh = np.zeros_like(W_hh)
    dh_next = dh_last
    for t in reversed(range(hs.shape[0])):
        h_prev = hs[t - 1] if t else h0
        r, z, n = rzn[t, :, :H], rzn[t, :, H:2 * H], rzn[t, :, 2 * H:]
        dh = dhs[t] + dh_next                                # (B, H)
        dan = dh * (1.0 - z) * (1.0 - n ** 2)                # through n = tanh(.)
        dar = dan * ahn[t] * r * (1.0 - r)
        daz = dh * (h_prev - n) * z * (1.0 - z)
        dax[t, :, :H], dax[t, :, H:2 * H], dax[t, :, 2 * H:] = dar, daz, dan
        dah[t, :, :H], dah[t, :, H:2 * H], dah[t, :, 2 * H:] = dar, daz, dan * r
        dW_hh += dah[t].T @ h_prev
        dh_next = dh * z + dah[t] @ W_hh                     # (B, H)
    return dax, dh_next, dW_hh, dah.sum(axis=(0, 1))
