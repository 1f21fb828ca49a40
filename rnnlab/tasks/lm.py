"""Language modelling as a task: truncated BPTT over B parallel streams, exact validation.

Batch k is chunk k of the TokenStream (text/stream.py): every row continues where it stopped,
so the hidden state is carried from chunk to chunk (detached) and reset when an epoch starts.

Under torchrun with W processes the stream has W*B rows and rank r reads rows r*B .. r*B+B-1, so W
ranks at --batch-size B train as one process at --batch-size W*B; validation rows are split the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .. import distributed
from ..device import autocast
from ..evaluation import Score, estimate_seconds, evaluate
from ..text.corpus import Corpus
from ..text.stream import TokenStream
from .base import Evaluation, Task


@dataclass
class LMEvaluation(Evaluation):
    """Cross-entropy on the validation text: loss in nats per token, also in bits."""
    unit: str = "char"

    @classmethod
    def of(cls, score: Score, unit: str) -> "LMEvaluation":
        return cls(loss=score.nats, n=score.n_tokens, unit=unit)

    @property
    def nats(self) -> float:
        return self.loss

    @property
    def bits(self) -> float:
        return Score(self.loss, self.n).bits

    def row(self) -> dict:
        return {"val_nats": self.loss, "val_bpc": self.bits}

    def summary(self) -> str:
        return f"val {self.loss:.3f} nats/{self.unit}"


class LanguageModelTask(Task):
    """Next-token prediction on a corpus: the model of models/language_model.py, cross-entropy loss."""
    name = "lm"
    unit = "char"      # metrics count tokens as chars_seen / chars_per_s, whatever the tokenizer

    def __init__(self, model, corpus: Corpus, batch_size: int, seq_len: int, tokenizer: str = "char"):
        self.model, self.corpus, self.tokenizer = model, corpus, tokenizer
        self.stream = TokenStream(corpus.train, batch_size * distributed.world_size(), seq_len)
        self.rows = distributed.rows_of_rank(batch_size * distributed.world_size())   # this rank's rows
        self.batch_size = batch_size
        self.state = None                                        # hidden state carried between chunks
        self._shared = None                                      # every rank's state rows (distributed)

    @property
    def steps_per_epoch(self) -> int:
        return self.stream.chunks_per_epoch

    def train_loss(self, step: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, int]:
        if self.stream.starts_epoch(step) or self.state is None:
            self.state = self.model.init_state(self.batch_size)
        x, y = self._batch(step, device)                                       # (B, T) each
        with autocast(device, dtype):
            logits, state = self.model(x, self.state)                          # (B, T, V)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.state = self.model.detach_state(state)                            # float32 even when autocast made bf16
        return loss, x.numel()

    def _batch(self, step: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.stream.batch(step, device)                                 # (W*B, T) each
        return (x[self.rows], y[self.rows]) if distributed.active() else (x, y)

    def evaluate(self, device: torch.device, dtype: torch.dtype,
                 on_progress: Callable[[float], None] | None = None) -> LMEvaluation:
        score = evaluate(self.model, self.corpus.val, device, dtype, on_progress=on_progress)
        return LMEvaluation.of(score, self.tokenizer)

    def estimate_eval_seconds(self, device: torch.device, dtype: torch.dtype) -> float:
        return estimate_seconds(self.model, len(self.corpus.val), device, dtype)

    def checkpoint_sections(self) -> dict:
        return {"model": self.model.cfg.to_dict(), "vocab": self.corpus.vocab.to_dict()}

    def share_state(self) -> None:
        if distributed.active() and self.state is not None:
            self._shared = [distributed.all_gather_rows(h, dim=1) for h in self.state]   # (layers, W*B, H)

    def state_dict(self) -> dict:
        if distributed.active():
            return {"hidden": self._shared or []}
        return {"hidden": list(self.state) if self.state is not None else []}

    def load_state_dict(self, d: dict) -> None:
        device = next(self.model.parameters()).device
        hidden = [h[:, distributed.rows_of_rank(h.shape[1])] if distributed.active() else h for h in d["hidden"]]
        self.state = self.model.detach_state(tuple(h.to(device) for h in hidden)) or None
