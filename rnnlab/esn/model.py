"""EchoStateNetwork: leaky tanh reservoir, optional output feedback, ridge-regression readout.

    x_t = (1 - a) x_{t-1} + a tanh(W x_{t-1} + W_in u_t + W_fb y_{t-1} + b)     reservoir (fixed)
    y_t = W_out [1; u_t; x_t]                                                  readout (learned)

Only W_out is learned, in closed form (see readout.py): ridge regression on centred features and
targets, solved with a Cholesky factorisation (no explicit inverse); the intercept is not penalised.

State, as in reservoirpy: fit() starts from the zero state; predict(), run() and generate() continue
from wherever the last fit/predict/run/generate left the reservoir, so `fit(u_train, y_train)` then
`predict(u_test)` forecasts the continuation. reset=True starts from zero, x0= from a given state.

Shapes: a sequence u is (T,) or (T, n_in), a batch of sequences (B, T, n_in); outputs mirror it:
(T,) -> (T,) (one output), (T, n_in) -> (T, n_out), (B, T, n_in) -> (B, T, n_out); run() gives
states (T, N) or (B, T, N). Internally everything is batched, time-major in the hot loop.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real

import numpy as np

from ..errors import RnnlabError, require
from . import init
from .defaults import MAX_RADIUS, MAX_SCALING, MAX_UNITS
from .readout import RidgeAccumulator, ridge_solve  # noqa: F401  (ridge_solve: part of this module's API)
from .threads import one_blas_thread, quick_gil_handover

BLOCK = 1024          # reservoir steps per block handed to the readout
KERNEL_MAX_BATCH = 8  # float32 runs of up to this many sequences take the compiled loop (kernels.py), more BLAS
CSR_MAX_DENSITY = 0.11  # the compiled loop reads W as sparse rows up to this fraction of non-zeros (kernels.py)


class EchoStateNetwork:
    """A reservoir of `n_reservoir` leaky tanh units and a linear readout."""

    def __init__(self, n_reservoir: int = 500, spectral_radius: float = 0.9, input_scaling: float = 1.0,
                 density: float = 0.1, leak_rate: float = 1.0, bias_scaling: float = 0.0, ridge: float = 1e-8,
                 feedback: bool = False, feedback_scaling: float = 1.0, seed=None, dtype=np.float32):
        _check_settings(n_reservoir, spectral_radius, input_scaling, density, leak_rate, bias_scaling, ridge,
                        feedback_scaling, dtype)
        self.n, self.radius, self.input_scaling, self.density = int(n_reservoir), spectral_radius, input_scaling, density
        self.leak, self.bias_scaling, self.ridge = leak_rate, bias_scaling, ridge
        self.feedback, self.feedback_scaling = bool(feedback), feedback_scaling
        self.dtype = np.dtype(dtype)   # of the reservoir run (float32: twice the speed); readouts solve in float64
        try:
            self.rng = np.random.default_rng(seed)
        except (TypeError, ValueError) as exc:
            raise RnnlabError(f"seed {_show(seed)} is not usable ({exc})", "pass a non-negative integer") from None
        self.W = init.sparse_reservoir(self.n, density, spectral_radius, self.rng)
        self.b = init.bias_vector(self.n, bias_scaling, self.rng)
        self.W_in = self.W_fb = self.W_out = None
        self.last_state = self.last_output = None   # (B, N), (B, n_out): where the reservoir stands now
        self._layout = None                          # np.ndim of the last input: how generate() shapes its output
        self._run_weights = (None, {})               # (the W they were made from, {layout: W for the hot loop})

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
                f"built for {self.W_in.shape[1]}", "pass u with shape (T, n_in) or (B, T, n_in) as in fit()")
        if y_prev is not None:
            require(y_prev.shape[:2] == u.shape[:2], f"y_prev has {y_prev.shape[:2]} (sequences, steps) but u has "
                    f"{u.shape[:2]}", "give one fed-back output per input step")
            require(self.W_fb is not None and y_prev.shape[2] == self.W_fb.shape[1], f"y_prev has {y_prev.shape[2]} "
                    "output(s) per step but the feedback weights take "
                    f"{0 if self.W_fb is None else self.W_fb.shape[1]}", "pass the outputs the network was fitted to")

    # ------------------------------------------------------------------ reservoir
    def run(self, u: np.ndarray, x0: np.ndarray | None = None, y_prev: np.ndarray | None = None,
            noise: float = 0.0, reset: bool = False) -> np.ndarray:
        """Drive the reservoir over u [with teacher outputs y_prev fed back]: the states, (T, N) for a
        sequence, (B, T, N) for a batch. Starts from x0 if given, from zero with reset=True (or before
        anything ran), else from where the last fit/predict/run/generate stopped."""
        layout, u = np.ndim(u), _batch(u, "u")
        y_prev = _batch(y_prev, "y_prev") if self.feedback and y_prev is not None else None
        self._check_widths(u, y_prev)
        states = self._run(u, self._start(u.shape[0], x0, reset), y_prev, noise)
        if self.W_out is not None and self.W_out.shape[0] == 1 + u.shape[2] + self.n:
            self.last_output = self.readout(u[:, -1:], states[:, -1:])[:, 0]   # the network's y_T
        self._layout = layout
        return states if layout == 3 else states[0]

    def _start(self, B: int, x0, reset: bool) -> np.ndarray:
        """The state (B, N) a run begins from."""
        if x0 is not None:
            require(np.size(x0) == B * self.n, f"x0 has {np.size(x0)} values, not {B} x {self.n}",
                    "pass one state of n_reservoir values per sequence")
            x0 = np.array(x0, dtype=self.dtype).reshape(B, self.n)
            require(bool(np.isfinite(x0).all()), "x0 has NaN or infinite values", "pass a finite state")
            return x0
        if reset or self.last_state is None:
            return np.zeros((B, self.n), self.dtype)
        held = self.last_state.shape[0]
        require(held == B, f"the reservoir holds the state of {held} sequence(s) but u has {B}",
                "pass reset=True to start every sequence from zero, or x0= to give the states")
        return np.array(self.last_state, dtype=self.dtype)

    def _run(self, u: np.ndarray, x: np.ndarray, y_prev: np.ndarray | None, noise: float,
             on_block=None) -> np.ndarray:
        """u (B, T, n_in) from states x (B, N) -> states (B, T, N); leaves last_state at the end.

        on_block(t0, t1, states) is called after each block of BLOCK steps with the time-major states
        (T, B, N) filled up to t1; fit() hands them to the readout while the next block runs.
        """
        B, T, _ = u.shape
        states = np.empty((T, B, self.n), dtype=self.dtype)           # time-major: each step writes one block
        for t0 in range(0, T, BLOCK):
            t1 = min(T, t0 + BLOCK)
            drive = self._drive(u[:, t0:t1], None if y_prev is None else y_prev[:, t0:t1], noise)
            x = self._advance(drive, states[t0:t1], x)
            if on_block is not None:
                on_block(t0, t1, states)
        self.last_state = x.copy()
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
        if self.dtype == np.float32 and B <= KERNEL_MAX_BATCH:
            from . import kernels                                       # numba: loaded on the first run only
            x, leak = np.ascontiguousarray(x), np.float32(self.leak)
            if np.count_nonzero(self.W) <= CSR_MAX_DENSITY * self.W.size:
                kernels.advance32_csr(*self._weights_for_run("sparse rows"), drive, out, x, leak)
            else:
                kernels.advance32(self._weights_for_run("rows"), drive, out, x, leak)
            return out[-1]
        if B == 1:                                                      # one sequence: vector-matrix products
            drive, out, x = drive[:, 0], out[:, 0], x[0]
        a, WT = self.dtype.type(self.leak), self._weights_for_run("columns")
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

    def _weights_for_run(self, layout: str):
        """W as a hot loop reads it, cached until self.W is replaced: "rows" (W, float32, for the compiled
        loop), "sparse rows" (its CSR arrays) or "columns" (W^T in the run dtype, for x @ W^T in BLAS)."""
        W, made = self._run_weights
        if W is not self.W:
            W, made = self.W, {}
            self._run_weights = (W, made)
        if layout not in made:
            if layout == "sparse rows":
                from .kernels import to_csr32
                made[layout] = to_csr32(W)
            else:
                made[layout] = np.ascontiguousarray(W.T if layout == "columns" else W,
                                                    dtype=np.float32 if layout == "rows" else self.dtype)
        return made[layout]

    def readout(self, u: np.ndarray, states: np.ndarray) -> np.ndarray:
        """y_t = W_out [1; u_t; x_t] for u (B, T, n_in) and states (B, T, N): (B, T, n_out)."""
        u = _batch(u, "u")
        n_in = u.shape[2]
        return self.W_out[0] + u @ self.W_out[1:1 + n_in] + states @ self.W_out[1 + n_in:]

    # ------------------------------------------------------------------ learning
    def fit(self, u: np.ndarray, y: np.ndarray, washout: int = 100, noise: float = 0.0) -> "EchoStateNetwork":
        """Teacher-forced run from the zero state over u ((T,), (T, n_in) or (B, T, n_in)) with targets y
        ((T,), (T, n_out) or (B, T, n_out)); ridge readout on the steps after `washout`. The reservoir is
        left at the end of u, where predict() goes on.

        The readout sums X^T X block by block on a second thread while the reservoir runs the next block
        (see threads.py).
        """
        layout, u, y = np.ndim(u), _batch(u, "u"), _batch(y, "y")
        require(u.shape[:2] == y.shape[:2], f"u has {u.shape[:2]} steps but y has {y.shape[:2]}", "align u and y")
        require(isinstance(washout, Integral) and 0 <= washout < u.shape[1],
                f"washout {washout} leaves no training steps", "use a shorter washout")
        require(isinstance(noise, Real) and 0 <= noise <= MAX_SCALING, f"noise must lie in [0, {MAX_SCALING:g}], "
                f"got {noise}", "pass e.g. noise=1e-4")
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
                self._run(u, np.zeros((u.shape[0], self.n), self.dtype), y_prev, noise, on_block)
                for job in pending:
                    job.result()                                        # in order; re-raises a worker error
            except BaseException:                                       # Ctrl-C or an error: drop queued blocks
                for job in pending:
                    job.cancel()
                raise
            W, intercept = readout.solve(self.ridge)
        self.W_out = np.vstack([intercept, W])                          # (1 + n_in + N, n_out)
        self.last_output, self._layout = y[:, -1], layout
        return self

    def predict(self, u: np.ndarray, x0=None, reset: bool = False) -> np.ndarray:
        """Driven mode (no output feedback): the outputs for u, shaped as u is (see the module's docstring).
        Goes on from where the reservoir stands (see run())."""
        require(self.W_out is not None, "the readout is not fitted", "call fit() first")
        require(not self.feedback, "predict() needs the outputs fed back; use generate()", "use generate(n, u)")
        layout, u = np.ndim(u), _batch(u, "u")
        self._check_widths(u, None)
        states = self._run(u, self._start(u.shape[0], x0, reset), None, 0.0)
        y = self.readout(u, states)                                     # (B, T, n_out)
        self.last_output, self._layout = y[:, -1], layout
        return _like(y, layout)

    def generate(self, n: int, u: np.ndarray | None = None, x0=None, y0=None) -> np.ndarray:
        """Closed loop for n steps from state x0 (default: where the reservoir stands) and last output y0
        (default: the last one seen): each output is fed back, as the next input when u is None
        (autonomous), else through the feedback weights while u drives the inputs. Outputs (n, n_out)
        shaped as u, or as the series the network last saw when autonomous."""
        require(self.W_out is not None, "the readout is not fitted", "call fit() first")
        require(isinstance(n, Integral) and n >= 0, f"n must be a non-negative integer, got {n!r}", "pass e.g. n=100")
        x = np.array(self.last_state if x0 is None else x0, dtype=float).reshape(-1, self.n)   # (B, N)
        y = np.array(self.last_output if y0 is None else y0, dtype=float).reshape(x.shape[0], -1)  # (B, n_out)
        B = x.shape[0]
        autonomous = u is None
        layout = self._layout if autonomous else np.ndim(u)
        if not autonomous:
            u = _batch(u, "u")
            require(u.shape[0] == B and u.shape[1] >= n, f"u has {u.shape[:2]} (sequences, steps); generating {n} "
                    f"steps of {B} sequence(s) needs at least that many", "pass one input per generated step")
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
        self.last_state, self.last_output, self._layout = x, y, layout
        return _like(outputs, layout)


def nrmse(pred: np.ndarray, target: np.ndarray) -> float:
    """RMSE / standard deviation of the target (Jaeger's convention)."""
    return float(np.sqrt(np.mean((pred - target) ** 2)) / np.std(target))


def _check_settings(n, radius, input_scaling, density, leak, bias_scaling, ridge, feedback_scaling, dtype) -> None:
    """Every constructor setting in its range, as one-line errors (RnnlabError)."""
    require(isinstance(n, Integral) and not isinstance(n, bool) and 1 <= n <= MAX_UNITS,
            f"n_reservoir must be an integer from 1 to {MAX_UNITS:,}, got {_show(n)}",
            f"pass e.g. n_reservoir=500 (W is dense: n^2 memory, n^3 time for its spectral radius)")
    for name, value, high, example in (("spectral_radius", radius, MAX_RADIUS, 0.9),
                                       ("input_scaling", input_scaling, MAX_SCALING, 1.0),
                                       ("bias_scaling", bias_scaling, MAX_SCALING, 0.5),
                                       ("feedback_scaling", feedback_scaling, MAX_SCALING, 1.0),
                                       ("ridge", ridge, MAX_SCALING, 1e-8)):
        require(_real(value) and 0 <= value <= high, f"{name} must lie in [0, {high:g}], got {_show(value)}",
                f"pass e.g. {name}={example}")
    require(_real(density) and 0 < density <= 1, f"density must lie in (0, 1], got {_show(density)}",
            "pass e.g. density=0.1")
    require(_real(leak) and 0 < leak <= 1, f"leak_rate must lie in (0, 1], got {_show(leak)}",
            "pass e.g. leak_rate=0.3")
    try:
        ok = np.dtype(dtype) in (np.float32, np.float64)
    except TypeError:
        ok = False
    require(ok, f"dtype must be float32 or float64, got {dtype!r}", "pass dtype=np.float32 (fast) or np.float64")


def _real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _show(value) -> str:
    """A value for an error message, short even when it is a 400-digit integer."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} characters)"


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


def _batch(a, name: str) -> np.ndarray:
    """(T,) or (T, d) or (B, T, d) -> (B, T, d) float64, finite."""
    try:
        a = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise RnnlabError(f"{name} is not an array of numbers", f"pass {name} as a NumPy array") from None
    require(1 <= a.ndim <= 3, f"{name} has shape {a.shape}", f"pass {name} with shape (T,), (T, d) or (B, T, d)")
    require(bool(np.isfinite(a).all()), f"{name} has NaN or infinite values", f"clean {name} first")
    if a.ndim == 1:
        a = a[:, None]
    a = a[None] if a.ndim == 2 else a
    require(a.shape[1] > 0, f"{name} has no time steps", f"pass at least one step of {name}")
    return a


def _like(y: np.ndarray, layout: int) -> np.ndarray:
    """Batched outputs (B, T, O) shaped as an input of np.ndim `layout` was: (T,) [O = 1], (T, O), (B, T, O)."""
    if layout == 3:
        return y
    return y[0, :, 0] if layout == 1 and y.shape[2] == 1 else y[0]
