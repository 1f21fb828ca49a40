"""Recurrent weight matrices at a chosen spectral radius, as small named initialisers (after reservoirpy's
mat_gen). Neutral ground: the echo state networks' reservoirs (esn/init.py) and the RNNs' `--init esn`
blocks (models/recurrent.py) draw their matrices here, by one rule.
"""
from __future__ import annotations

import numpy as np
import torch

from .errors import require


def spectral_radius(W: np.ndarray) -> float:
    """Largest absolute eigenvalue of a square matrix, to float64 accuracy.

    From n = 64 up it takes a shortcut about twice as fast as np.linalg.eigvals: all eigenvalues in
    float32 (relative error ~1e-6), then each near-largest one refined in float64 by shifted inverse
    iteration. Where float32 cannot tell the top eigenvalues apart (clusters, repeated or defective
    eigenvalues, rotations) or the refinement does not converge, it computes the float64 eigenvalues.
    It uses torch's thread pool as it is; the ESN calls it with one thread (esn.init).
    """
    W = np.asarray(W, dtype=np.float64)
    require(W.ndim == 2 and W.shape[0] == W.shape[1], f"spectral radius of a {W.shape} array",
            "pass a square matrix")
    require(bool(np.isfinite(W).all()), "the matrix has NaN or infinite entries", "check how the weights were made")
    scale = float(np.abs(W).max()) if W.size else 0.0
    if scale == 0.0:
        return 0.0
    A = W / scale                                        # entries in [-1, 1]: float32 neither overflows nor underflows
    radius = _refined_radius(torch.from_numpy(A)) if len(A) >= 64 else None
    if radius is None:
        radius = float(np.abs(np.linalg.eigvals(A)).max())
    return scale * radius


def _refined_radius(A: torch.Tensor, isolation: float = 1e-3, max_steps: int = 10,
                    accuracy: float = 1e-11) -> float | None:
    """max |λ| of A (n, n) float64 from float32 eigenvalues refined by inverse iteration; None if not certain.

    Each candidate λ0 (modulus within `isolation` of the largest) must lie at least isolation * max|λ|
    from every other eigenvalue, so that inverse iteration with shift λ0 converges to it alone:
    v <- (A - λ0 I)^-1 v for the right eigenvector, w <- (A - λ0 I)^-H w for the left one. The two-sided
    Rayleigh quotient λ = w^H A v / w^H v is accepted when condition number x residual, the error bound
    for a non-normal A, is below `accuracy` relative to max|λ|.
    """
    n = A.shape[0]
    rough = torch.linalg.eigvals(A.float()).to(torch.complex128)      # (n,)
    modulus = rough.abs()
    top = float(modulus.max())
    candidates = torch.nonzero((modulus >= top * (1 - isolation)) & (rough.imag >= 0)).flatten()  # conjugates share |λ|
    if len(candidates) > 4:
        return None
    Ac = A.to(torch.complex128)
    generator = torch.Generator().manual_seed(0)
    best = 0.0
    for k in candidates.tolist():
        lam0 = rough[k]
        gaps = torch.cat([rough[:k], rough[k + 1:]]) - lam0
        if len(gaps) and float(gaps.abs().min()) < isolation * top:  # a cluster float32 cannot resolve
            return None
        shifted = Ac.clone()
        shifted.diagonal().sub_(lam0)
        LU, pivots, info = torch.linalg.lu_factor_ex(shifted)
        if int(info) != 0:
            return None
        vw = torch.randn(n, 2, dtype=torch.complex128, generator=generator)
        v, w = vw[:, :1], vw[:, 1:]                                       # (n, 1) right and left vectors
        for _ in range(max_steps):
            v = torch.linalg.lu_solve(LU, pivots, v)
            w = torch.linalg.lu_solve(LU, pivots, w, adjoint=True)
            v, w = v / torch.linalg.vector_norm(v), w / torch.linalg.vector_norm(w)
            Av, wA = Ac @ v, w.conj().T @ Ac                              # (n, 1), (1, n)
            overlap = (w.conj().T @ v).item()                             # w^H v; 1/|w^H v| = condition number
            lam = (wA @ v).item() / overlap
            residual = max(float(torch.linalg.vector_norm(Av - lam * v)),
                           float(torch.linalg.vector_norm(wA - lam * w.conj().T)))
            if residual / abs(overlap) <= accuracy * top:
                break
        else:
            return None
        if abs(lam - lam0.item()) > isolation * top:                   # converged to some other eigenvalue
            return None
        best = max(best, abs(lam))
    return best


def scaled_to_radius(draw, density: float, radius: float, tries: int = 100) -> np.ndarray:
    """draw(keep) -> a square matrix with a `keep` fraction of entries non-zero, scaled to spectral radius
    `radius`. A sparse draw can be nilpotent (radius 0: no cycle to scale); it is redrawn, denser each time."""
    require(0 < density <= 1, f"density must lie in (0, 1], got {density}", "pass e.g. density=0.1")
    for attempt in range(tries):
        W = np.asarray(draw(min(1.0, density * (1 + attempt))), dtype=np.float64)
        current = spectral_radius(W)
        if current > 1e-12 * np.abs(W).max(initial=0.0):
            return W * (radius / current)
    raise AssertionError("unreachable: a dense uniform matrix has a non-zero spectral radius")


def sparse_uniform(n: int, density: float, radius: float, rng: np.random.Generator) -> np.ndarray:
    """(n, n) float64: a `density` fraction of entries ~ U(-1, 1), scaled to spectral radius `radius`;
    drawn from a NumPy generator (the ESN reservoir)."""
    return scaled_to_radius(lambda keep: rng.uniform(-1.0, 1.0, (n, n)) * (rng.random((n, n)) < keep), density, radius)


def sparse_uniform_torch(n: int, density: float, radius: float) -> torch.Tensor:
    """(n, n) float64 tensor by the same rule, drawn from torch's global RNG, so torch.manual_seed decides it
    (the RNNs' --init esn blocks of W_hh)."""
    draw = lambda keep: ((torch.rand(n, n) * 2 - 1) * (torch.rand(n, n) < keep)).double().numpy()  # noqa: E731
    return torch.from_numpy(scaled_to_radius(draw, density, radius))
