"""Optimizers and clipping for dicts of NumPy arrays (min-char-rnn's Adagrad, and Adam)."""
from __future__ import annotations

import numpy as np


def clip_elementwise(grads: dict, limit: float) -> None:
    """Clip every gradient element to [-limit, limit] in place (min-char-rnn's np.clip(d, -5, 5))."""
    for g in grads.values():
        np.clip(g, -limit, limit, out=g)


def clip_global_norm(grads: dict, max_norm: float) -> float:
    """Scale all gradients so their joint L2 norm is at most max_norm; return the norm before."""
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / (norm + 1e-6)
    return norm


class Adagrad:
    """mem += g^2;  p -= lr * g / sqrt(mem + eps)"""

    def __init__(self, params: dict, lr: float, eps: float = 1e-8):
        self.lr, self.eps = lr, eps
        self.mem = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict, grads: dict) -> None:
        for k, g in grads.items():
            self.mem[k] += g * g
            params[k] -= self.lr * g / np.sqrt(self.mem[k] + self.eps)

    def state_dict(self) -> dict:
        return {"mem": self.mem}

    def load_state_dict(self, d: dict) -> None:
        self.mem = d["mem"]


class Adam:
    """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr * m_hat / (sqrt(v_hat) + eps)"""

    def __init__(self, params: dict, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict, grads: dict) -> None:
        b1, b2 = self.betas
        self.t += 1
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat = self.m[k] / (1 - b1 ** self.t)
            v_hat = self.v[k] / (1 - b2 ** self.t)
            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def state_dict(self) -> dict:
        return {"m": self.m, "v": self.v, "t": self.t}

    def load_state_dict(self, d: dict) -> None:
        self.m, self.v, self.t = d["m"], d["v"], int(d["t"])


OPTIMIZERS = {"adagrad": Adagrad, "adam": Adam}
