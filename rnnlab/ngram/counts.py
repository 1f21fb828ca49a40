"""Every n-gram of a token array counted order by order, as a trie of sorted integer keys.

Level k holds the distinct k-grams of the text. A k-gram is named by the id of its first
k-1 tokens (its context: a k-1-gram, a node of level k-1) and its last token:

    key_k(g) = id_{k-1}(g[:-1]) * V + g[-1]        id_k(g) = index of key_k(g) in the sorted unique keys_k

Level 0 is the empty context, id 0. Ids are below the text length N, so keys stay below
N * V (exact in int64 for any corpus and vocabulary rnnlab holds); the children of one
context are one contiguous run of keys_k, sorted by token, and finding a k-gram is a
searchsorted. Each level is one np.unique over the N keys of the level below: no Python
loop over n-grams.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import require

KEY_LIMIT = 1 << 62       # N * V must stay below this for key_k to be exact in int64


def count_levels(tokens: np.ndarray, vocab_size: int, order: int,
                 on_level: Callable[[int], None] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(keys_k, counts_k) for k = 1..order: the counts Kneser-Ney smooths with.

    The highest order keeps raw counts c(g). Every lower order keeps continuation counts
    N1+(. g) = the number of distinct tokens seen right before g (0 for a k-gram that occurs
    only at the very start of the text). on_level(k) is called after each level."""
    t = np.asarray(tokens).astype(np.int64, copy=False)
    n, V = len(t), int(vocab_size)
    require(n < 1 << 31 and n * V < KEY_LIMIT, f"{n:,} tokens of a {V:,}-symbol vocabulary are too many to "
            "count exactly", "use a shorter text")
    context = np.zeros(n, dtype=np.int64)     # context[i]: id of the k-1 tokens before position i (i >= k-1)
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    below = None                              # id of the k-1-gram ending at each position >= k-2
    for k in range(1, order + 1):
        keys, first, ids, raw = np.unique(context[k - 1:] * V + t[k - 1:], return_index=True,
                                          return_inverse=True, return_counts=True)     # k-grams ending at k-1..n-1
        if below is not None:
            # a distinct k-gram first ending at position p extends its suffix, the k-1-gram ending at p, by one
            # token on the left: below[p - (k - 2)] = below[first + 1]
            suffix = below[first + 1]
            levels[-1] = (levels[-1][0], np.bincount(suffix, minlength=len(levels[-1][0])).astype(np.int32))
        levels.append((keys, raw.astype(np.int32)))
        context[k:] = ids[:-1]                # the k-gram ending at i-1 is the context of position i
        below = ids
        if on_level is not None:
            on_level(k)
    return levels
