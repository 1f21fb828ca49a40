"""The trainer: truncated BPTT over B parallel streams, one callback hook, exact resume.

The loop knows nothing about checkpoints, logs or progress bars: it calls every
callback with an event name ("start", "log", "eval_start", "eval", "end") and itself, and
callbacks read what they need (step, losses, model) and may ask it to stop.
"""
from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from .config import TrainConfig
from .device import autocast
from .evaluation import Score, estimate_seconds, evaluate
from .schedule import DEFAULT_HORIZON, decay_horizon, fit_horizon, horizon_follows_time, lr_factor, step_budget
from .text.corpus import Corpus
from .text.stream import TokenStream


def build_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
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


@dataclass
class Progress:
    """Counters that survive a resume."""
    step: int = 0
    chars_seen: int = 0
    train_seconds: float = 0.0       # time spent in training steps (excludes evaluation)
    elapsed_s: float = 0.0           # wall time of the whole run, across resumes
    lr_scale: float = 1.0            # set by reduce-on-plateau
    best_val: float = float("inf")
    best_step: int = -1
    horizon: int = 0                 # cosine horizon fitted to a time budget (0: not fitted; see schedule.py)


TIMING_SKIP = 2        # steps not timed after a (re)start: allocation and first-touch costs
TIMING_STEPS = 8       # timed steps before the first horizon fit; refitted when warmup ends (the cosine starts)
EVAL_FIXED_SECONDS = 1.5  # before an evaluation is timed: checkpoints and the printed sample, beside the validation


