"""N-gram language models with interpolated Kneser-Ney smoothing: characters, bytes or words, order 1 to 20.

    >>> from rnnlab.ngram import KneserNey
    >>> from rnnlab.text.corpus import load_corpus
    >>> corpus = load_corpus("tiny_shakespeare", "char", 0.1)          # the recurrent runs' split
    >>> model = KneserNey.fit(corpus.train, corpus.vocab.size, order=5)
    >>> nats = -model.logprob(corpus.val)[1:]    # per token; [1:] are the tokens `rnnlab eval` scores

train_ngram / evaluate_ngram / sample_ngram_text / load_ngram are what `rnnlab ngram train|eval|sample`
run; score_ngram gives the evaluation.Score of a token array. Names load on first use (PEP 562), so
`rnnlab --help` imports neither NumPy's counting code nor torch.
"""
from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {  # public name -> (module, name there)
    "KneserNey": ("model", "KneserNey"),
    "train_ngram": ("run", "train"),
    "evaluate_ngram": ("run", "evaluate"),
    "sample_ngram_text": ("run", "generate_text"),
    "load_ngram": ("run", "load"),
    "score_ngram": ("run", "score"),
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
