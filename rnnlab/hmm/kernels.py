"""The HMM dynamic programs, compiled with numba: one pass over time each, O(T K^2).

Scaled forward-backward (Rabiner 1989): alpha_t is renormalised to sum 1 at every step
and the scale c_t = sum_k alpha_t(k) before normalising is kept, so
    log p(x_1..x_T) = sum_t log c_t
with no underflow however long the sequence. beta_t uses the same scales and is never
stored: the backward pass carries one beta vector and adds the expected counts as it
goes, so the only T x K lattice held is alpha. Viterbi runs in log space.
Emission probabilities are read as emis_by_symbol = emissionprob.T, (M, K), row x_t.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def forward(startprob, transmat, emis_by_symbol, symbols):
    """-> alpha (T, K) normalised per step, scale (T,):  alpha_t(j) ∝ sum_i alpha_{t-1}(i) a_ij b_j(x_t)."""
    T, K = symbols.shape[0], startprob.shape[0]
    alpha = np.empty((T, K))
    scale = np.empty(T)
    b = emis_by_symbol[symbols[0]]
    total = 0.0
    for k in range(K):
        alpha[0, k] = startprob[k] * b[k]
        total += alpha[0, k]
    scale[0] = total
    inv = 1.0 / total if total > 0 else 0.0
    for k in range(K):
        alpha[0, k] *= inv
    for t in range(1, T):
        b = emis_by_symbol[symbols[t]]
        total = 0.0
        for j in range(K):
            alpha[t, j] = 0.0
        for i in range(K):
            a = alpha[t - 1, i]
            for j in range(K):
                alpha[t, j] += a * transmat[i, j]
        for j in range(K):
            alpha[t, j] *= b[j]
            total += alpha[t, j]
        scale[t] = total
        inv = 1.0 / total if total > 0 else 0.0
        for j in range(K):
            alpha[t, j] *= inv
    return alpha, scale


@njit(cache=True)
def _beta_step(transmat, b_next, beta_next, inv_scale, beta, tmp):
    """beta_t(i) = sum_j a_ij b_j(x_{t+1}) beta_{t+1}(j) / c_{t+1}; tmp gets the summand without a_ij."""
    K = beta.shape[0]
    for j in range(K):
        tmp[j] = b_next[j] * beta_next[j] * inv_scale
    for i in range(K):
        acc = 0.0
        for j in range(K):
            acc += transmat[i, j] * tmp[j]
        beta[i] = acc


@njit(cache=True)
def backward_accumulate(transmat, emis_by_symbol, symbols, alpha, scale, xi_sum, emit_sum, first_sum):
    """Backward pass adding expected transitions xi, emissions gamma and the first state's posterior."""
    T, K = alpha.shape
    beta = np.ones(K)
    beta_prev = np.empty(K)
    tmp = np.empty(K)
    for k in range(K):
        emit_sum[k, symbols[T - 1]] += alpha[T - 1, k]          # gamma_T = alpha_T (beta_T = 1)
    for t in range(T - 1, 0, -1):
        inv = 1.0 / scale[t] if scale[t] > 0 else 0.0
        _beta_step(transmat, emis_by_symbol[symbols[t]], beta, inv, beta_prev, tmp)
        for i in range(K):
            a = alpha[t - 1, i]
            for j in range(K):
                xi_sum[i, j] += a * transmat[i, j] * tmp[j]      # xi(i, j) = alpha_{t-1}(i) a_ij b_j beta_t(j) / c_t
            emit_sum[i, symbols[t - 1]] += a * beta_prev[i]     # gamma_{t-1} = alpha_{t-1} beta_{t-1}
        beta, beta_prev = beta_prev, beta
    for k in range(K):
        first_sum[k] += alpha[0, k] * beta[k]


@njit(cache=True)
def backward_posteriors(transmat, emis_by_symbol, symbols, alpha, scale):
    """Turn alpha (T, K) into the posteriors gamma_t(k) = P(s_t = k | x) in place."""
    T, K = alpha.shape
    beta = np.ones(K)
    beta_prev = np.empty(K)
    tmp = np.empty(K)
    for t in range(T - 1, 0, -1):
        inv = 1.0 / scale[t] if scale[t] > 0 else 0.0
        _beta_step(transmat, emis_by_symbol[symbols[t]], beta, inv, beta_prev, tmp)
        for k in range(K):
            alpha[t, k] *= beta[k]
        beta, beta_prev = beta_prev, beta
    for k in range(K):
        alpha[0, k] *= beta[k]
    return alpha


@njit(cache=True)
def viterbi(log_start, log_trans, log_emis_by_symbol, symbols):
    """Most probable state path and its log-probability (max-product in log space)."""
    T, K = symbols.shape[0], log_start.shape[0]
    delta = np.empty(K)
    new = np.empty(K)
    back = np.empty((T, K), dtype=np.int32)
    le = log_emis_by_symbol[symbols[0]]
    for k in range(K):
        delta[k] = log_start[k] + le[k]
    for t in range(1, T):
        le = log_emis_by_symbol[symbols[t]]
        for j in range(K):
            best, arg = -np.inf, 0
            for i in range(K):
                v = delta[i] + log_trans[i, j]
                if v > best:
                    best, arg = v, i
            new[j] = best + le[j]
            back[t, j] = arg
        delta[:] = new
    path = np.empty(T, dtype=np.int64)
    best, arg = -np.inf, 0
    for k in range(K):
        if delta[k] > best:
            best, arg = delta[k], k
    path[T - 1] = arg
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path, best
