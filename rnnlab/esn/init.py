"""Reservoir initialisers as small named functions (after reservoirpy's mat_gen)."""
from __future__ import annotations

import numpy as np


def spectral_radius(W: np.ndarray) -> float:
    """Largest absolute eigenvalue."""
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def sparse_reservoir(n: int, density: float, radius: float, rng: np.random.Generator) -> np.ndarray:
    """(n, n) recurrent weights: a `density` fraction of entries ~ U(-1, 1), scaled to spectral radius `radius`."""
    W = rng.uniform(-1.0, 1.0, (n, n)) * (rng.random((n, n)) < density)
    current = spectral_radius(W)
    return W * (radius / current) if current > 0 else W


def input_weights(n: int, n_in: int, scaling: float, rng: np.random.Generator, density: float = 1.0) -> np.ndarray:
    """(n, n_in) input weights ~ U(-scaling, scaling), a `density` fraction non-zero."""
    return rng.uniform(-scaling, scaling, (n, n_in)) * (rng.random((n, n_in)) < density)


def feedback_weights(n: int, n_out: int, scaling: float, rng: np.random.Generator) -> np.ndarray:
    """(n, n_out) output-to-reservoir weights ~ U(-scaling, scaling)."""
    return rng.uniform(-scaling, scaling, (n, n_out))


def bias_vector(n: int, scaling: float, rng: np.random.Generator) -> np.ndarray:
    """(n,) constant input to each unit ~ U(-scaling, scaling)."""
    return rng.uniform(-scaling, scaling, n)
