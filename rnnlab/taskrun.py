"""Any task into a run directory: the run lock, the standard callbacks, the Trainer, the result.

Language-model runs (runs.py) and the classify/tag commands all go through here, so a run of any
task has the same best/, last/, metrics.jsonl/csv, loss.png, atomic checkpoints, exact resume,
NaN and Ctrl-C handling:

    with taskrun.new_run(cfg.out, say) as run_dir:            # or taskrun.existing_run(RUN, say)
        task = MyTask(...)
        result = taskrun.fit_task(task, cfg, run_dir, data_info, device=device, dtype=dtype)

Under torchrun rank 0 alone checks, locks and writes the run directory; the other ranks wait for it
(`_from_root`) and are handed the directory, or rank 0's refusal as the same RnnlabError.
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager, Iterator

import torch

from . import callbacks as cb
from . import checkpoint, distributed, rundir
from .backends import TorchBackend
from .errors import RnnlabError, require
from .tasks.base import Evaluation, Task
from .trainer import Trainer

Say = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass
class TaskResult:
    """What a finished (or stopped) run of any task reports."""
    run_dir: Path
    steps: int
    best_objective: float            # the lowest Evaluation.objective (best/ holds that step)
    best_step: int
    last: Evaluation | None          # the final evaluation
    stop_reason: str | None
    items_per_s: float
    unit: str
    stop_signal: int | None = None   # SIGINT or SIGTERM when a signal stopped the run (the CLI exits 128 + it)
    ended_by: str | None = None      # steps, epochs or time (None: stopped)
    lr_horizon: int = 0


@contextlib.contextmanager
def _from_root(run: ContextManager[Path]) -> Iterator[Path]:
    """Enter `run` (checks and lock) on rank 0 only; every rank gets its run directory or its RnnlabError."""
    if not distributed.is_root():
        yield distributed.root_decides(None)
        return
    with contextlib.ExitStack() as stack:
        yield distributed.root_decides(lambda: stack.enter_context(run))


def new_run(out: str | Path, say: Say = _stderr) -> ContextManager[Path]:
    """Check --out (new, empty, or a crashed start's leftovers), lock it for the run, yield it."""
    return _from_root(_new_run(out, say))


def existing_run(run: str | Path, say: Say = _stderr) -> ContextManager[Path]:
    """Lock a run to resume it: leftovers of a kill removed, a torn metrics line dropped."""
    return _from_root(_existing_run(run, say))


@contextlib.contextmanager
def _new_run(out: str | Path, say: Say) -> Iterator[Path]:
    run_dir = rundir.check_new_out(out)
    with rundir.locked(run_dir, say):
        require(not rundir.holds_run(run_dir), f"{run_dir} already holds a training run",
                f"continue it with --resume {run_dir} or choose another --out")
        rundir.clean_stale_tmp(run_dir, say)
        yield run_dir


@contextlib.contextmanager
def _existing_run(run: str | Path, say: Say) -> Iterator[Path]:
    run_dir = rundir.check_resume(run)
    require((run_dir / "last").exists() or (run_dir / ".last.old").exists(),
            f"{run_dir} has no last/ checkpoint to resume", "give the --out directory of an earlier training run")
    with rundir.locked(run_dir, say):
        rundir.clean_stale_tmp(run_dir, say)
        rundir.repair_metrics(run_dir, say)
        yield run_dir


def resume_overrides(run: str | Path, overrides: dict | None, cfg_cls) -> dict:
    """The settings a resume of `run` changes: the budget rule applied, --out only naming the run itself,
    and nothing that `cfg_cls` does not mark resumable (RnnlabError otherwise)."""
    from .config import budget_overrides
    from .settings import resumable
    overrides = budget_overrides(dict(overrides or {}), cfg_cls)
    out = overrides.pop("out", None)
    require(out is None or Path(out).resolve() == Path(run).resolve(), f"--resume continues {run} in place, so "
            f"--out {out} would be ignored", "drop --out (copy the run directory to fork it)")
    fixed = sorted(set(overrides) - resumable(cfg_cls))
    require(not fixed, f"cannot change {', '.join('--' + k.replace('_', '-') for k in fixed)} when resuming",
            "resume with the run's own settings, or start a new run with --out")
    return overrides


def resumed_config(meta: dict, cfg_cls, overrides: dict, run_dir: Path):
    """The run's saved settings (config.json's train section) with the overrides; refused when its step
    budget is already spent. Returns (config, the step the checkpoint holds)."""
    cfg = cfg_cls.from_dict(meta["train"]).replace(**overrides, out=str(run_dir))
    cfg = cfg.replace(batch_size=distributed.per_rank_batch(cfg.batch_size, meta.get("world_size", 1)))
    step = int(meta.get("metrics", {}).get("step", 0))
    require(cfg.max_steps is None or cfg.max_steps > step, f"{run_dir} is already at step {step} and "
            f"--max-steps is {cfg.max_steps}", f"pass --max-steps above {step} to train further")
    return cfg, step


def standard_callbacks(run_dir: Path, cfg, data_info: dict, progress: bool, extra: tuple = ()) -> list:
    """Patience rules, loss curve, checkpointer, metrics log, `extra` (e.g. a sample printer), progress."""
    callbacks: list = []
    if cfg.plateau_patience:
        callbacks.append(cb.ReduceLROnPlateau(cfg.plateau_patience, cfg.plateau_factor))
    if cfg.early_stop_patience:
        callbacks.append(cb.EarlyStopping(cfg.early_stop_patience))
    # the checkpoint comes after every callback that changes what a resume must restore, and before the
    # metrics row, so that a failed save leaves no row for a step that was never saved
    callbacks += [cb.LossCurve(run_dir), cb.Checkpointer(run_dir, data_info), cb.MetricsLog(run_dir), *extra,
                  cb.ProgressBar(progress) if progress else cb.LogLines()]
    if getattr(cfg, "tensorboard", False):
        callbacks.append(cb.TensorBoard(run_dir))
    return callbacks


def kept(run_dir: Path) -> str:
    """Which steps best/ and last/ hold, read from the checkpoints themselves."""
    best, last = checkpoint.saved_step(run_dir, "best"), checkpoint.saved_step(run_dir, "last")
    if best is None and last is None:
        return "no checkpoint was written"
    if best == last:
        return f"best/ and last/ in {run_dir} keep step {best}"
    held = [f"{name}/ keeps step {step}" for name, step in (("best", best), ("last", last)) if step is not None]
    return f"{' and '.join(held)} in {run_dir}"


def way_forward(trainer: Trainer, run_dir: Path) -> str:
    """The fix after a divergence: a lower --lr (and clipping, float32 where it was not) on resume."""
    cfg = trainer.cfg
    flags = f"--lr {cfg.lr / 3:.2g}" + (" --grad-clip 1" if not cfg.grad_clip or cfg.grad_clip > 1 else "")
    if trainer.dtype not in (torch.float32, torch.float64):
        flags += " --dtype float32"
    if checkpoint.saved_step(run_dir, "last") is None:
        return f"start again with e.g. {flags}"
    command = "rnnlab train" if trainer.task.name == "lm" else f"rnnlab {trainer.task.name} train"
    return f"resume from last/ with a lower learning rate, e.g. {command} --resume {run_dir} {flags}"


def run_trainer(trainer: Trainer, run_dir: Path) -> Trainer:
    """trainer.fit(); a divergence becomes an RnnlabError saying what is kept and how to go on."""
    try:
        trainer.fit()
    except BaseException:               # a failed save or a second Ctrl-C skips the "end" event: close the
        for c in trainer.callbacks:     # progress bar, so that the error is a line of its own
            if getattr(c, "bar", None) is not None:
                c.bar.close()
        raise
    if trainer.diverged:
        raise RnnlabError(f"training stopped: {trainer.stop_reason}; {kept(run_dir)}", way_forward(trainer, run_dir))
    return trainer


def result_of(trainer: Trainer, run_dir: Path) -> TaskResult:
    p = trainer.progress
    return TaskResult(run_dir=run_dir, steps=p.step, best_objective=p.best_val, best_step=p.best_step,
                      last=trainer.last_score, stop_reason=trainer.stop_reason,
                      items_per_s=p.chars_seen / max(p.train_seconds, 1e-9), unit=trainer.task.unit,
                      stop_signal=trainer.stop_signal, ended_by=trainer.ended_by, lr_horizon=trainer.horizon())


def fit_task(task: Task, cfg, run_dir: Path, data_info: dict, *, device: torch.device,
             dtype: torch.dtype = torch.float32, progress: bool = True, resume_state: dict | None = None,
             extra_callbacks: tuple = (), backend_cls: type = TorchBackend) -> TaskResult:
    """Train `task` into the (locked) run_dir with the standard callbacks; resume_state: a trainer.pt to continue."""
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(task, cfg, device, dtype, standard_callbacks(run_dir, cfg, data_info, progress, extra_callbacks),
                      backend_cls=backend_cls)
    if resume_state is not None:
        load_resume_state(trainer, resume_state, run_dir)
    return result_of(run_trainer(trainer, run_dir), run_dir)


def load_resume_state(trainer: Trainer, state: dict, where: Path) -> None:
    """Restore a trainer.pt into `trainer` (RnnlabError when it is damaged)."""
    try:
        trainer.load_state_dict(state)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise RnnlabError(f"{Path(where) / checkpoint.TRAINER} is damaged ({exc.__class__.__name__}: {exc})",
                          "restore it, or start a new run with --out") from None
