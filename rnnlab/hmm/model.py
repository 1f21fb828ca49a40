"""DiscreteHMM: K hidden states emitting one of M symbols, fitted by Baum-Welch.

    p(x_1..x_T) = sum over state paths s of  pi(s_1) b(x_1|s_1) prod_t a(s_t|s_{t-1}) b(x_t|s_t)

Public arrays a user may set: startprob (K,), transmat (K, K), emissionprob (K, M);
init="keep" starts EM from them. Several sequences are given concatenated with their
lengths, as in hmmlearn.

For hmmlearn users (CategoricalHMM): fit, score, predict (Viterbi states), predict_proba
(posteriors) and sample behave alike; after fit, converged_ and n_iter_ say how EM ended
(hmmlearn's monitor_.converged and monitor_.iter). Two differences: decode returns
(state_path, log_prob), the reverse of hmmlearn's (log_prob, state_sequence), and
converged_ is True only when the likelihood gain fell below tol, not when n_iter ran out.

    >>> from rnnlab.hmm import DiscreteHMM
    >>> hmm = DiscreteHMM(n_states=2, n_symbols=3, seed=0).fit(X)       # X: (T,) or (T, 1) ints in 0..2
    >>> hmm.predict(X), hmm.predict_proba(X), hmm.score(X), hmm.converged_
"""
from __future__ import annotations

import numpy as np

from ..errors import require
from . import kernels


MAX_PARAMETERS = 1 << 28   # K * (K + M) probabilities: 2 GiB of float64 per copy


def _split(X, lengths):
    X = np.asarray(X).reshape(-1).astype(np.int64)
    if lengths is None:
        return [X]
    lengths = np.asarray(lengths, dtype=np.int64)
    require(lengths.sum() == len(X), f"lengths sum to {lengths.sum()} but X has {len(X)} symbols",
            "pass lengths that add up to len(X)")
    return np.split(X, np.cumsum(lengths)[:-1])


