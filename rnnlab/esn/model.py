"""EchoStateNetwork: leaky tanh reservoir, optional output feedback, ridge-regression readout.

    x_t = (1 - a) x_{t-1} + a tanh(W x_{t-1} + W_in u_t + W_fb y_{t-1} + b)     reservoir (fixed)
    y_t = W_out [1; u_t; x_t]                                                  readout (learned)

Only W_out is learned, in closed form (see readout.py): ridge regression on centred
features and targets, solved with a Cholesky factorisation (no explicit inverse); the
intercept is not penalised. Sequences are batched: u (B, T, n_in).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import require
from . import init
from .readout import RidgeAccumulator, ridge_solve  # noqa: F401  (ridge_solve: part of this module's API)
from .threads import one_blas_thread, quick_gil_handover

BLOCK = 1024   # reservoir steps per block handed to the readout


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

    def _build(self, n_in: int, n_out: int | None) -> None:
        """Draw input (and feedback) weights for these widths; fit() redraws them when the widths change."""
        if self.W_in is None or self.W_in.shape[1] != n_in:
            self.W_in = init.input_weights(self.n, n_in, self.input_scaling, self.rng)
        if self.feedback and n_out is not None and (self.W_fb is None or self.W_fb.shape[1] != n_out):
            self.W_fb = init.feedback_weights(self.n, n_out, self.feedback_scaling, self.rng)

    def _check_widths(self, u: np.ndarray, y_prev: np.ndarray | None) -> None:
        """The input (and fed-back output) widths must match the weights drawn for them."""
        if self.W_in is None:
            self._build(u.shape[2], None if y_prev is None else y_prev.shape[2])
        require(u.shape[2] == self.W_in.shape[1], f"u has {u.shape[2]} input(s) per step but the reservoir was "
                f"built for {self.W_in.shape[1]}", "pass u with shape (B, T, n_in) as in fit()")
        if y_prev is not None:
            require(y_prev.shape[:2] == u.shape[:2], f"y_prev has {y_prev.shape[:2]} (sequences, steps) but u has "
                    f"{u.shape[:2]}", "give one fed-back output per input step")
            require(self.W_fb is not None and y_prev.shape[2] == self.W_fb.shape[1], f"y_prev has {y_prev.shape[2]} "
                    "output(s) per step but the feedback weights take "
                    f"{0 if self.W_fb is None else self.W_fb.shape[1]}", "pass the outputs the network was fitted to")

    # ------------------------------------------------------------------ reservoir
    def run(self, u: np.ndarray, x0: np.ndarray | None = None, y_prev: np.ndarray | None = None,
            noise: float = 0.0, on_block=None) -> np.ndarray:
        """Drive the reservoir: u (B, T, n_in) [and teacher outputs y_prev (B, T, n_out) fed back] -> x (B, T, N).

        on_block(t0, t1, states) is called after each block of BLOCK steps with the time-major states
        (T, B, N) filled up to t1; fit() hands them to the readout while the next block runs.
        """
        u = _batch(u)
        B, T, _ = u.shape
        y_prev = _batch(y_prev) if self.feedback and y_prev is not None else None
        self._check_widths(u, y_prev)
        states = np.empty((T, B, self.n), dtype=self.dtype)           # time-major: each step writes one block
        require(x0 is None or np.size(x0) == B * self.n, f"x0 has {np.size(x0)} values, not {B} x {self.n}",
                "pass one state of n_reservoir values per sequence")
        x = np.zeros((B, self.n), self.dtype) if x0 is None else np.array(x0, dtype=self.dtype).reshape(B, self.n)
        for t0 in range(0, T, BLOCK):
            t1 = min(T, t0 + BLOCK)
            drive = self._drive(u[:, t0:t1], None if y_prev is None else y_prev[:, t0:t1], noise)
            x = self._advance(drive, states[t0:t1], x)
            if on_block is not None:
                on_block(t0, t1, states)
        return states.transpose(1, 0, 2)

    def _drive(self, u: np.ndarray, y_prev: np.ndarray | None, noise: float) -> np.ndarray:
        """W_in u_t + W_fb y_{t-1} + b [+ state noise] for steps u (B, T, n_in): (T, B, N) in the run dtype."""
        drive = _project(_time_major_rows(u, self.dtype), self.W_in)  # (T*B, N)
        drive += self.b.astype(self.dtype)
        if y_prev is not None:
            drive += _project(_time_major_rows(y_prev, self.dtype), self.W_fb)
        drive = drive.reshape(u.shape[1], u.shape[0], self.n)          # (T, B, N)
        if noise:
            drive += self.rng.uniform(-noise, noise, drive.shape).astype(self.dtype)  # state noise for feedback training
        return drive

    def _advance(self, drive: np.ndarray, out: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The hot loop over drive (T', B, N), writing each x_t into out (T', B, N); returns the last x (B, N)."""
        B = x.shape[0]
        if B == 1:                                                      # one sequence: vector-matrix products
            drive, out, x = drive[:, 0], out[:, 0], x[0]
        a, WT = self.dtype.type(self.leak), self._WT_run()
        pre = np.empty_like(x)
        for t in range(len(drive)):                                     # x_t = (1-a) x_{t-1} + a tanh(W x_{t-1} + drive_t)
            np.matmul(x, WT, out=pre)                                   # (B, N) or (N,)
            pre += drive[t]
            np.tanh(pre, out=pre)
            pre *= a
            x_t = out[t]
            np.multiply(x, 1 - a, out=x_t)
            x_t += pre
            x = x_t
        return x.reshape(B, self.n)

    def _WT_run(self) -> np.ndarray:
        """W^T in the run dtype, contiguous (cached): x @ W^T for a batch of row vectors."""
        if getattr(self, "_WT_cache", None) is None or self._WT_cache.dtype != self.dtype:
            self._WT_cache = np.ascontiguousarray(self.W.T, dtype=self.dtype)
        return self._WT_cache

    def readout(self, u: np.ndarray, states: np.ndarray) -> np.ndarray:
        """y_t = W_out [1; u_t; x_t] for u (B, T, n_in) and states (B, T, N): (B, T, n_out)."""
        u = _batch(u)
        n_in = u.shape[2]
        return self.W_out[0] + u @ self.W_out[1:1 + n_in] + states @ self.W_out[1 + n_in:]

    # ------------------------------------------------------------------ learning
    def fit(self, u: np.ndarray, y: np.ndarray, washout: int = 100, noise: float = 0.0) -> "EchoStateNetwork":
        """Teacher-forced run over u (B, T, n_in) with targets y (B, T, n_out); ridge readout after `washout`.

        The readout sums X^T X block by block on a second thread while the reservoir runs the next block
        (see threads.py).
        """
        u, y = _batch(u), _batch(y)
        require(u.shape[:2] == y.shape[:2], f"u has {u.shape[:2]} steps but y has {y.shape[:2]}", "align u and y")
        require(0 <= washout < u.shape[1], f"washout {washout} leaves no training steps", "use a shorter washout")
        self._build(u.shape[2], y.shape[2])
        y_prev = np.concatenate([np.zeros_like(y[:, :1]), y[:, :-1]], axis=1) if self.feedback else None
        u_tm, y_tm = u.transpose(1, 0, 2), y.transpose(1, 0, 2)        # (T, B, n_in), (T, B, n_out)
        readout = RidgeAccumulator()

        def add_rows(lo, hi, states):                                   # features [u_t; x_t] of steps lo..hi-1
            X = np.concatenate([u_tm[lo:hi], states[lo:hi]], axis=2, dtype=np.float64)   # (t, B, n_in + N)
            readout.add(X.reshape(-1, X.shape[2]), y_tm[lo:hi].reshape(-1, y.shape[2]))

        pending = []
        with one_blas_thread(), quick_gil_handover(), ThreadPoolExecutor(max_workers=1) as worker:
            def on_block(t0, t1, states):
                lo = max(t0, washout)
                if lo < t1:
                    pending.append(worker.submit(add_rows, lo, t1, states))
            try:
                states = self.run(u, y_prev=y_prev, noise=noise, on_block=on_block)
                for job in pending:
                    job.result()                                        # in order; re-raises a worker error
            except BaseException:                                       # Ctrl-C or an error: drop queued blocks
                for job in pending:
                    job.cancel()
                raise
            W, intercept = readout.solve(self.ridge)
        self.W_out = np.vstack([intercept, W])                          # (1 + n_in + N, n_out)
        self.last_state, self.last_output = states[:, -1], y[:, -1]
        return self

    def predict(self, u: np.ndarray, x0=None) -> np.ndarray:
        """Driven mode (no feedback, or feedback of its own outputs is not used): outputs (B, T, n_out)."""
        require(not self.feedback, "predict() needs the outputs fed back; use generate()", "use generate(n, u)")
        states = self.run(u, x0=x0)
        self.last_state = states[:, -1]
        return self.readout(u, states)

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
            y = self.readout(u_t[:, None], x[:, None])[:, 0]           # (B, n_out)
            outputs[:, t] = y
        self.last_state, self.last_output = x, y
        return outputs


