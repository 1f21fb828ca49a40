"""Reservoir initialisers as small named functions (after reservoirpy's mat_gen)."""
from __future__ import annotations

import numpy as np
import torch

from .threads import one_torch_thread


def spectral_radius(W: np.ndarray, band: float = 1e-4, refine_steps: int = 3, max_candidates: int = 8) -> float:
    """Largest absolute eigenvalue, exact to float64 precision, about twice as fast as np.linalg.eigvals.

    All eigenvalues are found in float32 (LAPACK geev, relative error ~1e-6); each candidate within
    `band` of the largest modulus is then refined in complex128 by shifted inverse iteration,
    v <- (W - lambda0 I)^-1 v, and read off as the Rayleigh quotient v^H W v / v^H v.
    Spectra with many eigenvalues of equal modulus (rotations, permutations) or a shift that hits an
    eigenvalue exactly fall back to a float64 eigvals.
    """
    W64 = torch.from_numpy(np.ascontiguousarray(W, dtype=np.float64))        # (n, n)
    n = W64.shape[0]
    with one_torch_thread():
        rough = torch.linalg.eigvals(W64.float()).to(torch.complex128)       # (n,) float32 accuracy
        modulus = rough.abs()
        if float(modulus.max()) == 0.0:
            return 0.0
        candidates = rough[(modulus >= modulus.max() * (1 - band)) & (rough.imag >= 0)]  # conjugates share |λ|
        if len(candidates) > max_candidates:
            return float(torch.linalg.eigvals(W64).abs().max())
        A = W64.to(torch.complex128)
        eye = torch.eye(n, dtype=torch.complex128)
        start = torch.ones(n, 1, dtype=torch.complex128) / n ** 0.5
        best = 0.0
        for lam0 in candidates:
            LU, pivots, singular = torch.linalg.lu_factor_ex(A - lam0 * eye)
            if singular:                                                     # λ0 is an eigenvalue to the last bit
                best = max(best, abs(lam0.item()))
                continue
            v = start
            for _ in range(refine_steps):                                    # converges by |λ-λ0| / |λ'-λ0| per step
                v = torch.linalg.lu_solve(LU, pivots, v)
                v = v / torch.linalg.vector_norm(v)
            lam = (v.conj().T @ (A @ v)).item()                              # Rayleigh quotient, v normalised
            if not np.isfinite(lam) or abs(abs(lam) - abs(lam0.item())) > 1e-3 * abs(lam0.item()):
                return float(torch.linalg.eigvals(W64).abs().max())          # singular shift or a stray vector
            best = max(best, abs(lam))
    return best


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
