"""LSTMVis's match (Strobelt et al. 2018): the units that are on over a selected span, and the other spans of
the text where the same units are on.

    S       = units whose activation is >= threshold at every position of the selection
    matched = positions where all of S is on (at least `min_share` of it, for looser matches); a maximal run
              of them is a candidate span
    S2      = units on at every position of a candidate
    score   = |S & S2| - |S2 - S|        shared units count for it, units on only in the candidate against it

Candidates that overlap the selection are left out; ties go to the span whose length is closest to the
selection's, then to the earlier one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import require

DEFAULT_THRESHOLD = 0.3
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class MatchSpan:
    """Positions [start, end) of the text (end exclusive), with S2's overlap with the selection's units."""
    start: int
    end: int
    shared: int          # |S & S2|
    extra: int           # |S2 - S|

    @property
    def score(self) -> int:
        return self.shared - self.extra


@dataclass
class Match:
    units: np.ndarray                       # S: the unit indices on over the whole selection, ascending
    spans: list = field(default_factory=list)   # MatchSpan, best first


def _check_span(values: np.ndarray, start: int, end: int) -> None:
    require(values.ndim == 2, f"expected activations of shape (T, H), got {values.shape}")
    T = values.shape[0]
    require(0 <= start < end <= T, f"the selection [{start}, {end}) is not a span of the text's {T} positions",
            f"select from 0 to {T}, start before end")


def units_on(values: np.ndarray, start: int, end: int, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Indices of the units of values (T, H) that are >= threshold at every position in [start, end)."""
    _check_span(values, start, end)
    return np.flatnonzero((values[start:end] >= threshold).all(axis=0))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True in a (T,) mask as [start, end) pairs."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def match(values: np.ndarray, start: int, end: int, threshold: float = DEFAULT_THRESHOLD,
          limit: int = DEFAULT_LIMIT, min_share: float = 1.0) -> Match:
    """The units on over values[start:end] (values (T, H)) and up to `limit` other spans where they are on."""
    require(0.0 < min_share <= 1.0, f"min_share must be in (0, 1], got {min_share}")
    require(limit > 0, f"limit must be positive, got {limit}")
    selected = units_on(values, start, end, threshold)
    if len(selected) == 0:
        return Match(units=selected)
    on = values >= threshold                                           # (T, H)
    in_s = np.zeros(values.shape[1], dtype=bool)
    in_s[selected] = True
    need = max(1, int(np.ceil(min_share * len(selected))))
    matched = on[:, selected].sum(axis=1) >= need                      # (T,)
    spans = []
    for a, b in _runs(matched):
        if a < end and start < b:                                      # the selection itself
            continue
        s2 = on[a:b].all(axis=0)                                       # (H,)
        spans.append(MatchSpan(a, b, shared=int((s2 & in_s).sum()), extra=int((s2 & ~in_s).sum())))
    width = end - start
    spans.sort(key=lambda s: (-s.score, abs((s.end - s.start) - width), s.start))
    return Match(units=selected, spans=spans[:limit])
