"""The forecaster: a recurrent stack reads a window of past values, a linear head gives the next H at once.

    window (B, L) ──▶ Recurrent (GRU/LSTM/RNN, 1 input per step) ──▶ h_L (B, H_units) ──▶ Linear ──▶ (B, horizon)

Direct multi-output: every step of the horizon is predicted from the same final state, so no forecast is
fed back and errors do not compound (an autoregressive decoder would feed its own step-1 guess into step 2).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import Tensor, nn

from ..errors import require
from .recurrent import Recurrent


@dataclass
class ForecasterConfig:
    """Shape of a Forecaster (saved in a run's config.json)."""
    kind: str = "gru"
    hidden: int = 64
    layers: int = 1
    dropout: float = 0.0
    horizon: int = 12

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ForecasterConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        require(isinstance(d, dict) and set(d) <= names, f"the model settings {d!r} are not a forecaster's",
                "the checkpoint is damaged or was written by another rnnlab version")
        return cls(**d)


class Forecaster(nn.Module):
    """Recurrent stack over the window, linear head on its last output (see the module docstring)."""

    def __init__(self, cfg: ForecasterConfig):
        super().__init__()
        self.cfg = cfg
        self.rnn = Recurrent(cfg.kind, 1, cfg.hidden, cfg.layers, cfg.dropout)
        self.head = nn.Linear(cfg.hidden, cfg.horizon)

    def forward(self, window: Tensor) -> Tensor:
        """window (B, L) of normalised values -> (B, horizon) normalised forecasts."""
        outputs, _ = self.rnn(window.unsqueeze(-1))                       # (B, L, H_units)
        return self.head(outputs[:, -1])                                  # (B, horizon)
