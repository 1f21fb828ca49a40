"""`rnnlab train --backend numpy`: the same trainer loop, with the step done by the NumPy model.

A PyTorch LanguageModel of the same config mirrors the NumPy weights; it is synced
before each evaluation so that validation, samples and checkpoints use the normal
code, and a NumPy-trained run is sampled and evaluated by the normal commands.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import RnnlabError
from ..trainer import Trainer
from .model import NumpyLM
from .optim import OPTIMIZERS, clip_elementwise, clip_global_norm

NUMPY_DTYPES = {"float64": np.float64, "float32": np.float32, "auto": np.float32}


class NumpyTrainer(Trainer):
    """Trainer whose train_step is hand-written NumPy forward/backward + Adagrad/Adam."""

    @staticmethod
    def check_settings(cfg, model_cfg) -> None:
        if cfg.optimizer not in OPTIMIZERS:
            raise RnnlabError(f"--backend numpy has no optimizer {cfg.optimizer!r}", "use --optimizer adagrad or adam")
        if model_cfg.dropout:
            raise RnnlabError("--backend numpy does not implement dropout", "pass --dropout 0")
        if cfg.dtype not in NUMPY_DTYPES:
            raise RnnlabError(f"--backend numpy has no dtype {cfg.dtype!r}", "use --dtype float32 or float64")

    def __post_init__(self):
        self.check_settings(self.cfg, self.model.cfg)
        np_dtype = NUMPY_DTYPES[self.cfg.dtype]
        self.np_model = NumpyLM.from_torch(self.model, np_dtype)
        if np_dtype == np.float64:
            self.model.double()
        super().__post_init__()

    def make_optimizer(self):
        return OPTIMIZERS[self.cfg.optimizer](self.np_model.params, self.cfg.lr)

    def train_step(self) -> None:
        cfg, p = self.cfg, self.progress
        if self.stream.starts_epoch(p.step) or self.state is None:
            self.state = self.np_model.init_state(cfg.batch_size)
        window = self.stream.window(p.step)                                  # (B, T+1)
        self.lr = self.optimizer.lr = self.current_lr()
        loss, grads, self.state = self.np_model.loss_and_grads(window[:, :-1], window[:, 1:], self.state)
        if cfg.clip_value:
            clip_elementwise(grads, cfg.clip_value)
        if cfg.grad_clip:
            clip_global_norm(grads, cfg.grad_clip)
        if cfg.weight_decay:                                                 # L2, as torch's Adam/Adagrad apply it
            for name, g in grads.items():
                g += cfg.weight_decay * self.np_model.params[name]
        self.optimizer.step(self.np_model.params, grads)
        self._loss_sum += float(loss)
        self._loss_count += 1
        p.step += 1
        p.chars_seen += window.shape[0] * (window.shape[1] - 1)

    def sync_model(self) -> None:
        """Copy the NumPy weights into the PyTorch mirror used for evaluation, samples and checkpoints."""
        with torch.no_grad():
            for name, tensor in self.model.state_dict().items():
                tensor.copy_(torch.from_numpy(self.np_model.params[name]))

    def run_eval(self) -> None:
        self.sync_model()
        super().run_eval()

    def backend_state(self) -> dict:
        to_torch = lambda d: {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in d.items()}  # noqa: E731
        opt = {k: to_torch(v) if isinstance(v, dict) else v for k, v in self.optimizer.state_dict().items()}
        return {"numpy_optimizer": opt, "numpy_params": to_torch(self.np_model.params),
                "hidden": [torch.from_numpy(h) for h in self.state] if self.state is not None else []}

    def load_backend_state(self, d: dict) -> None:
        dtype = next(iter(self.np_model.params.values())).dtype             # this run's --dtype, maybe changed on resume
        to_numpy = lambda t: {k: v.cpu().numpy().astype(dtype) for k, v in t.items()}  # noqa: E731
        self.np_model.params.update(to_numpy(d["numpy_params"]))   # exact, even where the mirror is float32
        self.optimizer = self.make_optimizer()
        self.optimizer.load_state_dict({k: to_numpy(v) if isinstance(v, dict) else v
                                        for k, v in d["numpy_optimizer"].items()})
        self.state = tuple(h.cpu().numpy().astype(dtype) for h in d["hidden"]) or None
