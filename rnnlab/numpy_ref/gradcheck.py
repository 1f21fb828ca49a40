"""Centred finite differences against the hand-written gradients, in float64."""
from __future__ import annotations

import numpy as np
import torch

from ..config import ModelConfig
from ..models.language_model import LanguageModel
from .model import NumpyLM

TOLERANCE = 1e-6


def relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)


def check_model(model: NumpyLM, tokens: np.ndarray, targets: np.ndarray, eps: float = 1e-6,
                max_entries: int | None = None, seed: int = 0) -> dict[str, float]:
    """Max relative error per parameter between analytic (float64) and numerical gradients.

    The centred differences run on an extended-precision copy (np.longdouble, 64-bit
    mantissa on x86), so their rounding error stays far below the 1e-6 being tested.
    """
    _, grads, _ = model.loss_and_grads(tokens, targets)
    model = NumpyLM(model.cfg, {k: v.astype(np.longdouble) for k, v in model.params.items()})
    rng = np.random.default_rng(seed)
    errors = {}
    for name, p in model.params.items():
        flat = p.reshape(-1)
        idx = np.arange(flat.size) if max_entries is None or flat.size <= max_entries else \
            rng.choice(flat.size, max_entries, replace=False)
        numeric = np.empty(len(idx))
        for j, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + eps
            plus = model.loss_and_grads(tokens, targets)[0]
            flat[i] = old - eps
            minus = model.loss_and_grads(tokens, targets)[0]
            flat[i] = old
            numeric[j] = (plus - minus) / (2 * eps)
        analytic = grads[name].reshape(-1)[idx]
        significant = np.maximum(np.abs(numeric), np.abs(analytic)) > 1e-12  # skip exact zeros (unused one-hot columns)
        errors[name] = float(relative_error(analytic[significant], numeric[significant]).max()) if significant.any() else 0.0
    return errors


def gradcheck(kind: str, seed: int = 0, embed: int = 0, layers: int = 2) -> dict[str, float]:
    """A small 2-layer model of `kind` on random tokens: max relative error per parameter."""
    torch.manual_seed(seed)
    cfg = ModelConfig(model=kind, vocab_size=7, embed=embed, hidden=5, layers=layers, dropout=0.0)
    model = NumpyLM.from_torch(LanguageModel(cfg), np.float64)
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, 7, (3, 6))
    targets = rng.integers(0, 7, (3, 6))
    return check_model(model, tokens, targets)
