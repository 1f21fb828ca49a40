"""A task's model as a DistributedDataParallel replica for the length of one training step.

DDP all-reduces (averages) the gradients during backward, but only of a loss computed inside its
forward. Tasks call their model as `model(...)` (language models, classifiers) or through a loss
method (`model.sentence_losses(batch)`, tasks name these in `loss_methods`); `forwarding(task)`
swaps `task.model` for a stand-in that routes both through DDP and everything else (init_state,
cfg, update_average, ...) to the model itself. Outside a step `task.model` is the plain module,
which checkpoints, evaluation and samples use.
"""
from __future__ import annotations

import contextlib
import functools

import torch
from torch.nn.parallel import DistributedDataParallel

from . import distributed


class _Calls(torch.nn.Module):
    """The model's forward or one of its loss methods, chosen by name: what DDP wraps."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, method: str | None, *args, **kwargs):
        return (getattr(self.model, method) if method else self.model)(*args, **kwargs)


class _StandIn:
    """`task.model` during a step: calls and loss methods through DDP, any other attribute the model's."""

    def __init__(self, ddp: DistributedDataParallel, model: torch.nn.Module, methods: tuple[str, ...]):
        self._ddp, self._model, self._methods = ddp, model, methods

    def __call__(self, *args, **kwargs):
        return self._ddp(None, *args, **kwargs)

    def __getattr__(self, name: str):
        if name in self._methods:
            return functools.partial(self._ddp, name)
        return getattr(self._model, name)


class Replica:
    """DDP over `task.model` (same parameters, no copy): gloo on a CPU, nccl on the rank's GPU."""

    def __init__(self, task, device: torch.device):
        distributed.setup()
        ids = [distributed.local_rank()] if device.type == "cuda" else None
        self.ddp = DistributedDataParallel(_Calls(task.model), device_ids=ids)
        self.stand_in = _StandIn(self.ddp, task.model, tuple(getattr(task, "loss_methods", ())))

    @contextlib.contextmanager
    def forwarding(self, task):
        model = task.model
        task.model = self.stand_in
        try:
            yield
        finally:
            task.model = model
