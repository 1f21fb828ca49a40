"""Backends: how one training step turns a task's loss into updated weights.

The Trainer is given a backend; the PyTorch one (here) runs autograd and a torch optimizer,
the NumPy one (numpy_ref/backend.py) its hand-written BPTT. Both keep the same interface:
step(task, step, lr, device, dtype) -> (loss, items), before_eval(), state_dict(), load_state_dict().
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from . import distributed

if TYPE_CHECKING:
    from .config import LoopConfig


def build_optimizer(params, cfg: LoopConfig) -> torch.optim.Optimizer:
    """adam | adamw | rmsprop | adagrad | sgd (with momentum) at the base learning rate."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay or 0.01)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=0.95, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


class TorchBackend:
    """Autograd: loss.backward(), optional value and global-norm clipping, one optimizer step."""
    name = "torch"

    def __init__(self, task, cfg: LoopConfig, device: torch.device, dtype: torch.dtype):
        self.cfg = cfg
        self.params = [p for p in task.model.parameters() if p.requires_grad]   # frozen embeddings stay out
        self.optimizer = build_optimizer(self.params, cfg)
        self.replica = None
        if distributed.active():      # gradients all-reduced (averaged) in backward; see distributed.py
            from .replica import Replica
            self.replica = Replica(task, device)

    @staticmethod
    def check_settings(cfg, model_cfg) -> None:
        """Refuse settings this backend cannot honour, before anything is written (RnnlabError)."""

    def step(self, task, step: int, lr: float, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, int]:
        """Batch `step` of `task`: forward, backward, clip, update at `lr`; the (detached) loss and its items."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.replica is None:
            loss, items = task.train_loss(step, device, dtype)
        else:
            with self.replica.forwarding(task):           # the task's model calls go through DDP
                loss, items = task.train_loss(step, device, dtype)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.clip_value:
            torch.nn.utils.clip_grad_value_(self.params, self.cfg.clip_value)
        if self.cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
        self.optimizer.step()
        return loss.detach(), items

    def before_eval(self, task) -> None:
        """Nothing to do: the task's model holds the trained weights."""

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.optimizer.load_state_dict(d["optimizer"])
