"""The trainer: one loop for every task, one callback hook, exact resume.

The loop knows nothing about the problem or about checkpoints, logs and progress bars. It is
given a task (tasks/base.py: batches, model, loss, evaluation) and a backend (backends.py:
autograd + a torch optimizer, or the NumPy BPTT), and it owns the rest: the learning-rate
schedule, the step/epoch/time budgets, the evaluation cadence, signals and divergence. It calls
every callback with an event name ("start", "log", "eval_start", "eval_progress", "eval",
"end") and a read-only LoopView (hooks.py); callbacks may return requests (Stop, ScaleLR).

Under torchrun (distributed.py) every rank runs this loop on its share of each batch; rank 0 alone
has callbacks. Whatever differs between ranks (the clock, signals, callbacks' requests) is agreed at
two points of every step (`_agree`): all ranks take rank 0's clock, horizon and lr scale, and stop
when any rank stops, so every rank ends at the same step.
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

from . import distributed
from .backends import TorchBackend, build_optimizer  # noqa: F401  (build_optimizer: re-exported)
from .hooks import LoopView, ScaleLR, Stop
from .schedule import DEFAULT_HORIZON, decay_horizon, fit_horizon, horizon_follows_time, lr_factor, step_budget
from .tasks.base import Evaluation, Task


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
    """Train `task` per `cfg` (a LoopConfig) with `backend` (default: autograd); callbacks see every event."""
    task: Task
    cfg: object
    device: torch.device
    dtype: torch.dtype = torch.float32
    callbacks: list = field(default_factory=list)
    backend_cls: type = TorchBackend
    clock: Callable[[], float] = time.monotonic   # seconds; tests pass a fake one

    def __post_init__(self):
        self.task.model.to(self.device)
        if not distributed.is_root():
            self.callbacks = []                # rank 0 alone writes checkpoints, metrics, samples, progress
        self.backend = self.backend_cls(self.task, self.cfg, self.device, self.dtype)
        spe = self.task.steps_per_epoch
        if not horizon_follows_time(self.cfg) and self.cfg.lr_decay_steps is None:
            self.cfg = self.cfg.replace(lr_decay_steps=decay_horizon(self.cfg, spe))   # fixed, recorded in config
        self.step_budget = step_budget(self.cfg, spe)
        self.view = LoopView(self)
        self._timing: tuple[int, float] | None = None   # (step, train_seconds) where timing started
        self._eval_seconds: list[float] = []   # wall time of each evaluation block this session
        self._eval_estimate: float | None = None  # its estimate before the first one is timed
        self.progress = Progress()
        self.train_loss = float("nan")         # mean loss over the last log interval
        self.lr = self.cfg.lr
        self.last_score: Evaluation | None = None
        self.stop_reason: str | None = None
        self.eval_fraction = 0.0               # how far the running evaluation is
        self.stop_signal: int | None = None    # SIGINT/SIGTERM when a signal stopped the run
        self.diverged = False
        self.improved = False
        self.scheduled_eval = True             # False for the final evaluation a stop adds off the schedule
        self._loss_sum = torch.zeros((), device=self.device)
        self._loss_count = 0
        self._step_items = 0                   # this rank's items in the last step
        self._signalled: int | None = None     # a signal this rank received, not yet agreed (distributed)

    @property
    def model(self) -> torch.nn.Module:
        return self.task.model

    # ------------------------------------------------------------------ resume
    def state_dict(self) -> dict:
        """Everything needed to continue exactly where this run is."""
        return {
            "progress": vars(self.progress).copy(),
            "callbacks": {cb.state_key: cb.state_dict() for cb in self.callbacks if hasattr(cb, "state_dict")},
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            **self.task.state_dict(),
            **self.backend.state_dict(),
        }

    def load_state_dict(self, d: dict) -> None:
        self.progress = Progress(**d["progress"])
        for cb in self.callbacks:
            if hasattr(cb, "load_state_dict"):
                saved = d["callbacks"].get(cb.state_key, d["callbacks"].get(type(cb).__name__))  # older runs: class name
                if saved is not None:
                    cb.load_state_dict(saved)
        self.task.load_state_dict(d)
        self.backend.load_state_dict(d)
        if "torch_rng" in d:
            torch.set_rng_state(d["torch_rng"].cpu())
        if d.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in d["cuda_rng"]])

    # ------------------------------------------------------------------ loop
    def emit(self, event: str) -> None:
        """Call every callback with (event, view) and carry out the requests they return."""
        for cb in self.callbacks:
            requests = cb(event, self.view)
            for request in requests if isinstance(requests, (list, tuple)) else [requests]:
                if isinstance(request, Stop):
                    self.stop(request.reason)
                elif isinstance(request, ScaleLR):
                    self.progress.lr_scale *= request.factor

    def stop(self, reason: str) -> None:
        """Ask the loop to end after the current step (final evaluation and checkpoint follow)."""
        self.stop_reason = self.stop_reason or reason

    def on_signal(self, signum: int) -> None:
        """SIGINT/SIGTERM: stop after this step (under torchrun at the next point where the ranks agree)."""
        if distributed.active():
            self._signalled = self._signalled or signum
            return
        if self.stop_reason is None:
            self.stop_signal = signum
        self.stop("interrupted by " + signal.Signals(signum).name)

    def _agree(self) -> None:
        """Distributed: every rank takes rank 0's clock, horizon and lr scale, counts every rank's items of
        the last step, and stops (with the signal any rank received) when any rank stops."""
        if not distributed.active():
            return
        p, root = self.progress, float(distributed.is_root())
        sig = self._signalled or 0
        t = distributed.all_sum(torch.tensor(
            [float(self.stop_reason is not None), float(sig == signal.SIGINT), float(sig == signal.SIGTERM),
             float(self._step_items), root * p.elapsed_s, root * p.train_seconds, root * p.horizon,
             root * p.lr_scale], dtype=torch.float64)).tolist()
        p.chars_seen += int(t[3]) - self._step_items
        self._step_items = 0
        p.elapsed_s, p.train_seconds, p.horizon, p.lr_scale = t[4], t[5], int(t[6]), t[7]
        if t[1] or t[2]:
            signum = signal.SIGINT if t[1] else signal.SIGTERM
            self.stop_signal = self.stop_signal or (signum if self.stop_reason is None else None)
            self.stop("interrupted by " + signal.Signals(signum).name)
        elif t[0]:
            self.stop("stopped on rank 0")

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
        return self.progress.step / self.task.steps_per_epoch

    def horizon(self) -> int:
        """The cosine horizon in use: fitted to the time budget, else fixed by the step budget."""
        if horizon_follows_time(self.cfg) and self.progress.horizon:
            return self.progress.horizon
        return decay_horizon(self.cfg, self.task.steps_per_epoch) or DEFAULT_HORIZON

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
            self._eval_estimate = EVAL_FIXED_SECONDS + self.task.estimate_eval_seconds(self.device, self.dtype)
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
        cap = decay_horizon(self.cfg, self.task.steps_per_epoch)
        p.horizon = fit_horizon(p.step, self.cfg.max_minutes * 60 - p.elapsed_s, per_step, self.seconds_per_eval(),
                                self.cfg.eval_every, cap)

    def current_lr(self) -> float:
        p = self.progress
        return self.cfg.lr * p.lr_scale * lr_factor(self.cfg, p.step, self.horizon())

    def train_step(self) -> None:
        """One batch of the task: the backend's forward, backward, clip and update at the scheduled lr."""
        p = self.progress
        self.lr = self.current_lr()
        loss, items = self.backend.step(self.task, p.step, self.lr, self.device, self.dtype)
        self._loss_sum += loss
        self._loss_count += 1
        p.step += 1
        p.chars_seen += items
        self._step_items = items

    def flush_loss(self) -> bool:
        """Average the loss since the last flush (the only host sync); False if it is not finite."""
        if self._loss_count:                   # under torchrun: the mean over the ranks' mean losses
            self.train_loss = float(distributed.all_sum(self._loss_sum)) / self._loss_count / distributed.world_size()
            self._loss_sum.zero_()
            self._loss_count = 0
        return math.isfinite(self.train_loss)

    def _synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _eval_progress(self, fraction: float) -> None:
        self.eval_fraction = fraction
        self.emit("eval_progress")

    def run_eval(self) -> None:
        self.backend.before_eval(self.task)
        self.eval_fraction = 0.0
        self.emit("eval_start")
        self.last_score = self.task.evaluate(self.device, self.dtype, on_progress=self._eval_progress)
        if not self.last_score.finite:
            self.diverged = True
            self.stop(f"validation loss became {self.last_score.loss} at step {self.progress.step}")
            return
        p = self.progress
        self.improved = self.last_score.objective < p.best_val
        if self.improved:
            p.best_val, p.best_step = self.last_score.objective, p.step
        self.task.share_state()                # distributed: rank 0's checkpoint holds every rank's rows
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
            self._agree()
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
                self._agree()
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
                self._agree()
            if not self.diverged and evaluated_at != p.step:
                if self.stop_signal and distributed.is_root():
                    from .callbacks import say                   # above the progress bar
                    say(f"rnnlab: {signal.Signals(self.stop_signal).name}: finishing the evaluation, "
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
        # the second signal aborts at once: KeyboardInterrupt or exit 143; under torchrun only a second
        # of the same kind (torchrun forwards a terminal's Ctrl-C to its workers as SIGTERM)
        if len(received) > 1 and (not distributed.active() or received.count(signum) > 1):
            for s, h in previous.items():
                signal.signal(s, h)
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)
        trainer.on_signal(signum)

    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
