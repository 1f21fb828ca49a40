"""Run-directory rules: what --out may be, one writer at a time, leftovers of a crash, metrics.jsonl.

A run directory is used by one `rnnlab train` at a time: RUN/.lock is flock'ed
and names the holder's pid; the kernel drops the lock when the holder dies, so
a stale lock of a killed run is simply taken over. Under the lock, the temporary
checkpoint directories a kill -9 left behind are removed and a torn last line
of metrics.jsonl is dropped; a foreign metrics.jsonl is refused.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import socket
from pathlib import Path
from typing import Callable, Iterator

from .errors import RnnlabError, require

LOCK = ".lock"
METRICS = "metrics.jsonl"
CHECKPOINTS = ("last", "best", ".last.old", ".best.old")   # .old survives a crash mid-swap
_TMP = re.compile(r"^\.(last|best)\.tmp-(\d+)$")              # checkpoint.write_atomically's temporary names


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:             # someone else's process: alive
        return True
    return True


def holds_run(run_dir: Path) -> bool:
    """True if run_dir holds an rnnlab training checkpoint."""
    return any((Path(run_dir) / name).is_dir() for name in CHECKPOINTS)


def _refuse_foreign_kinds(path: str | Path, flag: str) -> Path:
    """Refuse an empty path, a file and an HMM run (shared by new runs and resumes)."""
    require(str(path).strip() != "", f"{flag} is empty", f"give {flag} a directory name, e.g. {flag} runs/mine")
    run_dir = Path(path)
    require(not run_dir.exists() or run_dir.is_dir(), f"{flag} {run_dir} is a file, not a directory",
            f"give {flag} a directory")
    require(not (run_dir / "hmm.npz").exists(), f"{run_dir} is an HMM run (written by rnnlab hmm train)",
            "use rnnlab hmm for it, or give rnnlab train another directory")
    return run_dir


def check_new_out(out: str | Path) -> Path:
    """The --out of a new run: new, empty, or holding only a crashed start's leftovers. Nothing is written."""
    run_dir = _refuse_foreign_kinds(out, "--out")
    if run_dir.is_dir() and not holds_run(run_dir):
        other = sorted(p.name for p in run_dir.iterdir() if p.name != LOCK and not _TMP.match(p.name))
        named = ", ".join(other[:2]) + (", ..." if len(other) > 2 else "")
        require(not other, f"--out {run_dir} is not empty and holds no rnnlab run ({named})",
                "choose a new or empty directory")
    return run_dir


def check_resume(run_dir: str | Path) -> Path:
    """The RUN of --resume: not empty, not a file, not an HMM run."""
    return _refuse_foreign_kinds(run_dir, "--resume")


@contextlib.contextmanager
def locked(run_dir: Path, say: Callable[[str], None] = lambda m: None) -> Iterator[None]:
    """Hold RUN/.lock (creating RUN if needed) for the block; refuse if a live rnnlab holds it.

    A directory this call created is removed again if the block fails and left it empty."""
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    fd, ok = _acquire(path, run_dir, say), False
    try:
        yield
        ok = True
    finally:
        _release(fd, path)
        if created and not ok:
            with contextlib.suppress(OSError):
                run_dir.rmdir()             # only if empty: nothing of value is ever removed


def _acquire(path: Path, run_dir: Path, say) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        holder = os.pread(fd, 200, 0).decode(errors="replace").split()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = f"pid {holder[0]}" if holder else "another process"
            raise RnnlabError(f"{run_dir} is in use by another rnnlab train ({pid})",
                              "wait for it to end, or choose another --out") from None
        except OSError as exc:              # a file system without flock: fall back to the pid in the file
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                os.close(fd)
                raise
            mine = [str(os.getpid()), socket.gethostname()]
            live = len(holder) >= 2 and holder[1] == mine[1] and holder[0].isdigit() and pid_alive(int(holder[0]))
            if live and holder[:2] != mine:
                os.close(fd)
                raise RnnlabError(f"{run_dir} is in use by another rnnlab train (pid {holder[0]})",
                                  "wait for it to end, or choose another --out") from None
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        os.close(fd)                        # the holder removed the file as we opened it: take the new one
    if holder and holder[0].isdigit() and int(holder[0]) != os.getpid():
        say(f"rnnlab: note: taking over the stale lock of pid {holder[0]} in {run_dir} (that run has ended)")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
    return fd


def _release(fd: int, path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)                     # before unlocking, so that a waiter's inode check sees it went
    os.close(fd)


def clean_stale_tmp(run_dir: Path, say: Callable[[str], None] = lambda m: None) -> None:
    """Remove .last.tmp-<pid> / .best.tmp-<pid> directories of processes that no longer run."""
    for p in Path(run_dir).iterdir():
        m = _TMP.match(p.name)
        if m and int(m.group(2)) != os.getpid() and not pid_alive(int(m.group(2))):
            shutil.rmtree(p, ignore_errors=True)
            say(f"rnnlab: removed {p}, a half-written checkpoint of a killed run")


def _is_row(row) -> bool:
    """A metrics.jsonl row of any task: a step and a validation loss (val_nats for language models)."""
    return isinstance(row, dict) and isinstance(row.get("step"), int) and ("val_nats" in row or "val_loss" in row)


def read_metrics(path: Path) -> tuple[list[dict], int | None]:
    """The rows of a metrics.jsonl, and the byte offset of a torn (half-written) last line, or None.

    RnnlabError if the file is not ours: a complete line that is not one of our JSON rows."""
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    if not lines[-1]:
        lines.pop()                                     # the file ends with a newline (or is empty)
    rows, torn = [], None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if n == len(lines) and not data.endswith(b"\n") and not _is_row(row) and line.startswith(b"{"):
            torn = len(data) - len(line)                # a kill mid-append: the rest of the line never came
            break
        require(_is_row(row), f"{path} is not an rnnlab metrics log (line {n} is not one of its JSON rows)",
                "move it out of the run directory, then start again")
        rows.append(row)
    return rows, torn


def repair_metrics(run_dir: Path, say: Callable[[str], None] = lambda m: None) -> None:
    """Refuse a foreign metrics.jsonl; drop a torn last line of metrics.jsonl and metrics.csv."""
    for name in (METRICS, "metrics.csv"):
        path = Path(run_dir) / name
        if not path.exists():
            continue
        if name == METRICS:
            _, cut = read_metrics(path)
        else:
            data = path.read_bytes()
            cut = data.rfind(b"\n") + 1 if data and not data.endswith(b"\n") else None
        if cut is not None:
            os.truncate(path, cut)
            say(f"rnnlab: note: dropped the half-written last line of {path}")
        elif path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            with open(path, "a") as f:               # a whole last row without its newline: end it
                f.write("\n")
