"""Thread budgets for the ESN's linear algebra on a few cores.

Small dense LAPACK/BLAS calls (n ~ 1000) gain little from a second thread, and lose much when two
thread pools meet: NumPy's OpenBLAS workers keep spinning for a while after each call, and a torch
OpenMP call that lands then runs twice as slowly. The ESN instead uses threads explicitly: the
reservoir loop on one core, the readout's Gram sums on another, each with a single-threaded BLAS,
and the interpreter lock handed over every 0.2 ms instead of every 5 ms, since the reservoir loop
never lets go of it for long and the readout thread needs it between its NumPy calls.
"""
from __future__ import annotations

import contextlib
import functools
import sys

import torch


@functools.lru_cache(maxsize=None)
def _blas_controller():
    from threadpoolctl import ThreadpoolController                    # scans the loaded BLAS libraries once
    return ThreadpoolController()


@contextlib.contextmanager
def one_blas_thread():
    """NumPy's BLAS (OpenBLAS, MKL, ...) limited to one thread per calling thread inside the block."""
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield


@contextlib.contextmanager
def one_torch_thread():
    """torch's intra-op pool limited to the calling thread inside the block."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def quick_gil_handover(seconds: float = 2e-4):
    """Shorter interpreter switch interval inside the block, for a Python loop sharing work with a thread."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(old)
