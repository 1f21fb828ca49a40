"""One order of an interpolated Kneser-Ney model: its counts, its discounts, and the step that mixes it
with the order below.

For a context h of k-1 tokens (h' is h without its first token) and a token w:

    P_k(w | h) = ( max(c_k(hw) - D_k(c_k(hw)), 0) + gamma_k(h) * P_{k-1}(w | h') ) / c_k(h.)

    c_k(h.)    = sum_w c_k(hw)                               the context's total
    gamma_k(h) = sum_{w : c_k(hw) > 0} D_k(c_k(hw))          the mass the discounts take from its children

and P_k(w | h) = P_{k-1}(w | h') where c_k(h.) = 0 (a context never seen: all of it from the order below).
c_k is the raw count c(hw) at the highest order and the continuation count N1+(.hw) (the distinct tokens
seen before hw) at every lower one; the bottom is uniform, P_0(w) = 1/V. Because
sum_w (c_k(hw) - D_k) + gamma_k(h) = c_k(h.), each P_k sums to 1 over the vocabulary when P_{k-1} does,
and no token gets probability 0.

Discounts D_k(c), from the count-of-counts n_r of order k (the number of k-grams whose c_k is r):
- standard (Ney, Essen & Kneser 1994): one D = n1 / (n1 + 2 n2) for every count; 0.5 when n1 = 0;
- modified (Chen & Goodman 1998): D(1), D(2), D(3+) = 1 - 2Y n2/n1, 2 - 3Y n3/n2, 3 - 4Y n4/n3 with
  Y = n1 / (n1 + 2 n2); one that is undefined or outside (0, r) is the standard D instead (D(r) = r, where
  n_{r+1} = 0, would leave the r-count n-grams nothing of their own).
"""
from __future__ import annotations

import numpy as np

FALLBACK_DISCOUNT = 0.5     # an order without singletons (n1 = 0) would get D = 0, i.e. zero probabilities


def count_of_counts(counts: np.ndarray) -> np.ndarray:
    """n[r] for r = 0..4: how many k-grams have count r (n[0] unused)."""
    return np.bincount(np.minimum(counts, 5), minlength=6)[:5]


def estimate_discounts(counts: np.ndarray, modified: bool = False) -> np.ndarray:
    """(4,) D(c) for c = 0, 1, 2, 3+ (D(0) = 0) from one order's counts; see the module docstring."""
    n = count_of_counts(counts).astype(np.float64)
    standard = n[1] / (n[1] + 2 * n[2]) if n[1] > 0 else FALLBACK_DISCOUNT
    d = np.array([0.0, standard, standard, standard])
    if modified and n[1] > 0:
        y = standard
        with np.errstate(divide="ignore", invalid="ignore"):
            candidates = [1 - 2 * y * n[2] / n[1], 2 - 3 * y * n[3] / n[2], 3 - 4 * y * n[4] / n[3]]
        for r, value in enumerate(candidates, 1):
            if np.isfinite(value) and 0 < value < r:
                d[r] = value
    return d


def fixed_discounts(discount: float) -> np.ndarray:
    """(4,) the same D for every count."""
    return np.array([0.0, discount, discount, discount])


class Level:
    """Order k's k-grams (sorted keys, see counts.py), the counts c_k and discounts D_k it smooths with,
    and per context node (a k-1-gram id) the total c_k(h.) and gamma_k(h)."""

    def __init__(self, keys: np.ndarray, counts: np.ndarray, discounts: np.ndarray, vocab_size: int,
                 n_contexts: int):
        self.keys, self.counts, self.discounts, self.vocab_size = keys, counts, discounts, vocab_size
        parent, n_contexts = keys // vocab_size, max(n_contexts, 1)
        self.total = np.bincount(parent, weights=counts, minlength=n_contexts)            # c_k(h.)
        self.gamma = np.bincount(parent, weights=self.discount_of(counts), minlength=n_contexts)

    def __len__(self) -> int:
        return len(self.keys)

    def discount_of(self, counts: np.ndarray) -> np.ndarray:
        """D_k(c) for each count (0 for a count of 0)."""
        return self.discounts[np.minimum(counts, 3)]

    def counts_at(self, ids: np.ndarray) -> np.ndarray:
        """c_k of each k-gram id, 0 for -1 (never seen)."""
        if len(self.counts) == 0:
            return np.zeros(len(ids), dtype=np.int32)
        return np.where(ids >= 0, self.counts[np.maximum(ids, 0)], 0)

    def kept(self, counts: np.ndarray) -> np.ndarray:
        """max(c - D_k(c), 0): what a k-gram keeps of its count (D(c) <= c, so this is c - D(c))."""
        return counts - self.discount_of(counts)

    def find(self, contexts: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """Id of each k-gram (context node, token), -1 where it was never seen or the context is -1."""
        keys = contexts * self.vocab_size + tokens
        if len(self.keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where((contexts >= 0) & (self.keys[at] == keys), at, -1)

    def children(self, context: int) -> tuple[np.ndarray, np.ndarray]:
        """(tokens, c_k) of the k-grams that continue one context node."""
        lo, hi = np.searchsorted(self.keys, [context * self.vocab_size, (context + 1) * self.vocab_size])
        return self.keys[lo:hi] - context * self.vocab_size, self.counts[lo:hi]

    def interpolate(self, contexts: np.ndarray, kept: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """P_k = (kept + gamma_k(h) P_{k-1}) / c_k(h.) where the context h was seen, else P_{k-1}."""
        safe = np.maximum(contexts, 0)
        total = np.where(contexts >= 0, self.total[safe], 0.0)
        seen = total > 0
        mixed = (kept + self.gamma[safe] * lower) / np.where(seen, total, 1.0)
        return np.where(seen, mixed, lower)
