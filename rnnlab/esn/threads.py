"""Thread budgets for the ESN's linear algebra on a few cores.

Small dense LAPACK/BLAS calls (n ~ 1000) gain little from a second thread, and lose much when two
thread pools meet: NumPy's OpenBLAS workers keep spinning for a while after each call, and a torch
OpenMP call that lands then runs twice as slowly. The ESN instead uses threads explicitly: the
reservoir loop on one core, the readout's Gram sums on another, each with a single-threaded BLAS,
and the interpreter lock handed over every 0.2 ms instead of every 5 ms, since the NumPy (float64)
reservoir loop never lets go of it for long and the readout thread needs it between its NumPy calls
(the compiled float32 loop, kernels.py, releases it for a whole block).

All three settings are process-wide. Each is changed when the first caller enters and restored when
the last one leaves, so overlapping fits on several threads put everything back as it was.
"""
from __future__ import annotations

import contextlib
import functools
import sys
import threading

import torch


class _SharedSetting:
    """A process-wide setting held while any caller is inside `held()`: `change()` returns what
    `restore(saved)` needs; the first caller in changes it, the last one out restores it."""

    def __init__(self, change, restore):
        self._change, self._restore = change, restore
        self._lock = threading.Lock()
        self._holders, self._saved = 0, None

    @contextlib.contextmanager
    def held(self):
        with self._lock:
            if self._holders == 0:
                self._saved = self._change()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    self._restore(self._saved)


@functools.lru_cache(maxsize=None)
def _blas_controller():
    from threadpoolctl import ThreadpoolController                    # scans the loaded BLAS libraries once
    return ThreadpoolController()


def _torch_threads(n: int) -> int:
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    return old


def _switch_interval(seconds: float) -> float:
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    return old


_blas = _SharedSetting(lambda: _blas_controller().limit(limits=1, user_api="blas"),
                       lambda limiter: limiter.restore_original_limits())
_torch = _SharedSetting(lambda: _torch_threads(1), _torch_threads)
_gil = _SharedSetting(lambda: _switch_interval(2e-4), _switch_interval)


def one_blas_thread():
    """NumPy's BLAS (OpenBLAS, MKL, ...) limited to one thread, process-wide, inside the block."""
    return _blas.held()


def one_torch_thread():
    """torch's intra-op pool limited to one thread, process-wide, inside the block."""
    return _torch.held()


def quick_gil_handover():
    """Interpreter switch interval 0.2 ms inside the block, for a Python loop sharing work with a thread."""
    return _gil.held()