class DiscreteHMM:
    """Baum-Welch (scaled forward-backward), Viterbi and sampling for discrete emissions."""

    def __init__(self, n_states: int, n_symbols: int, n_iter: int = 100, tol: float = 1e-4,
                 init: str = "random", pseudocount: float = 0.0, n_restarts: int = 1, seed=None,
                 params: str = "ste"):
        require(n_states > 0 and n_symbols > 0, "n_states and n_symbols must be positive", "pass positive sizes")
        require(n_states * (n_states + n_symbols) <= MAX_PARAMETERS, f"{n_states} states over {n_symbols} symbols "
                f"need {n_states * (n_states + n_symbols):.2g} probabilities, more than the {MAX_PARAMETERS:.2g} "
                "(2 GiB) Baum-Welch can handle here", "use fewer states, e.g. 16")
        require(init in ("random", "uniform", "keep"), f"unknown init {init!r}", "use random, uniform or keep")
        self.n_states, self.n_symbols = n_states, n_symbols
        self.n_iter, self.tol, self.init, self.pseudocount = n_iter, tol, init, pseudocount
        self.n_restarts, self.rng = n_restarts, np.random.default_rng(seed)
        self.params = params   # which to re-estimate: s(tart), t(ransitions), e(missions)
        self.history_: list[float] = []   # training log-likelihood before each EM step (of the kept restart)
        self.converged_ = False           # did the gain fall below tol before n_iter steps?
        self.n_iter_ = 0                  # EM steps run (of the kept restart)
        self._initialise("uniform")

    # ------------------------------------------------------------------ parameters
    def _initialise(self, how: str) -> None:
        K, M = self.n_states, self.n_symbols
        if how == "uniform":   # near-uniform: a tiny random tilt so that the states can separate
            noise = lambda *shape: 1.0 + 1e-3 * self.rng.random(shape)  # noqa: E731
        else:
            noise = lambda *shape: self.rng.random(shape) + 1e-2        # noqa: E731
        self.startprob = _normalise(noise(K))
        self.transmat = _normalise(noise(K, K))
        self.emissionprob = _normalise(noise(K, M))

    def check_parameters(self, where: str = "the HMM") -> None:
        """RnnlabError unless startprob, transmat and emissionprob are finite, non-negative, with rows summing to 1."""
        for name in ("startprob", "transmat", "emissionprob"):
            a = np.asarray(getattr(self, name), dtype=np.float64)
            require(np.isfinite(a).all(), f"{where}: {name} holds values that are not finite numbers (NaN or inf)",
                    "retrain the HMM")
            require((a >= 0).all(), f"{where}: {name} holds negative probabilities", "retrain the HMM")
            require(np.allclose(a.sum(axis=-1), 1.0, atol=1e-6), f"{where}: the rows of {name} do not sum to 1",
                    "retrain the HMM")

    def _check(self, X) -> None:
        require(len(X) > 0, "cannot score an empty sequence", "pass at least one symbol")
        require(X.min() >= 0 and X.max() < self.n_symbols, f"symbols must be in 0..{self.n_symbols - 1}",
                "encode the data with the model's alphabet")

    # ------------------------------------------------------------------ inference
    def _emis_by_symbol(self) -> np.ndarray:
        """(M, K) contiguous: row x holds p(x | state) for every state, as the kernels read it."""
        return np.ascontiguousarray(self.emissionprob.T)

    def _forward(self, X):
        return kernels.forward(self.startprob, self.transmat, self._emis_by_symbol(), X)

    def score(self, X, lengths=None) -> float:
        """Log-likelihood log p(X) (natural log), summed over the sequences."""
        total = 0.0
        for seq in _split(X, lengths):
            self._check(seq)
            _, scale = self._forward(seq)
            with np.errstate(divide="ignore"):      # a zero-probability symbol gives -inf, not a warning
                total += float(np.log(scale).sum())
        return total

    def posteriors(self, X, lengths=None) -> np.ndarray:
        """(T, K) posterior P(s_t = k | x) of every symbol."""
        out = []
        for seq in _split(X, lengths):
            self._check(seq)
            alpha, scale = self._forward(seq)
            out.append(kernels.backward_posteriors(self.transmat, self._emis_by_symbol(), seq, alpha, scale))
        return np.concatenate(out)

    def predict_proba(self, X, lengths=None) -> np.ndarray:
        """(T, K) posterior state probabilities of every symbol, as hmmlearn's predict_proba (= posteriors)."""
        return self.posteriors(X, lengths)

    def predict(self, X, lengths=None) -> np.ndarray:
        """(T,) the most probable state path (Viterbi), as hmmlearn's predict: decode(X)[0]."""
        return self.decode(X, lengths)[0]

    def decode(self, X, lengths=None) -> tuple[np.ndarray, float]:
        """Viterbi: returns (state_path, log_prob), the most probable path (T,) and its natural-log probability
        summed over the sequences. Note the order: hmmlearn's decode returns (log_prob, state_sequence)."""
        with np.errstate(divide="ignore"):
            logs = np.log(self.startprob), np.log(self.transmat), np.ascontiguousarray(np.log(self.emissionprob).T)
        paths, total = [], 0.0
        for seq in _split(X, lengths):
            self._check(seq)
            path, logp = kernels.viterbi(*logs, seq)
            paths.append(path)
            total += logp
        return np.concatenate(paths), float(total)

    def sample(self, n: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
        """n symbols and the states that emitted them."""
        rng = np.random.default_rng(seed)
        states, symbols = np.empty(n, np.int64), np.empty(n, np.int64)
        cum_t, cum_e = np.cumsum(self.transmat, 1), np.cumsum(self.emissionprob, 1)
        u = rng.random((n, 2))
        s = int(np.searchsorted(np.cumsum(self.startprob), u[0, 0] * self.startprob.sum(), side="right"))
        for t in range(n):
            if t:
                s = int(np.searchsorted(cum_t[s], u[t, 0] * cum_t[s, -1], side="right"))
            states[t] = s
            symbols[t] = int(np.searchsorted(cum_e[s], u[t, 1] * cum_e[s, -1], side="right"))
        return symbols, states

    # ------------------------------------------------------------------ learning
    def em_step(self, sequences) -> float:
        """One Baum-Welch iteration over all sequences; returns the log-likelihood before the update."""
        K, M = self.n_states, self.n_symbols
        xi, emit, first = np.zeros((K, K)), np.zeros((K, M)), np.zeros(K)
        emis_by_symbol = self._emis_by_symbol()
        loglik = 0.0
        for seq in sequences:
            alpha, scale = kernels.forward(self.startprob, self.transmat, emis_by_symbol, seq)
            loglik += float(np.log(scale).sum())
            kernels.backward_accumulate(self.transmat, emis_by_symbol, seq, alpha, scale, xi, emit, first)
            del alpha
        c = self.pseudocount
        self.emission_counts_ = emit          # expected count of each (state, symbol): used by the letters experiment
        if "s" in self.params:
            self.startprob = _normalise(first + c)
        if "t" in self.params:
            self.transmat = _normalise(xi + c)
        if "e" in self.params:
            self.emissionprob = _normalise(emit + c)
        return loglik

    def fit(self, X, lengths=None, callback=None) -> "DiscreteHMM":
        """Baum-Welch until n_iter iterations or a log-likelihood gain below tol; keeps the best of n_restarts.

        callback(iteration, loglik, model) is called after every EM step (e.g. to record curves).
        """
        sequences = _split(X, lengths)
        for seq in sequences:
            self._check(seq)
        best = None
        for restart in range(self.n_restarts):
            if self.init != "keep" or restart:
                self._initialise("random" if self.init == "keep" else self.init)
            history, converged = [], False
            for _ in range(self.n_iter):
                history.append(self.em_step(sequences))
                if callback is not None:
                    callback(len(history), history[-1], self)
                if len(history) > 1 and history[-1] - history[-2] < self.tol:
                    converged = True
                    break
            final = self.score(X, lengths)
            if best is None or final > best[0]:
                best = (final, self.startprob, self.transmat, self.emissionprob, history, converged)
        _, self.startprob, self.transmat, self.emissionprob, self.history_, self.converged_ = best
        self.n_iter_ = len(self.history_)
        return self


def _normalise(a: np.ndarray) -> np.ndarray:
    """Rows that sum to 1 (rows of zeros become uniform)."""
    a = np.asarray(a, dtype=np.float64)
    s = a.sum(axis=-1, keepdims=True)
    return np.where(s > 0, a / np.where(s > 0, s, 1.0), 1.0 / a.shape[-1])