def nrmse(pred: np.ndarray, target: np.ndarray) -> float:
    """RMSE / standard deviation of the target (Jaeger's convention)."""
    return float(np.sqrt(np.mean((pred - target) ** 2)) / np.std(target))


def _project(rows: np.ndarray, W: np.ndarray) -> np.ndarray:
    """rows (M, d) @ W^T (d, N) in the dtype of rows; a few inputs as broadcast products (BLAS is slow at d ~ 1)."""
    W = W.astype(rows.dtype)
    if rows.shape[1] > 4:
        return rows @ W.T
    out = np.zeros((rows.shape[0], W.shape[0]), rows.dtype)
    for k in range(rows.shape[1]):
        out += rows[:, k:k + 1] * W[:, k]
    return out


def _time_major_rows(a: np.ndarray, dtype) -> np.ndarray:
    """(B, T, d) -> (T*B, d) rows, time-major, in dtype."""
    return a.transpose(1, 0, 2).reshape(a.shape[0] * a.shape[1], a.shape[2]).astype(dtype)


def _batch(a: np.ndarray) -> np.ndarray:
    """(T,) or (T, d) or (B, T, d) -> (B, T, d) float."""
    a = np.asarray(a, dtype=float)
    require(1 <= a.ndim <= 3, f"a sequence array has shape {a.shape}", "pass (T,), (T, d) or (B, T, d)")
    if a.ndim == 1:
        a = a[:, None]
    return a[None] if a.ndim == 2 else a
