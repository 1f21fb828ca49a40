"""Reservoir initialisers as small named functions (after reservoirpy's mat_gen); the spectral-radius
rule itself is rnnlab.spectral's, shared with the RNNs' --init esn."""
from __future__ import annotations

import numpy as np

from .. import spectral
from .threads import one_torch_thread


def spectral_radius(W: np.ndarray) -> float:
    """Largest absolute eigenvalue of a square matrix to float64 accuracy (rnnlab.spectral), on one torch thread."""
    with one_torch_thread():
        return spectral.spectral_radius(W)


def sparse_reservoir(n: int, density: float, radius: float, rng: np.random.Generator) -> np.ndarray:
    """(n, n) recurrent weights: a `density` fraction of entries ~ U(-1, 1), scaled to spectral radius `radius`."""
    with one_torch_thread():
        return spectral.sparse_uniform(n, density, radius, rng)


def input_weights(n: int, n_in: int, scaling: float, rng: np.random.Generator, density: float = 1.0) -> np.ndarray:
    """(n, n_in) input weights ~ U(-scaling, scaling), a `density` fraction non-zero."""
    return rng.uniform(-scaling, scaling, (n, n_in)) * (rng.random((n, n_in)) < density)


def feedback_weights(n: int, n_out: int, scaling: float, rng: np.random.Generator) -> np.ndarray:
    """(n, n_out) output-to-reservoir weights ~ U(-scaling, scaling)."""
    return rng.uniform(-scaling, scaling, (n, n_out))


def bias_vector(n: int, scaling: float, rng: np.random.Generator) -> np.ndarray:
    """(n,) constant input to each unit ~ U(-scaling, scaling)."""
    return rng.uniform(-scaling, scaling, n)
