"""Ridge-regression readouts: a one-shot solve, and a running accumulator that takes the states block by block.

    W = argmin |X W - Y|^2 + ridge |W|^2   <=>   (X^T X + ridge I) W = X^T Y    (Cholesky, no inverse)

The accumulator keeps float64 sums over row blocks, shifted by the first block's mean so that centring at
the end loses no digits: with S = sum (x - s)(x - s)^T and d = mean(x) - s, the centred Gram is
S - n d d^T. The intercept, not penalised, is mean(Y) - mean(X) W.
"""
from __future__ import annotations

import numpy as np
import torch

from .threads import one_torch_thread


def ridge_solve(X: np.ndarray, Y: np.ndarray, ridge: float) -> np.ndarray:
    """argmin_W |X W - Y|^2 + ridge |W|^2 through the normal equations and a Cholesky solve (float64)."""
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    return solve_normal_equations(X.T @ X, X.T @ Y, ridge)


def solve_normal_equations(gram: np.ndarray, cross: np.ndarray, ridge: float) -> np.ndarray:
    """Solve (gram + ridge I) W = cross (F,) or (F, O); a rank-deficient gram with ridge 0 gets the
    minimum-norm solution."""
    A = np.array(gram, dtype=np.float64)
    A[np.diag_indices_from(A)] += ridge
    B = np.asarray(cross, dtype=np.float64)
    B2 = B.reshape(len(B), -1)                                             # (F, O)
    with one_torch_thread():
        L, info = torch.linalg.cholesky_ex(torch.from_numpy(A))            # A = L L^T
        if int(info) == 0:
            return torch.cholesky_solve(torch.from_numpy(B2), L).numpy().reshape(B.shape)
    values, vectors = np.linalg.eigh(A)                                    # not positive definite: pseudo-inverse
    keep = values > values.max() * len(values) * np.finfo(float).eps
    return (vectors[:, keep] @ ((vectors[:, keep].T @ B2) / values[keep, None])).reshape(B.shape)


class RidgeAccumulator:
    """Sums for a ridge readout with intercept, fed row blocks of features X (n, F) and targets Y (n, O)."""

    def __init__(self) -> None:
        self.rows = 0
        self.gram = self.cross = self.x_sum = self.y_sum = self.x_shift = self.y_shift = None

    def add(self, X: np.ndarray, Y: np.ndarray) -> None:
        """Fold in one block of rows (any float dtype; summed in float64)."""
        if self.rows == 0:
            self.x_shift, self.y_shift = X.mean(axis=0, dtype=np.float64), Y.mean(axis=0, dtype=np.float64)
            F, O = X.shape[1], Y.shape[1]
            self.gram, self.cross = np.zeros((F, F)), np.zeros((F, O))
            self.x_sum, self.y_sum = np.zeros(F), np.zeros(O)
        Xs = X - self.x_shift                                       # (n, F) float64
        Ys = Y - self.y_shift                                       # (n, O) float64
        self.gram += Xs.T @ Xs                                      # symmetric rank-n update (BLAS syrk)
        self.cross += Xs.T @ Ys
        self.x_sum += Xs.sum(axis=0)
        self.y_sum += Ys.sum(axis=0)
        self.rows += len(X)

    def solve(self, ridge: float) -> tuple[np.ndarray, np.ndarray]:
        """(W (F, O), intercept (O,)) of the ridge fit on the centred data."""
        if self.rows == 0:
            raise ValueError("no rows were added")
        d, e = self.x_sum / self.rows, self.y_sum / self.rows      # mean - shift
        gram = self.gram - self.rows * np.outer(d, d)
        cross = self.cross - self.rows * np.outer(d, e)
        W = solve_normal_equations(gram, cross, ridge)
        intercept = (self.y_shift + e) - (self.x_shift + d) @ W
        return W, intercept
