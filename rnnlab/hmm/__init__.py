"""Discrete hidden Markov models: forward-backward, Baum-Welch, Viterbi, sampling.

    >>> from rnnlab.hmm import DiscreteHMM
    >>> hmm = DiscreteHMM(n_states=4, n_symbols=27, seed=0).fit(X)
    >>> hmm.predict(X), hmm.predict_proba(X), hmm.converged_, hmm.n_iter_

The HMM as a character language model (what `rnnlab hmm train` runs) is fit_language_model;
load_hmm and sample_hmm_text read its run directory back. The names are imported on first
use (PEP 562), so that `rnnlab --help`, which imports rnnlab.hmm.cli, loads neither numba nor torch.
"""
from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {  # public name -> (module, name there)
    "DiscreteHMM": ("model", "DiscreteHMM"),
    "fit_language_model": ("lm", "fit_language_model"),
    "load_hmm": ("lm", "load"),
    "sample_hmm_text": ("lm", "sample_text"),
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
