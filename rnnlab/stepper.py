"""A fast one-token-at-a-time stepper for generation from RNN, LSTM and GRU language models.

Stepping nn.LSTM eagerly at batch 1 costs a framework call per module per token, which on a CPU is most of
the time; the arithmetic is one gate matrix-vector product per layer. The stepper prepares the weights once
(per layer the fused gate matrix [W_ih; W_hh; b]^T of shape (D+H+1, G*H) in contiguous float32, read by
[x; h; 1], and for the first layer, where the table is small, the embedding rows already multiplied in:
E W_ih^T + b, one (V, G*H) row per token; sigmoid-gate columns halved, see _Layer), keeps the state and
every buffer preallocated, and steps in NumPy with `out=` everywhere, so a step allocates nothing:

    LSTM   [i f g o] = x_t W_ih^T + h_{t-1} W_hh^T + b       c_t = f c_{t-1} + i g      h_t = o tanh(c_t)
    GRU    [r z] as the LSTM's; n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn));     h_t = (1 - z) n + z h_{t-1}
    RNN    h_t = tanh(x_t W_ih^T + h_{t-1} W_hh^T + b)

The prime goes through the model's fused forward pass in one call; its final state is copied in.
"""
from __future__ import annotations

import numpy as np
import torch

LOOKUP_LIMIT = 1 << 24          # floats in the first layer's token table (64 MB); above it, embed then multiply


class _Layer:
    """One recurrent layer's prepared weights and buffers for batch B.

    Two exact rewrites save NumPy calls per step. The sigmoid gates' columns (and biases) are stored halved,
    since sigma(a) = (1 + tanh(a / 2)) / 2 and halving is exact in floating point: one tanh then serves every
    gate. An LSTM's columns are reordered [i f o | g], so the sigmoid gates are one contiguous slice."""

    def __init__(self, kind: str, W_ih, W_hh, b_ih, b_hh, batch: int, table=None):
        self.kind = kind
        H = W_hh.shape[1]
        self.H, self.D = H, W_ih.shape[1]
        f32 = lambda t: np.ascontiguousarray(t.detach().cpu().float().numpy())   # noqa: E731
        G = W_hh.shape[0] // H
        if kind == "lstm":                      # rows [i f g o] -> [i f o g], the sigmoid rows halved
            order = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
            scale = torch.cat([torch.full((3 * H,), 0.5), torch.ones(H)])
        elif kind == "gru":                     # rows [r z n]: r and z halved, n as it is
            order, scale = torch.arange(3 * H), torch.cat([torch.full((2 * H,), 0.5), torch.ones(H)])
        else:
            order, scale = torch.arange(H), torch.ones(H)
        prep = lambda t: t.detach().float()[order] * (scale[:, None] if t.dim() == 2 else scale)   # noqa: E731
        W_ih, W_hh, b_ih, b_hh = prep(W_ih), prep(W_hh), prep(b_ih), prep(b_hh)
        if table is not None:                   # (V, G*H) = E W_ih^T + b_ih in the model's row order
            table = table.float()[:, order] * scale
        if kind == "gru":                       # n needs W_hn h apart from W_in x
            self.table = None if table is None else np.ascontiguousarray(table.numpy())   # (V, 3H)
            self.W_x = f32(W_ih.T)                                  # (D, 3H)
            self.W_h = f32(W_hh.T)                                  # (H, 3H)
            self.b_x, self.b_h = f32(b_ih), f32(b_hh)
            self.gx = np.zeros((batch, 3 * H), np.float32)
            self.gh = np.zeros((batch, 3 * H), np.float32)
        else:
            if table is None:                   # [x; h; 1] W: the biases are the last row of W
                self.W = f32(torch.cat([W_ih.T, W_hh.T, (b_ih + b_hh)[None]], dim=0))     # (D+H+1, G*H)
                self.xh = np.zeros((batch, self.D + H + 1), np.float32)
                self.xh[:, -1] = 1.0
                self.table = None
            else:                               # x W_ih^T + b_ih + b_hh is the table's row
                self.W_h = f32(W_hh.T)                              # (H, G*H)
                self.table = np.ascontiguousarray((table + b_hh).numpy())
                self.xh = None
            self.gates = np.zeros((batch, G * H), np.float32)
        self.h = np.zeros((batch, H), np.float32)
        self.c = np.zeros((batch, H), np.float32) if kind == "lstm" else None
        self.tmp = np.zeros((batch, H), np.float32)

    def step(self, x: np.ndarray | None, tokens: np.ndarray | None) -> np.ndarray:
        """x (B, D) or, with a token table, tokens (B,) -> h (B, H), the state updated in place."""
        H = self.H
        if self.kind == "gru":
            return self._gru(x, tokens)
        g = self.gates
        if self.table is not None:                                  # x W_ih^T + b is the table's row
            np.dot(self.h, self.W_h, out=g)                         # (B, G*H)
            g += self.table[tokens]
        else:
            self.xh[:, :self.D] = x
            self.xh[:, self.D:-1] = self.h
            np.dot(self.xh, self.W, out=g)                          # (B, G*H) = [x h 1] [W_ih^T; W_hh^T; b]
        if self.kind == "rnn":
            np.tanh(g, out=self.h)                                  # h = tanh(x W_ih^T + h W_hh^T + b)
            return self.h
        np.tanh(g, out=g)                                           # tanh(a / 2) of i f o, tanh(a_g) of g
        ifo, gg = g[:, :3 * H], g[:, 3 * H:]
        ifo *= 0.5                                                  # sigma(a) = (1 + tanh(a / 2)) / 2
        ifo += 0.5
        i, f, o = ifo[:, :H], ifo[:, H:2 * H], ifo[:, 2 * H:]
        self.c *= f                                                 # c = f c + i g
        np.multiply(i, gg, out=self.tmp)
        self.c += self.tmp
        np.tanh(self.c, out=self.tmp)                               # h = o tanh(c)
        np.multiply(o, self.tmp, out=self.h)
        return self.h

    def _gru(self, x, tokens) -> np.ndarray:
        H, gx, gh = self.H, self.gx, self.gh
        if self.table is not None:
            gx[:] = self.table[tokens]                              # (B, 3H) = x W_ih^T + b_ih
        else:
            np.dot(x, self.W_x, out=gx)
            gx += self.b_x
        np.dot(self.h, self.W_h, out=gh)                            # (B, 3H)
        gh += self.b_h
        rz = gx[:, :2 * H]
        rz += gh[:, :2 * H]                                         # (a_r, a_z) / 2
        np.tanh(rz, out=rz)
        rz *= 0.5                                                   # sigma(a) = (1 + tanh(a / 2)) / 2
        rz += 0.5
        r, z = rz[:, :H], rz[:, H:]
        n = gx[:, 2 * H:]
        np.multiply(r, gh[:, 2 * H:], out=self.tmp)                 # n = tanh(x W_in + b_in + r (h W_hn + b_hn))
        n += self.tmp
        np.tanh(n, out=n)
        np.subtract(self.h, n, out=self.tmp)                        # h = (1 - z) n + z h = n + z (h - n)
        self.tmp *= z
        np.add(n, self.tmp, out=self.h)
        return self.h


