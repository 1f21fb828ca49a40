"""Batches of variable-length sequences: padding with lengths and masks, length bucketing, epoch plans.

    sequences (ids of different lengths)  ->  tokens (B, T_max) padded with 0, lengths (B,), mask (B, T_max)

Bucketing: each epoch the examples are shuffled, cut into pools of `pool` batches, each pool sorted by
length and cut into batches, and the batches shuffled; so a batch holds sentences of similar length
(little padding) while the order still changes every epoch. Every example is in exactly one batch per
epoch. The plan of epoch e is drawn from torch.Generator(seed + e): batch k of a run is a pure function
of the seed and k, which is what makes resume exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..text.label_vocab import PAD

MODES = ("bucket", "shuffle", "pad-max")


@dataclass
class Batch:
    """Padded ids with their lengths and mask; `index` says which examples they are."""
    tokens: Tensor      # (B, T) int64, PAD after each sequence's end
    lengths: Tensor     # (B,) int64, >= 1
    mask: Tensor        # (B, T) bool, True on real tokens
    index: np.ndarray   # (B,) positions in the dataset

    def to(self, device) -> "Batch":
        return Batch(self.tokens.to(device), self.lengths.to(device), self.mask.to(device), self.index)


def pad_batch(sequences: Sequence[np.ndarray], index: np.ndarray | None = None, width: int | None = None,
              pad: int = PAD) -> Batch:
    """Stack id arrays into (B, T) with T the longest length (or `width`, for pad-to-max batches).
    Empty sequences count as length 1 (one PAD token) so that every row has a last state."""
    lengths = np.array([max(len(s), 1) for s in sequences], dtype=np.int64)
    T = int(width if width is not None else lengths.max())
    tokens = np.full((len(sequences), T), pad, dtype=np.int64)             # (B, T)
    for i, s in enumerate(sequences):
        tokens[i, :len(s)] = s[:T]
    lengths = np.minimum(lengths, T)
    mask = np.arange(T)[None, :] < lengths[:, None]                         # (B, T)
    index = np.arange(len(sequences)) if index is None else np.asarray(index)
    return Batch(torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(mask), index)


def epoch_batches(lengths: np.ndarray, batch_size: int, generator: torch.Generator, mode: str = "bucket",
                  pool: int = 50) -> list[np.ndarray]:
    """One epoch's batches as index arrays: `bucket` (sorted within pools of `pool` batches), `shuffle` or
    `pad-max` (plain shuffled batches; pad-max pads them to the longest sentence of the data)."""
    n = len(lengths)
    order = torch.randperm(n, generator=generator).numpy()
    if mode in ("shuffle", "pad-max"):
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    batches = []
    size = batch_size * pool
    for start in range(0, n, size):
        chunk = order[start:start + size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]            # shortest first within the pool
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    shuffle = torch.randperm(len(batches), generator=generator).numpy()
    return [batches[i] for i in shuffle]


def eval_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Every example once, sorted by length (least padding; order does not change a score)."""
    order = np.argsort(lengths, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


class EpochPlan:
    """Batch k of training: epoch k // steps_per_epoch, drawn from torch.Generator(seed + epoch)."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, mode: str = "bucket", pool: int = 50):
        self.lengths, self.batch_size, self.seed, self.mode, self.pool = np.asarray(lengths), batch_size, seed, mode, pool
        self.steps_per_epoch = -(-len(self.lengths) // batch_size)
        self._epoch, self._batches = -1, []

    def indices(self, step: int) -> np.ndarray:
        epoch, k = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed((self.seed + epoch) % 2 ** 63)
            self._batches = epoch_batches(self.lengths, self.batch_size, g, self.mode, self.pool)
            self._epoch = epoch
        return self._batches[k]

