"""Interpretable-cell search: which unit of which layer tracks each character feature best.

For every feature f and every unit u (h and c of every layer) the Pearson correlation over the positions of
the text,

    r(u, f) = sum_t (x_ut - mean x_u)(f_t - mean f) / (T * std x_u * std f),

is accumulated chunk by chunk from sums (sum x, sum x^2, sum x f), so a long text never has to be held as a
(T, units) matrix. The unit with the largest |r| wins; a second pass reads that unit's trace to show a snippet
where it fires (the position where sign(r) * x is highest while the feature is on).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import features as feats
from .activations import DEFAULT_CHUNK, stream

SNIPPET_CHARS = 60


@dataclass
class CellMatch:
    feature: str
    layer: int           # 0-based
    unit: int
    kind: str            # "h" or "c"
    correlation: float   # signed Pearson r
    snippet: str         # text around where the unit fires
    position: int        # character offset of the strongest firing

    def to_dict(self) -> dict:
        return asdict(self)


class _Moments:
    """Running sums for the correlations of N units with F features."""

    def __init__(self):
        self.n = 0
        self.sx = self.sxx = self.sxf = None

    def add(self, x: np.ndarray, f: np.ndarray) -> None:
        """x (T, N) unit values, f (T, F) feature values at the same positions."""
        x64, f64 = x.astype(np.float64), f.astype(np.float64)
        if self.sx is None:
            self.sx, self.sxx, self.sxf = np.zeros(x.shape[1]), np.zeros(x.shape[1]), np.zeros((x.shape[1], f.shape[1]))
        self.n += len(x)
        self.sx += x64.sum(0)
        self.sxx += (x64 * x64).sum(0)
        self.sxf += x64.T @ f64                                            # (N, F)

    def correlation(self, f: np.ndarray) -> np.ndarray:
        """(N, F) Pearson r; 0 where a unit or a feature is constant."""
        n = self.n
        sf, sff = f.sum(0, dtype=np.float64), (f.astype(np.float64) ** 2).sum(0)
        cov = self.sxf - np.outer(self.sx, sf) / n                          # (N, F)
        var_x = np.maximum(self.sxx - self.sx ** 2 / n, 0.0)                # (N,)
        var_f = np.maximum(sff - sf ** 2 / n, 0.0)                          # (F,)
        denom = np.sqrt(np.outer(var_x, var_f))
        return np.divide(cov, denom, out=np.zeros_like(cov), where=denom > 1e-12)


def unit_layout(layers: int, lstm: bool) -> list[tuple[int, str]]:
    """(layer, kind) of each block of H columns in the unit matrix: h of every layer, then c (LSTM)."""
    return [(layer, kind) for kind in (["h", "c"] if lstm else ["h"]) for layer in range(layers)]


def _units(acts, layout) -> np.ndarray:
    """Activations -> (T, blocks * H) unit values in `layout` order."""
    return np.concatenate([acts.units(kind)[layer] for layer, kind in layout], axis=1)


def _snippet(text: str, position: int) -> str:
    half = SNIPPET_CHARS // 2
    start = max(0, position - half)
    return text[start:start + SNIPPET_CHARS]


def _feature_matrix(text: str, offsets: np.ndarray, features: list[str] | None) -> tuple[list[str], np.ndarray]:
    per_char = feats.compute(text, features)
    return list(per_char), np.stack([v[offsets] for v in per_char.values()], axis=1)   # (T, F) at tokens' starts


def find_cells(acts, text: str, offsets: np.ndarray, features: list[str] | None = None, top: int = 1
               ) -> list[CellMatch]:
    """The `top` best units per feature from Activations already collected over the whole text."""
    names, F = _feature_matrix(text, offsets, features)
    layout = unit_layout(len(acts.h), acts.c is not None)
    units = _units(acts, layout)                                            # (T, N)
    moments = _Moments()
    moments.add(units, F)
    H = acts.h.shape[2]
    return _matches(moments.correlation(F), names, F, text, offsets, layout, H, top,
                    lambda columns: {u: units[:, u] for u in columns})


def scan_cells(model, text: str, tokens: np.ndarray, offsets: np.ndarray, features: list[str] | None = None,
               chunk: int = DEFAULT_CHUNK, top: int = 1, progress=None) -> list[CellMatch]:
    """The same search streamed over a long text: sums per chunk, then a second pass for the winners' traces."""
    names, F = _feature_matrix(text, offsets, features)
    lstm = model.recurrent.kind == "lstm"
    layout = unit_layout(model.recurrent.num_layers, lstm)
    moments = _Moments()
    for acts in stream(model, tokens, chunk=chunk, with_gates=lstm, with_predictions=False):
        sl = slice(acts.start, acts.start + len(acts))
        moments.add(_units(acts, layout), F[sl])
        if progress:
            progress(sl.stop / len(tokens))
    H = model.recurrent.hidden

    def traces(columns):
        parts: dict[int, list] = {u: [] for u in columns}
        for acts in stream(model, tokens, chunk=chunk, with_gates=lstm, with_predictions=False):
            for u in columns:
                layer, kind = layout[u // H]
                parts[u].append(acts.units(kind)[layer][:, u % H])
        return {u: np.concatenate(v) for u, v in parts.items()}
    return _matches(moments.correlation(F), names, F, text, offsets, layout, H, top, traces)


def _matches(r, names, F, text, offsets, layout, H, top, traces_of) -> list[CellMatch]:
    """The best units per feature from the (N, F) correlations, each with a snippet where it fires; features
    that are constant over the text are left out."""
    picks = []
    for j, name in enumerate(names):
        if F[:, j].min() == F[:, j].max():
            continue                                 # the text never shows this feature (no quotes, no URLs, ...)
        for u in np.argsort(-np.abs(r[:, j]), kind="stable")[:top]:
            picks.append((name, j, int(u), float(r[u, j])))
    traces = traces_of(sorted({u for _, _, u, _ in picks}))
    found = []
    for name, j, u, corr in picks:
        trace = traces[u] * (1.0 if corr >= 0 else -1.0)
        on = F[:, j] > 0 if _is_binary(F[:, j]) else np.ones(len(trace), bool)
        t = int(np.argmax(np.where(on, trace, -np.inf))) if on.any() else int(np.argmax(trace))
        layer, kind = layout[u // H]
        found.append(CellMatch(name, layer, u % H, kind, round(corr, 4), _snippet(text, int(offsets[t])),
                               int(offsets[t])))
    return found


def _is_binary(values: np.ndarray) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all())