class Stepper:
    """Steps a LanguageModel token by token: step(tokens (B,)) -> logits (B, V) of the next token."""

    def __init__(self, model, batch_size: int = 1):
        rec = model.recurrent
        self.kind, self.num_layers, self.batch = rec.kind, rec.num_layers, batch_size
        self.vocab_size = model.cfg.vocab_size
        with torch.no_grad():
            E = model.embed.weight.float() if model.embed is not None else None   # (V, D) or one-hot
            self.layers = []
            for k in range(rec.num_layers):
                W_ih, W_hh, b_ih, b_hh = rec.layer_weights(k)
                table = None
                if k == 0 and self.vocab_size * W_ih.shape[0] <= LOOKUP_LIMIT:
                    rows = E @ W_ih.float().T if E is not None else W_ih.float().T      # (V, G*H)
                    table = (rows + b_ih.float()).cpu()                                  # (V, G*H)
                self.layers.append(_Layer(rec.kind, W_ih, W_hh, b_ih, b_hh, batch_size, table))
            self.embed = None if E is None else np.ascontiguousarray(E.cpu().numpy())
            self.head_W = np.ascontiguousarray(model.head.weight.detach().float().T.cpu().numpy())   # (H, V)
            self.head_b = np.ascontiguousarray(model.head.bias.detach().float().cpu().numpy())
        self.logits = np.zeros((batch_size, self.vocab_size), np.float32)
        self.eye = None

    def _input(self, tokens: np.ndarray) -> np.ndarray:
        if self.embed is not None:
            return self.embed[tokens]                               # (B, D)
        if self.eye is None:
            self.eye = np.eye(self.vocab_size, dtype=np.float32)
        return self.eye[tokens]                                     # (B, V) one-hot

    def step(self, tokens) -> np.ndarray:
        """tokens (B,) ints -> (B, V) float32 logits (a buffer reused by the next step: copy to keep)."""
        tokens = np.asarray(tokens, dtype=np.int64)
        x = None
        for k, layer in enumerate(self.layers):
            if k == 0 and layer.table is not None:
                x = layer.step(None, tokens)
            else:
                x = layer.step(self._input(tokens) if k == 0 else x, None)
        np.dot(x, self.head_W, out=self.logits)                     # (B, V)
        self.logits += self.head_b
        return self.logits

    def set_state(self, state) -> None:
        """Copy a model state (tuple of (layers, B, H) tensors) in."""
        for k, layer in enumerate(self.layers):
            layer.h[:] = state[0][k].detach().float().cpu().numpy()
            if layer.c is not None:
                layer.c[:] = state[1][k].detach().float().cpu().numpy()

    def state(self) -> tuple[torch.Tensor, ...]:
        """The current state in the model's layout: (h,) or (h, c), each (layers, B, H)."""
        h = torch.from_numpy(np.stack([layer.h for layer in self.layers]))
        if self.kind != "lstm":
            return (h,)
        return h, torch.from_numpy(np.stack([layer.c for layer in self.layers]))


@torch.no_grad()
def primed_stepper(model, prime_rows: list[list[int]]) -> tuple[Stepper, np.ndarray]:
    """A Stepper for len(prime_rows) sequences of equal length, the primes read by one fused forward pass:
    returns it and the (B, V) logits after the last prime token."""
    was_training = model.training
    model.eval()
    try:
        x = torch.tensor(prime_rows, dtype=torch.long, device=next(model.parameters()).device)   # (B, P)
        logits, state = model(x)                                                              # (B, P, V)
    finally:
        model.train(was_training)
    stepper = Stepper(model, batch_size=len(prime_rows))
    stepper.set_state(state)
    return stepper, logits[:, -1].float().cpu().numpy()
