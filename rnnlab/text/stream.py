"""Truncated-BPTT batches: cut one token stream into B parallel rows and walk them in chunks of T.

    stream:  a b c d e f g h i j k l m n o p q r s t u v w x    (N tokens)
    rows (B=3):   a b c d e f g h      chunk 0: x = [a b c]   y = [b c d]
                  i j k l m n o p      chunk 1: x = [d e f]   y = [e f g]
                  q r s t u v w x      (x of row 0 shown; rows go in parallel)

The hidden state after chunk k is the initial state of chunk k+1 (detached), so each
row is read as one long sequence, as min-char-rnn and char-rnn do. At the end of an
epoch the rows wrap to the start and the state is reset.
"""
from __future__ import annotations

import mmap

import numpy as np
import torch

from ..errors import require


RELEASE_EVERY = 256      # chunks between hand-backs of a memory-mapped corpus's pages


def release_pages(mapping) -> None:
    """Drop a read-only file mapping's pages from this process (they stay in the kernel's cache and are read
    again when touched), so walking a corpus larger than memory does not grow the resident set."""
    try:
        mapping.madvise(mmap.MADV_DONTNEED)
    except (AttributeError, OSError, ValueError):    # no madvise on this platform: the kernel reclaims them
        pass


class TokenStream:
    """B parallel rows of a token array, served as (x, y) chunks of length T by chunk index."""

    def __init__(self, tokens: np.ndarray, batch_size: int, seq_len: int):
        row_len = len(tokens) // batch_size
        require(row_len >= seq_len + 1,
                f"corpus too short: {len(tokens):,} training tokens cannot fill {batch_size} rows of "
                f"{seq_len + 1} tokens", "lower --batch-size or --seq-len, or use a longer text")
        self.rows = tokens[: row_len * batch_size].reshape(batch_size, row_len)  # (B, L) view, no copy
        self.batch_size, self.seq_len = batch_size, seq_len
        self.chunks_per_epoch = (row_len - 1) // seq_len
        self._mapped = getattr(tokens, "_mmap", None)    # a prepared corpus: np.memmap over tokens.bin

    def window(self, index: int) -> np.ndarray:
        """Chunk `index` (counted from the first epoch on) as a (B, T+1) int64 array: x = [:, :-1], y = [:, 1:]."""
        start = (index % self.chunks_per_epoch) * self.seq_len
        if self._mapped is not None and index % RELEASE_EVERY == 0:
            release_pages(self._mapped)
        return self.rows[:, start: start + self.seq_len + 1].astype(np.int64)

    def batch(self, index: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Chunk `index`: x, y each (B, T) int64 tensors on `device`."""
        window = torch.from_numpy(self.window(index)).to(device, non_blocking=True)   # (B, T+1)
        return window[:, :-1], window[:, 1:]

    def starts_epoch(self, index: int) -> bool:
        """True when chunk `index` begins a pass over the rows (the carried state must be reset)."""
        return index % self.chunks_per_epoch == 0
