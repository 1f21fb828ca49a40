"""A character language model in NumPy: one-hot or embedding input -> recurrent layers -> softmax.

Parameter names equal LanguageModel's state_dict keys, so a NumPy model and a PyTorch
model with the same config share weights exactly (from_torch; params copy back by name).
"""
from __future__ import annotations

import numpy as np

from ..config import ModelConfig
from . import layers as L

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class NumpyLM:
    """forward/backward by hand. State: tuple of (layers, B, H) arrays, (h,) or (h, c) like the PyTorch model."""

    def __init__(self, cfg: ModelConfig, params: dict[str, np.ndarray]):
        self.cfg, self.params = cfg, params

    @classmethod
    def from_torch(cls, model, dtype=np.float64) -> "NumpyLM":
        """Copy a LanguageModel's weights (its init or trained values)."""
        return cls(model.cfg, {k: v.detach().cpu().double().numpy().astype(dtype) for k, v in model.state_dict().items()})

    def p(self, name: str, k: int | None = None) -> np.ndarray:
        return self.params[f"recurrent.layers.{k}.{name}_l0"] if k is not None else self.params[name]

    def init_state(self, batch_size: int):
        c = self.cfg
        dtype = self.params["head.weight"].dtype
        return tuple(np.zeros((c.layers, batch_size, c.hidden), dtype) for _ in range(2 if c.model == "lstm" else 1))

    # ------------------------------------------------------------------ forward
    def forward(self, tokens: np.ndarray, state=None):
        """tokens (B, T) ints -> logits (B, T, V), new state, cache for backward."""
        cfg = self.cfg
        B, T = tokens.shape
        state = state if state is not None else self.init_state(B)
        ids = tokens.T                                                  # (T, B) time-major
        if cfg.embed:
            x = self.p("embed.weight")[ids]                             # (T, B, E)
            ax = x @ self.p("weight_ih", 0).T + self.p("bias_ih", 0)    # (T, B, G*H)
        else:
            x = None                                                    # one-hot: W_ih x_t is column x_t of W_ih
            ax = self.p("weight_ih", 0).T[ids] + self.p("bias_ih", 0)   # (T, B, G*H)
        layer_caches, finals, hs = [], [], None
        for k in range(cfg.layers):
            if k:
                x = hs                                                  # the layer below's outputs
                ax = x @ self.p("weight_ih", k).T + self.p("bias_ih", k)  # (T, B, G*H)
            W_hh, b_hh = self.p("weight_hh", k), self.p("bias_hh", k)
            if cfg.model == "lstm":
                hs, cs, cache = L.lstm_forward(ax, state[0][k], state[1][k], W_hh, b_hh)
                finals.append((hs[-1], cs[-1]))
            elif cfg.model == "gru":
                hs, cache = L.gru_forward(ax, state[0][k], W_hh, b_hh)
                finals.append((hs[-1],))
            else:
                hs, cache = L.rnn_forward(ax, state[0][k], W_hh, b_hh)
                finals.append((hs[-1],))
            layer_caches.append((x, cache))
        logits = hs @ self.p("head.weight").T + self.p("head.bias")     # (T, B, V)
        new_state = tuple(np.stack([f[i] for f in finals]) for i in range(len(state)))
        return logits.transpose(1, 0, 2), new_state, (ids, hs, layer_caches)

    # ------------------------------------------------------------------ backward
    def loss_and_grads(self, tokens: np.ndarray, targets: np.ndarray, state=None, dstate=None):
        """Mean cross-entropy (nats per token) of targets (B, T), gradients of every parameter, new state.
        dstate: optional gradient of the loss w.r.t. the returned state (zeros in TBPTT)."""
        cfg = self.cfg
        logits, new_state, (ids, top, layer_caches) = self.forward(tokens, state)
        B, T, V = logits.shape
        probs = softmax(logits.transpose(1, 0, 2))                      # (T, B, V)
        tgt = targets.T                                                 # (T, B)
        picked = np.take_along_axis(probs, tgt[..., None], axis=2)[..., 0]
        loss = -np.log(picked).mean()                                  # a NumPy scalar in the params dtype
        dlogits = probs                                                 # softmax-CE gradient: p - onehot(y)
        np.put_along_axis(dlogits, tgt[..., None], picked[..., None] - 1.0, axis=2)
        dlogits /= B * T                                                # (T, B, V)
        grads = {"head.weight": dlogits.reshape(-1, V).T @ top.reshape(-1, cfg.hidden),
                 "head.bias": dlogits.sum(axis=(0, 1))}
        dhs = dlogits @ self.p("head.weight")                           # (T, B, H)
        dstate = dstate if dstate is not None else tuple(np.zeros_like(s) for s in new_state)
        for k in reversed(range(cfg.layers)):
            x, cache = layer_caches[k]
            W_hh = self.p("weight_hh", k)
            if cfg.model == "lstm":
                dax, _, _, dW_hh, db_hh = L.lstm_backward(dhs, dstate[0][k], dstate[1][k], cache, W_hh)
            elif cfg.model == "gru":
                dax, _, dW_hh, db_hh = L.gru_backward(dhs, dstate[0][k], cache, W_hh)
            else:
                dax, _, dW_hh, db_hh = L.rnn_backward(dhs, dstate[0][k], cache, W_hh)
            G = dax.shape[2]
            grads[f"recurrent.layers.{k}.weight_hh_l0"] = dW_hh
            grads[f"recurrent.layers.{k}.bias_hh_l0"] = db_hh
            grads[f"recurrent.layers.{k}.bias_ih_l0"] = dax.sum(axis=(0, 1))
            W_ih = self.p("weight_ih", k)
            if x is None:                                               # one-hot input: scatter into columns
                dW_ihT = np.zeros((W_ih.shape[1], G), dax.dtype)
                np.add.at(dW_ihT, ids.ravel(), dax.reshape(-1, G))
                grads[f"recurrent.layers.{k}.weight_ih_l0"] = dW_ihT.T
            else:
                grads[f"recurrent.layers.{k}.weight_ih_l0"] = dax.reshape(-1, G).T @ x.reshape(-1, x.shape[2])
                dhs = dax @ W_ih                                        # (T, B, D) to the layer below
        if cfg.embed:
            dE = np.zeros_like(self.p("embed.weight"))
            np.add.at(dE, ids.ravel(), dhs.reshape(-1, cfg.embed))
            grads["embed.weight"] = dE
        return loss, grads, new_state
