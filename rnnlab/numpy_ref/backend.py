"""`rnnlab train --backend numpy`: the trainer's loop, with each step done by the NumPy model.

A PyTorch LanguageModel of the same config mirrors the NumPy weights; it is synced before each
evaluation so that validation, samples and checkpoints use the normal code, and a NumPy-trained
run is sampled and evaluated by the normal commands. The NumPy backend trains language models only.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import RnnlabError
from .model import NumpyLM
from .optim import OPTIMIZERS, clip_elementwise, clip_global_norm

NUMPY_DTYPES = {"float64": np.float64, "float32": np.float32, "auto": np.float32}


class NumpyBackend:
    """Hand-written NumPy forward/backward (BPTT) + Adagrad/Adam, on the task's TBPTT stream."""
    name = "numpy"

    @staticmethod
    def check_settings(cfg, model_cfg) -> None:
        if cfg.optimizer not in OPTIMIZERS:
            raise RnnlabError(f"--backend numpy has no optimizer {cfg.optimizer!r}", "use --optimizer adagrad or adam")
        if model_cfg.dropout:
            raise RnnlabError("--backend numpy does not implement dropout", "pass --dropout 0")
        if cfg.dtype not in NUMPY_DTYPES:
            raise RnnlabError(f"--backend numpy has no dtype {cfg.dtype!r}", "use --dtype float32 or float64")

    def __init__(self, task, cfg, device: torch.device, dtype: torch.dtype):
        self.check_settings(cfg, task.model.cfg)
        self.cfg = cfg
        np_dtype = NUMPY_DTYPES[cfg.dtype]
        self.np_model = NumpyLM.from_torch(task.model, np_dtype)
        if np_dtype == np.float64:
            task.model.double()
        self.optimizer = OPTIMIZERS[cfg.optimizer](self.np_model.params, cfg.lr)
        self.state = None                                                    # NumPy hidden state carried on

    def step(self, task, step: int, lr: float, device: torch.device, dtype: torch.dtype) -> tuple[float, int]:
        cfg, stream = self.cfg, task.stream
        if stream.starts_epoch(step) or self.state is None:
            self.state = self.np_model.init_state(stream.batch_size)
        window = stream.window(step)                                         # (B, T+1)
        self.optimizer.lr = lr
        loss, grads, self.state = self.np_model.loss_and_grads(window[:, :-1], window[:, 1:], self.state)
        if cfg.clip_value:
            clip_elementwise(grads, cfg.clip_value)
        if cfg.grad_clip:
            clip_global_norm(grads, cfg.grad_clip)
        if cfg.weight_decay:                                                 # L2, as torch's Adam/Adagrad apply it
            for name, g in grads.items():
                g += cfg.weight_decay * self.np_model.params[name]
        self.optimizer.step(self.np_model.params, grads)
        return float(loss), window.shape[0] * (window.shape[1] - 1)

    def before_eval(self, task) -> None:
        """Copy the NumPy weights into the PyTorch mirror used for evaluation, samples and checkpoints."""
        with torch.no_grad():
            for name, tensor in task.model.state_dict().items():
                tensor.copy_(torch.from_numpy(self.np_model.params[name]))

    def state_dict(self) -> dict:
        to_torch = lambda d: {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in d.items()}  # noqa: E731
        opt = {k: to_torch(v) if isinstance(v, dict) else v for k, v in self.optimizer.state_dict().items()}
        return {"numpy_optimizer": opt, "numpy_params": to_torch(self.np_model.params),
                "numpy_hidden": [torch.from_numpy(h) for h in self.state] if self.state is not None else []}

    def load_state_dict(self, d: dict) -> None:
        dtype = next(iter(self.np_model.params.values())).dtype             # this run's --dtype, maybe changed on resume
        to_numpy = lambda t: {k: v.cpu().numpy().astype(dtype) for k, v in t.items()}  # noqa: E731
        self.np_model.params.update(to_numpy(d["numpy_params"]))   # exact, even where the mirror is float32
        self.optimizer = OPTIMIZERS[self.cfg.optimizer](self.np_model.params, self.cfg.lr)
        self.optimizer.load_state_dict({k: to_numpy(v) if isinstance(v, dict) else v
                                        for k, v in d["numpy_optimizer"].items()})
        hidden = d.get("numpy_hidden", d.get("hidden", []))          # "hidden" in checkpoints before the backends
        self.state = tuple(h.cpu().numpy().astype(dtype) for h in hidden) or None
