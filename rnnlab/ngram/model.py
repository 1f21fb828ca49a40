"""Interpolated Kneser-Ney n-gram language models of any order from 1 to 20 over token ids 0..V-1.

    >>> model = KneserNey.fit(corpus.train, corpus.vocab.size, order=5)
    >>> model.logprob(corpus.val)          # (N,) ln P(token | the 4 tokens before it), shorter at the start
    >>> model.distribution([5, 7, 9])      # (V,) P(. | ...5 7 9), sums to 1
    >>> model.sample(300, prime=[5, 7], generator=np.random.default_rng(1))

The equations (and the discounts) are in level.py, the counting in counts.py.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ..errors import require
from .counts import count_levels
from .level import Level, estimate_discounts, fixed_discounts

MAX_ORDER = 20


class KneserNey:
    """An interpolated Kneser-Ney model: one Level per order 1..order, uniform below order 1."""

    def __init__(self, levels: list[Level], vocab_size: int, modified: bool = False, discount: float | None = None):
        self.levels, self.vocab_size, self.modified, self.discount = levels, int(vocab_size), modified, discount

    @classmethod
    def fit(cls, tokens: np.ndarray, vocab_size: int, order: int, discount: float | None = None,
            modified: bool = True, on_level: Callable[[int], None] | None = None) -> "KneserNey":
        """Count the 1..order-grams of `tokens` and set each order's discounts.

        discount=None estimates them from each order's count-of-counts: D(1), D(2), D(3+) (modified KN, Chen &
        Goodman; the default), or one D = n1/(n1 + 2 n2) with modified=False (standard KN). A number
        0 < D <= 1 is used for every order and count instead (modified is then ignored). on_level(k) is called
        as each order is counted."""
        require(isinstance(order, (int, np.integer)) and 1 <= order <= MAX_ORDER,
                f"the order must be a whole number from 1 to {MAX_ORDER}, got {order}", "pass e.g. --order 5")
        require(discount is None or (np.isfinite(discount) and 0 < discount <= 1),
                f"a fixed discount must lie in (0, 1], got {discount}", "pass e.g. --discount 0.75, or none "
                "to estimate it from the counts")
        require(int(vocab_size) >= 1, f"the vocabulary needs at least one symbol, got {vocab_size}")
        tokens = _check_tokens(tokens, int(vocab_size), "training tokens")
        require(len(tokens) >= 1, "there are no training tokens", "give a longer text")
        counted = count_levels(tokens, vocab_size, order, on_level)
        levels = []
        for k, (keys, counts) in enumerate(counted, 1):
            d = estimate_discounts(counts, modified) if discount is None else fixed_discounts(discount)
            levels.append(Level(keys, counts, d, int(vocab_size), 1 if k == 1 else len(counted[k - 2][0])))
        return cls(levels, vocab_size, modified and discount is None, discount)

    @property
    def order(self) -> int:
        return len(self.levels)

    def config(self) -> dict:
        """What config.json records about the model (the arrays go to ngram.npz)."""
        return {"order": self.order, "vocab_size": self.vocab_size, "modified": self.modified,
                "discount": self.discount, "discounts": [lv.discounts[1:].tolist() for lv in self.levels],
                "ngrams": [len(lv) for lv in self.levels]}

    def _last_context(self, tokens: np.ndarray) -> np.ndarray:
        """The last order-1 tokens (all of them if fewer): the only ones any prediction after them reads."""
        return tokens[max(0, len(tokens) - self.order + 1):]

    def _walk(self, s: np.ndarray) -> Iterator[tuple[Level, np.ndarray, np.ndarray]]:
        """For k = 1..order: (level k, contexts, ids). contexts[i], i = 0..n, is the node of the k-1 tokens before
        position i (-1 where there are fewer or they were never seen); ids[i], i < n, the node of the k-gram
        ending at i (the context of position i + 1 one order up)."""
        contexts = np.zeros(len(s) + 1, dtype=np.int64)
        for level in self.levels:
            ids = level.find(contexts[:-1], s)
            yield level, contexts, ids
            contexts = np.concatenate(([-1], ids))

    def logprob(self, tokens: Sequence[int] | np.ndarray, history: Sequence[int] | np.ndarray = ()) -> np.ndarray:
        """(N,) ln P(tokens[i] | the order-1 tokens before it), natural log, for every i.

        The tokens before tokens[0] are `history` (e.g. the end of the training text, when `tokens` continues
        it). Without history the first tokens have shorter contexts (there is no start symbol): tokens[0] is
        scored by P_1, tokens[1] by P_2 given tokens[0], and so on, where P_k below the top order is the
        continuation-count distribution of level.py (for order 1, P_1 is the smoothed raw unigram)."""
        tokens = _check_tokens(tokens, self.vocab_size, "tokens")
        s = np.concatenate([self._last_context(_check_tokens(history, self.vocab_size, "history tokens")), tokens])
        p = np.full(len(s), 1.0 / self.vocab_size)                                   # P_0 = 1/V
        for level, contexts, ids in self._walk(s):
            p = level.interpolate(contexts[:-1], level.kept(level.counts_at(ids)), p)  # P_k from P_{k-1}
        return np.log(p[len(s) - len(tokens):])

    def distribution(self, context: Sequence[int] | np.ndarray = ()) -> np.ndarray:
        """(V,) P(w | context) for every token w; only the last order-1 tokens of `context` matter."""
        context = self._last_context(_check_tokens(context, self.vocab_size, "context tokens"))
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for level, contexts, _ in self._walk(context):
            node = int(contexts[-1])                           # the node of the last k-1 tokens, or -1
            if node < 0:
                break                                          # unseen: every higher order backs off too
            tokens, counts = level.children(node)
            kept = np.zeros(self.vocab_size)
            kept[tokens] = level.kept(counts)
            p = level.interpolate(np.full(self.vocab_size, node), kept, p)
        return p

    def generate(self, length: int, prime: Sequence[int] | np.ndarray = (),
                 generator: np.random.Generator | None = None, temperature: float = 1.0) -> Iterator[int]:
        """Yield `length` tokens, each drawn from P(. | the order-1 tokens before it), starting after `prime`.
        temperature T draws from P^(1/T), renormalised (T < 1 sharper, T > 1 flatter)."""
        require(np.isfinite(temperature) and temperature > 0, f"the temperature must be a positive number, "
                f"got {temperature}", "pass e.g. --temperature 0.8")
        rng = generator if generator is not None else np.random.default_rng()
        return self._chain(length, list(_check_tokens(prime, self.vocab_size, "prime tokens")), rng, temperature)

    def _chain(self, length: int, history: list[int], rng: np.random.Generator, temperature: float) -> Iterator[int]:
        for _ in range(length):
            p = self.distribution(history)
            if temperature != 1.0:
                logits = np.log(p) / temperature
                p = np.exp(logits - logits.max())
            cdf = np.cumsum(p)
            token = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), self.vocab_size - 1)
            yield token
            history = (history + [token])[1 - self.order:] if self.order > 1 else []

    def sample(self, length: int, prime: Sequence[int] | np.ndarray = (), generator: np.random.Generator | None = None,
               temperature: float = 1.0) -> np.ndarray:
        """(length,) sampled tokens (see generate)."""
        return np.fromiter(self.generate(length, prime, generator, temperature), dtype=np.int64, count=length)

    def save(self, run_dir: str | Path, sections: dict | None = None) -> None:
        """Write ngram.npz (keys and counts per order) and config.json (+ `sections`) atomically to run_dir."""
        from .storage import save_model
        save_model(self, Path(run_dir), sections or {})

    @classmethod
    def load(cls, run_dir: str | Path) -> "KneserNey":
        """The model saved in run_dir; RnnlabError for a missing, foreign or damaged one."""
        from .storage import load_model
        return load_model(Path(run_dir))[0]


def _check_tokens(tokens, vocab_size: int, what: str) -> np.ndarray:
    """A 1-D int64 array of ids in [0, vocab_size)."""
    array = np.asarray(tokens)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    require(array.ndim == 1 and array.dtype.kind in "iu", f"{what} must be a 1-D array of integer ids, got "
            f"shape {array.shape} of {array.dtype}")
    require(int(array.min()) >= 0 and int(array.max()) < vocab_size, f"{what} must lie in 0..{vocab_size - 1}, "
            f"got {int(array.min())}..{int(array.max())}")
    return array.astype(np.int64, copy=False)
