"""EchoStateNetwork: leaky tanh reservoir, optional output feedback, ridge-regression readout.

    x_t = (1 - a) x_{t-1} + a tanh(W x_{t-1} + W_in u_t + W_fb y_{t-1} + b)     reservoir (fixed)
    y_t = W_out [1; u_t; x_t]                                                  readout (learned)

Only W_out is learned, in closed form: on centred features and targets,
(X^T X + ridge I) W = X^T Y, solved with a Cholesky factorisation (no explicit
inverse); the intercept (not penalised) is mean(Y) - mean(X) W. Sequences are batched: u (B, T, n_in).
"""
from __future__ import annotations

import numpy as np

from ..errors import require
from . import init


class EchoStateNetwork:
    """A reservoir of `n_reservoir` leaky tanh units and a linear readout."""

    def __init__(self, n_reservoir: int = 500, spectral_radius: float = 0.9, input_scaling: float = 1.0,
                 density: float = 0.1, leak_rate: float = 1.0, bias_scaling: float = 0.0, ridge: float = 1e-8,
                 feedback: bool = False, feedback_scaling: float = 1.0, seed=None, dtype=np.float32):
        require(n_reservoir > 0, "n_reservoir must be positive", "pass e.g. n_reservoir=500")
        require(0 < leak_rate <= 1, f"leak_rate must be in (0, 1], got {leak_rate}", "pass e.g. leak_rate=0.3")
        self.n, self.radius, self.input_scaling, self.density = n_reservoir, spectral_radius, input_scaling, density
        self.leak, self.bias_scaling, self.ridge = leak_rate, bias_scaling, ridge
        self.feedback, self.feedback_scaling = feedback, feedback_scaling
        self.dtype = np.dtype(dtype)   # of the reservoir run (float32: twice the speed); readouts solve in float64
        self.rng = np.random.default_rng(seed)
        self.W = init.sparse_reservoir(n_reservoir, density, spectral_radius, self.rng)
        self.b = init.bias_vector(n_reservoir, bias_scaling, self.rng)
        self.W_in = self.W_fb = self.W_out = None

    def _build(self, n_in: int, n_out: int) -> None:
        if self.W_in is None or self.W_in.shape[1] != n_in:
            self.W_in = init.input_weights(self.n, n_in, self.input_scaling, self.rng)
        if self.feedback and (self.W_fb is None or self.W_fb.shape[1] != n_out):
            self.W_fb = init.feedback_weights(self.n, n_out, self.feedback_scaling, self.rng)

    # ------------------------------------------------------------------ reservoir
    def run(self, u: np.ndarray, x0: np.ndarray | None = None, y_prev: np.ndarray | None = None,
            noise: float = 0.0) -> np.ndarray:
        """Drive the reservoir: u (B, T, n_in) [and teacher outputs y_prev (B, T, n_out) fed back] -> x (B, T, N)."""
        u = _batch(u)
        B, T, _ = u.shape
        drive = u @ self.W_in.T + self.b                                # (B, T, N) input part, all steps at once
        if self.feedback and y_prev is not None:
            drive += _batch(y_prev) @ self.W_fb.T
        if noise:
            drive += self.rng.uniform(-noise, noise, drive.shape)       # state noise for feedback training
        drive = drive.astype(self.dtype)
        states = np.empty((B, T, self.n), dtype=self.dtype)
        x_prev = np.zeros((B, self.n), self.dtype) if x0 is None else np.array(x0, dtype=self.dtype).reshape(B, self.n)
        a, WT = self.dtype.type(self.leak), self._WT_run()
        pre = np.empty((B, self.n), self.dtype)
        for t in range(T):                                              # x_t = (1-a) x_{t-1} + a tanh(W x_{t-1} + drive_t)
            np.matmul(x_prev, WT, out=pre)
            pre += drive[:, t]
            np.tanh(pre, out=pre)
            pre *= a
            x = states[:, t]
            np.multiply(x_prev, 1 - a, out=x)
            x += pre
            x_prev = x
        return states

    def _WT_run(self) -> np.ndarray:
        """W^T in the run dtype, contiguous (cached): x @ W^T for a batch of row vectors."""
        if getattr(self, "_WT_cache", None) is None or self._WT_cache.dtype != self.dtype:
            self._WT_cache = np.ascontiguousarray(self.W.T, dtype=self.dtype)
        return self._WT_cache

    @staticmethod
    def features(u: np.ndarray, states: np.ndarray) -> np.ndarray:
        """Readout inputs [1; u_t; x_t]: (B, T, 1 + n_in + N)."""
        ones = np.ones(states.shape[:2] + (1,))
        return np.concatenate([ones, _batch(u), states], axis=2)

    # ------------------------------------------------------------------ learning
    def fit(self, u: np.ndarray, y: np.ndarray, washout: int = 100, noise: float = 0.0) -> "EchoStateNetwork":
        """Teacher-forced run over u (B, T, n_in) with targets y (B, T, n_out); ridge readout after `washout`."""
        u, y = _batch(u), _batch(y)
        require(u.shape[:2] == y.shape[:2], f"u has {u.shape[:2]} steps but y has {y.shape[:2]}", "align u and y")
        require(0 <= washout < u.shape[1], f"washout {washout} leaves no training steps", "use a shorter washout")
        self._build(u.shape[2], y.shape[2])
        y_prev = np.concatenate([np.zeros_like(y[:, :1]), y[:, :-1]], axis=1) if self.feedback else None
        states = self.run(u, y_prev=y_prev, noise=noise)
        X = np.concatenate([u, states], axis=2)[:, washout:].reshape(-1, u.shape[2] + self.n)  # (B*T', n_in + N) f64
        Y = y[:, washout:].reshape(-1, y.shape[2])
        x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
        X -= x_mean                                                     # in place: one copy of the states only
        W = ridge_solve(X, Y - y_mean, self.ridge)                      # centred: the intercept is not penalised
        self.W_out = np.vstack([y_mean - x_mean @ W, W])                # (1 + n_in + N, n_out)
        self.last_state, self.last_output = states[:, -1], y[:, -1]
        return self

    def predict(self, u: np.ndarray, x0=None) -> np.ndarray:
        """Driven mode (no feedback, or feedback of its own outputs is not used): outputs (B, T, n_out)."""
        require(not self.feedback, "predict() needs the outputs fed back; use generate()", "use generate(n, u)")
        states = self.run(u, x0=x0)
        self.last_state = states[:, -1]
        return self.features(u, states) @ self.W_out

    def generate(self, n: int, u: np.ndarray | None = None, x0=None, y0=None) -> np.ndarray:
        """Closed loop for n steps from state x0 (default: the end of fit/predict): each output is fed back,
        as the next input when u is None (autonomous), else through the feedback weights."""
        require(self.W_out is not None, "the readout is not fitted", "call fit() first")
        x = np.array(self.last_state if x0 is None else x0, dtype=float)
        y = np.array(self.last_output if y0 is None else y0, dtype=float)
        B = x.shape[0]
        autonomous = u is None
        u = None if autonomous else _batch(u)
        outputs = np.empty((B, n, self.W_out.shape[1]))
        a, WT = self.leak, self.W.T
        for t in range(n):
            u_t = y if autonomous else u[:, t]                          # (B, n_in)
            pre = x @ WT + u_t @ self.W_in.T + self.b
            if self.feedback:
                pre += y @ self.W_fb.T
            x = (1 - a) * x + a * np.tanh(pre)
            y = np.concatenate([np.ones((B, 1)), u_t, x], axis=1) @ self.W_out
            outputs[:, t] = y
        self.last_state, self.last_output = x, y
        return outputs


def ridge_solve(X: np.ndarray, Y: np.ndarray, ridge: float) -> np.ndarray:
    """argmin_W |X W - Y|^2 + ridge |W|^2 through the normal equations and a Cholesky solve."""
    A = X.T @ X
    A[np.diag_indices_from(A)] += ridge
    try:
        L = np.linalg.cholesky(A)
        return np.linalg.solve(L.T, np.linalg.solve(L, X.T @ Y))
    except np.linalg.LinAlgError:          # ridge 0 on rank-deficient states: least squares instead
        return np.linalg.lstsq(X, Y, rcond=None)[0]


def nrmse(pred: np.ndarray, target: np.ndarray) -> float:
    """RMSE / standard deviation of the target (Jaeger's convention)."""
    return float(np.sqrt(np.mean((pred - target) ** 2)) / np.std(target))


def _batch(a: np.ndarray) -> np.ndarray:
    """(T,) or (T, d) or (B, T, d) -> (B, T, d) float."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    return a[None] if a.ndim == 2 else a