@dataclass
class Trainer:
    """Train `model` on `corpus` per `cfg`; callbacks see every event. Call fit()."""
    model: torch.nn.Module
    corpus: Corpus
    cfg: TrainConfig
    device: torch.device
    dtype: torch.dtype = torch.float32
    callbacks: list = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic   # seconds; tests pass a fake one

    @staticmethod
    def check_settings(cfg: TrainConfig, model_cfg) -> None:
        """Refuse settings this trainer cannot honour, before anything is written (RnnlabError)."""

    def __post_init__(self):
        self.model.to(self.device)
        self.stream = TokenStream(self.corpus.train, self.cfg.batch_size, self.cfg.seq_len)
        spe = self.stream.chunks_per_epoch
        if not horizon_follows_time(self.cfg) and self.cfg.lr_decay_steps is None:
            self.cfg = self.cfg.replace(lr_decay_steps=decay_horizon(self.cfg, spe))   # fixed, recorded in config
        self.step_budget = step_budget(self.cfg, spe)
        self._timing: tuple[int, float] | None = None   # (step, train_seconds) where timing started
        self._eval_seconds: list[float] = []   # wall time of each evaluation block this session
        self._eval_estimate: float | None = None  # its estimate before the first one is timed
        self.optimizer = self.make_optimizer()
        self.progress = Progress()
        self.state = None                      # carried hidden state
        self.train_loss = float("nan")         # mean loss over the last log interval
        self.lr = self.cfg.lr
        self.last_score: Score | None = None
        self.stop_reason: str | None = None
        self.eval_progress = None              # on_progress(fraction) during validation; set by the progress bar
        self.stop_signal: int | None = None    # SIGINT/SIGTERM when a signal stopped the run
        self.diverged = False
        self.improved = False
        self.scheduled_eval = True             # False for the final evaluation a stop adds off the schedule
        self._loss_sum = torch.zeros((), device=self.device)
        self._loss_count = 0

    def make_optimizer(self):
        return build_optimizer(self.model.parameters(), self.cfg)

    # ------------------------------------------------------------------ resume
    def state_dict(self) -> dict:
        """Everything needed to continue exactly where this run is."""
        return {
            "progress": vars(self.progress).copy(),
            "callbacks": {type(cb).__name__: cb.state_dict() for cb in self.callbacks if hasattr(cb, "state_dict")},
            **self.backend_state(),
        }

    def load_state_dict(self, d: dict) -> None:
        self.progress = Progress(**d["progress"])
        for cb in self.callbacks:
            if hasattr(cb, "load_state_dict") and type(cb).__name__ in d["callbacks"]:
                cb.load_state_dict(d["callbacks"][type(cb).__name__])
        self.load_backend_state(d)

    def backend_state(self) -> dict:
        """Optimizer, carried hidden state and RNG states."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "hidden": list(self.state) if self.state is not None else [],
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def load_backend_state(self, d: dict) -> None:
        self.optimizer.load_state_dict(d["optimizer"])
        self.state = self.model.detach_state(tuple(h.to(self.device) for h in d["hidden"])) or None
        torch.set_rng_state(d["torch_rng"].cpu())
        if d["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in d["cuda_rng"]])

    # ------------------------------------------------------------------ loop
    def emit(self, event: str) -> None:
        for cb in self.callbacks:
            cb(event, self)

    def stop(self, reason: str) -> None:
        """Ask the loop to end after the current step (final evaluation and checkpoint follow)."""
        self.stop_reason = self.stop_reason or reason

    def budget_spent(self) -> str | None:
        """Which budget is used up: steps, epochs or time (the fitted horizon or the clock); None if none."""
        cfg, p = self.cfg, self.progress
        if self.step_budget is not None and p.step >= self.step_budget:
            return "steps" if cfg.max_steps is not None and p.step >= cfg.max_steps else "epochs"
        if horizon_follows_time(cfg) and p.horizon and p.step >= p.horizon:
            return "time"                      # the fitted horizon: the learning rate is at its floor
        if cfg.max_minutes is not None and p.elapsed_s >= cfg.max_minutes * 60:
            return "time"
        return None

    def budget_left(self) -> bool:
        return self.budget_spent() is None

    @property
    def ended_by(self) -> str | None:
        """The budget that ended the run (steps, epochs or time); None while one is left or after a stop."""
        return self.budget_spent()

    def epoch(self) -> float:
        """Passes over the training text so far (fractional)."""
        return self.progress.step / self.stream.chunks_per_epoch

    def horizon(self) -> int:
        """The cosine horizon in use: fitted to the time budget, else fixed by the step budget."""
        if horizon_follows_time(self.cfg) and self.progress.horizon:
            return self.progress.horizon
        return decay_horizon(self.cfg, self.stream.chunks_per_epoch) or DEFAULT_HORIZON

    def planned_steps(self) -> int | None:
        """Where the run is expected to end: the step budget, or the horizon fitted to the time budget."""
        if horizon_follows_time(self.cfg) and self.progress.horizon:
            return min(self.progress.horizon, self.step_budget or self.progress.horizon)
        return self.step_budget

    def seconds_per_step(self) -> float | None:
        """Mean seconds of a training step since timing started in this session (evaluation excluded)."""
        if self._timing is None or self.progress.step <= self._timing[0]:
            return None
        return (self.progress.train_seconds - self._timing[1]) / (self.progress.step - self._timing[0])

    def seconds_per_eval(self) -> float:
        """Measured wall time of an evaluation block (validation, checkpoints, sample), or an estimate."""
        if self._eval_seconds:
            return sum(self._eval_seconds) / len(self._eval_seconds)
        if self._eval_estimate is None:              # time a slice of the validation pass once
            self._eval_estimate = EVAL_FIXED_SECONDS + estimate_seconds(self.model, len(self.corpus.val),
                                                                        self.device, self.dtype)
        return self._eval_estimate

    def seconds_left(self) -> float | None:
        """Estimated wall time until the run ends, evaluations included."""
        per_step, planned, p = self.seconds_per_step(), self.planned_steps(), self.progress
        left = []
        if per_step is not None and planned is not None:
            steps = max(0, planned - p.step)
            evals = planned // self.cfg.eval_every - p.step // self.cfg.eval_every
            evals += planned % self.cfg.eval_every != 0             # the final evaluation
            left.append(steps * per_step + evals * self.seconds_per_eval())
        if self.cfg.max_minutes is not None:
            left.append(self.cfg.max_minutes * 60 - p.elapsed_s + (self.seconds_per_eval() if per_step else 0.0))
        return max(0.0, min(left)) if left else None

    def refit_horizon(self) -> None:
        """Fit the cosine horizon to the time left (time budgets only); never below the current step."""
        per_step = self.seconds_per_step()
        if not horizon_follows_time(self.cfg) or per_step is None:
            return
        p = self.progress
        cap = decay_horizon(self.cfg, self.stream.chunks_per_epoch)
        p.horizon = fit_horizon(p.step, self.cfg.max_minutes * 60 - p.elapsed_s, per_step, self.seconds_per_eval(),
                                self.cfg.eval_every, cap)

    def current_lr(self) -> float:
        p = self.progress
        return self.cfg.lr * p.lr_scale * lr_factor(self.cfg, p.step, self.horizon())

    def train_step(self) -> None:
        """One TBPTT chunk: forward from the carried state, backward, clip, update."""
        cfg, p = self.cfg, self.progress
        if self.stream.starts_epoch(p.step) or self.state is None:
            self.state = self.model.init_state(cfg.batch_size)
        x, y = self.stream.batch(p.step, self.device)                    # (B, T) each
        self.lr = self.current_lr()
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr
        with autocast(self.device, self.dtype):
            logits, state = self.model(x, self.state)                    # (B, T, V)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.state = self.model.detach_state(state)                      # float32 even when autocast made bf16
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip_value:
            torch.nn.utils.clip_grad_value_(self.model.parameters(), cfg.clip_value)
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self._loss_sum += loss.detach()
        self._loss_count += 1
        p.step += 1
        p.chars_seen += x.numel()

    def flush_loss(self) -> bool:
        """Average the loss since the last flush (the only host sync); False if it is not finite."""
        if self._loss_count:
            self.train_loss = float(self._loss_sum) / self._loss_count
            self._loss_sum.zero_()
            self._loss_count = 0
        return math.isfinite(self.train_loss)

    def _synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def run_eval(self) -> None:
        self.emit("eval_start")
        self.last_score = evaluate(self.model, self.corpus.val, self.device, self.dtype, on_progress=self.eval_progress)
        if not math.isfinite(self.last_score.nats):
            self.diverged = True
            self.stop(f"validation loss became {self.last_score.nats} at step {self.progress.step}")
            return
        p = self.progress
        self.improved = self.last_score.nats < p.best_val
        if self.improved:
            p.best_val, p.best_step = self.last_score.nats, p.step
        self.emit("eval")

    def fit(self) -> "Trainer":
        """Run until the budget ends, a callback stops it, Ctrl-C/SIGTERM, or divergence."""
        cfg, p = self.cfg, self.progress
        self.model.train()
        self.emit("start")
        evaluated_at = -1
        start_step = p.step
        with _stop_on_signals(self):
            clock = self.clock()
            while self.budget_left() and self.stop_reason is None:
                t0 = self.clock()
                self.train_step()
                now = self.clock()
                p.train_seconds += now - t0
                p.elapsed_s += now - clock
                clock = now
                timed = p.step - start_step - TIMING_SKIP
                if timed == 0 or timed == TIMING_STEPS or (p.step == cfg.warmup_steps and timed > TIMING_STEPS):
                    self._synchronize()                 # CUDA runs ahead of the host: time finished work
                    now = self.clock()
                    p.train_seconds += now - clock
                    p.elapsed_s += now - clock
                    clock = now
                    if self._timing is None:
                        self._timing = (p.step, p.train_seconds)
                    else:
                        self.refit_horizon()
                if p.step % cfg.log_every == 0 or not self.budget_left():
                    if not self.flush_loss():
                        self.diverged = True
                        self.stop(f"training loss became {self.train_loss} at step {p.step}")
                        break
                    self.emit("log")
                if p.step % cfg.eval_every == 0:
                    self.run_eval()
                    evaluated_at = p.step
                    self.model.train()
                    now = self.clock()
                    self._eval_seconds.append(now - clock)
                    p.elapsed_s += now - clock
                    clock = now
                    self.refit_horizon()
            if not self.diverged and evaluated_at != p.step:
                if self.stop_signal:
                    from .callbacks import _say                  # above the progress bar
                    _say(f"rnnlab: {signal.Signals(self.stop_signal).name}: finishing the evaluation, "
                         "press Ctrl-C again to abort")
                self.flush_loss()
                self.scheduled_eval = False        # an extra, final evaluation: patience counters ignore it
                self.run_eval()
        self.emit("end")
        return self


@contextlib.contextmanager
def _stop_on_signals(trainer: Trainer):
    """First Ctrl-C or SIGTERM asks for a graceful stop (final eval + resumable last/); a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)
        if len(received) > 1:               # the second signal aborts at once: KeyboardInterrupt or exit 143
            for s, h in previous.items():
                signal.signal(s, h)
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)
        if trainer.stop_reason is None:
            trainer.stop_signal = signum
        trainer.stop("interrupted by " + signal.Signals(signum).name)

    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
