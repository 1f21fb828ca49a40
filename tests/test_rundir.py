"""Run directories: one writer at a time, no foreign --out, crash leftovers cleaned, signals and budgets honest."""
import json
import os
import signal
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

import rnnlab
import rnnlab.runs as runs
import rnnlab.taskrun as taskrun
from rnnlab import cli, rundir
from rnnlab.callbacks import plot_loss_curve
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.settings import help_text

MODEL = ModelConfig(hidden=16, layers=1, embed=8, dropout=0.0)
BASE = ["--hidden", 16, "--layers", 1, "--embed", 8, "--batch-size", 4, "--seq-len", 16, "--sample-chars", 0,
        "--dtype", "float32"]
FLAGS = BASE + ["--eval-every", 5, "--log-every", 5, "--no-progress"]


def cfg(small_text, out, **kw):
    base = dict(data=str(small_text), seq_len=16, batch_size=4, max_steps=10, max_minutes=None, eval_every=5,
                log_every=5, sample_chars=0, out=str(out), seed=1, warmup_steps=2, dtype="float32")
    base.update(kw)
    return TrainConfig(**base)


def main(capsys, *args):
    """rnnlab.cli.main in this process: (exit code, its stderr)."""
    capsys.readouterr()
    code = cli.main([str(a) for a in args])
    return code, capsys.readouterr().err


def steps(run):
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def with_callback(monkeypatch, callback):
    """Put `callback` first in every run's callbacks (monkeypatch.undo() takes it out)."""
    original = runs._callbacks
    monkeypatch.setattr(runs, "_callbacks", lambda *a: [callback] + original(*a))


# ---------------------------------------------------------------- the lock

def test_a_locked_run_directory_is_refused_for_train_and_resume(small_text, tmp_path, capsys):
    run = tmp_path / "r"
    with rundir.locked(run):
        code, err = main(capsys, "train", "--data", small_text, "--max-steps", 5, "--out", run, *FLAGS)
        assert code == 2 and "in use by another rnnlab train (pid %d)" % os.getpid() in err
        assert len(err.strip().splitlines()) == 1
    rnnlab.train(MODEL, cfg(small_text, run, max_steps=5), progress=False)
    assert not (run / rundir.LOCK).exists()                    # released on exit
    with rundir.locked(run):
        with pytest.raises(RnnlabError, match="in use"):
            rnnlab.resume(run, {"max_steps": 10}, progress=False)
    assert rnnlab.resume(run, {"max_steps": 10}, progress=False).steps == 10


def test_a_second_process_is_refused_and_sigterm_exits_143_with_a_resumable_last(small_text, tmp_path):
    from .conftest import run_cli
    run = tmp_path / "r"
    first = subprocess.Popen([sys.executable, "-m", "rnnlab", "train", "--data", str(small_text), "--max-steps",
                              "100000", "--out", str(run), *map(str, BASE), "--eval-every", "100000",
                              "--log-every", "2", "--no-progress"], stderr=subprocess.PIPE, text=True)
    try:
        while not first.stderr.readline().startswith("step"):   # training has started
            assert first.poll() is None
        code, _, err = run_cli("train", "--data", small_text, "--max-steps", 5, "--out", run, *FLAGS)
        assert code == 2 and "in use by another rnnlab train (pid %d)" % first.pid in err
        assert len(err.strip().splitlines()) == 1
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 143, err
    assert "finishing the evaluation, press Ctrl-C again to abort" in err
    assert (run / "last" / "config.json").exists() and not (run / rundir.LOCK).exists()


def test_a_stale_lock_and_half_written_checkpoints_of_a_killed_run_are_cleaned(small_text, tmp_path):
    run, dead = tmp_path / "r", dead_pid()
    run.mkdir()
    (run / rundir.LOCK).write_text(f"{dead} {socket.gethostname()}\n")
    for name in (f".last.tmp-{dead}", f".best.tmp-{dead}", ".last.tmp-1"):   # pid 1 is alive: kept
        (run / name).mkdir()
        (run / name / "model.safetensors").write_bytes(b"half")
    notes = []
    rnnlab.train(MODEL, cfg(small_text, run, max_steps=5), progress=False, say=notes.append)
    assert any(f"stale lock of pid {dead}" in n for n in notes)
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == [".last.tmp-1"]
    (run / f".last.tmp-{dead}").mkdir()                                      # killed again, then resumed
    rnnlab.resume(run, {"max_steps": 10}, progress=False)
    assert not (run / f".last.tmp-{dead}").exists() and (run / ".last.tmp-1").exists()


# ---------------------------------------------------------------- what --out may be

def _hmm_run(path):
    path.mkdir()
    (path / "hmm.npz").write_bytes(b"x")
    (path / "config.json").write_text("{}")


@pytest.mark.parametrize("make, needle", [
    (lambda p: (p.mkdir(), (p / "notes.txt").write_text("keep me")), "not empty and holds no rnnlab run (notes.txt)"),
    (_hmm_run, "is an HMM run"),
    (lambda p: p.write_text("a file"), "is a file"),
])
def test_a_foreign_out_is_refused_and_left_as_it_was(small_text, tmp_path, capsys, make, needle):
    out = tmp_path / "out"
    make(out)
    before = sorted(os.listdir(out)) if out.is_dir() else out.read_text()
    code, err = main(capsys, "train", "--data", small_text, "--max-steps", 5, "--out", out, *FLAGS)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert (sorted(os.listdir(out)) if out.is_dir() else out.read_text()) == before
    if out.is_dir() and (out / "hmm.npz").exists():
        code, err = main(capsys, "train", "--resume", out)
        assert code == 2 and "is an HMM run" in err


def test_an_empty_out_is_refused_and_a_failed_start_leaves_no_directory(small_text, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = main(capsys, "train", "--data", small_text, "--max-steps", 5, "--out", "", *FLAGS)
    assert code == 2 and "--out is empty" in err and sorted(os.listdir(tmp_path)) == [small_text.name]
    code, err = main(capsys, "train", "--data", small_text, "--max-steps", 5, "--out", "x", *FLAGS,
                     "--seq-len", 50000)                                       # corpus too short, found late
    assert code == 2 and "too short" in err and not (tmp_path / "x").exists()


def test_resume_into_another_out_is_refused(small_text, tmp_path, capsys):
    run = tmp_path / "r"
    rnnlab.train(MODEL, cfg(small_text, run, max_steps=5), progress=False)
    code, err = main(capsys, "train", "--resume", run, "--out", tmp_path / "other", "--max-steps", 10)
    assert code == 2 and "would be ignored" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "other").exists()
    assert rnnlab.resume(run, {"out": str(run), "max_steps": 10}, progress=False).steps == 10   # the same dir is fine
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--help"])
    assert "copy the run to fork it" in " ".join(capsys.readouterr().out.split())


# ---------------------------------------------------------------- metrics.jsonl

def test_a_torn_last_metrics_line_is_dropped_on_resume_and_the_plot_still_works(small_text, tmp_path):
    run = tmp_path / "r"
    rnnlab.train(MODEL, cfg(small_text, run), progress=False)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 15, "elapsed_s": 0.')                               # kill -9 mid-append
    with open(run / "metrics.csv", "a") as f:
        f.write("15,0.")
    (run / "loss.png").unlink()
    assert plot_loss_curve(run, []).exists()                                  # the plot skips the torn line
    rnnlab.resume(run, {"max_steps": 15}, progress=False)
    assert steps(run) == [5, 10, 15]
    csv_rows = (run / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in csv_rows] == ["step", "5", "10", "15"]


def test_a_whole_last_row_without_its_newline_is_kept(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 5, "val_nats": 1.0}\n{"step": 10, "val_nats": 0.9}')
    rundir.repair_metrics(tmp_path)
    assert path.read_text().endswith('0.9}\n') and [r["step"] for r in rundir.read_metrics(path)[0]] == [5, 10]


@pytest.mark.parametrize("text", ["hello\nworld\n", "step,val\n5,1.0\n", '{"a": 1}\n', "hello"])
def test_a_foreign_metrics_file_is_refused_before_training(small_text, tmp_path, text):
    run = tmp_path / "r"
    rnnlab.train(MODEL, cfg(small_text, run, max_steps=5), progress=False)
    (run / "metrics.jsonl").write_text(text)
    last = (run / "last" / "model.safetensors").read_bytes()
    with pytest.raises(RnnlabError, match="not an rnnlab metrics log"):
        rnnlab.resume(run, {"max_steps": 10}, progress=False)
    assert (run / "metrics.jsonl").read_text() == text and (run / "last" / "model.safetensors").read_bytes() == last


# ---------------------------------------------------------------- signals

class _Signal:
    """Send `signum` to this process at the log of step `at`; optionally again during the final evaluation."""

    def __init__(self, signum, at, again=False):
        self.signum, self.at, self.again = signum, at, again

    def __call__(self, event, view):
        if event == "log" and view.step == self.at:
            os.kill(os.getpid(), self.signum)
        elif event == "eval" and self.again and not view.scheduled_eval:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_with_a_resumable_last_and_exit_128_plus_it(small_text, tmp_path, capsys, monkeypatch,
                                                                  signum, code):
    with_callback(monkeypatch, _Signal(signum, 10))
    run = tmp_path / "r"
    got, err = main(capsys, "train", "--data", small_text, "--max-steps", 30, "--out", run, *BASE,
                    "--eval-every", 4, "--log-every", 5, "--no-progress")
    assert got == code and "finishing the evaluation, press Ctrl-C again to abort" in err
    assert json.loads((run / "last" / "config.json").read_text())["metrics"]["step"] == 10
    result = rnnlab.train(MODEL, cfg(small_text, tmp_path / "api", max_steps=30), progress=False)
    assert result.stop_signal == signum and result.stop_reason == f"interrupted by {signal.Signals(signum).name}"


def test_a_second_ctrl_c_during_the_final_evaluation_aborts_and_keeps_last(small_text, tmp_path, capsys, monkeypatch):
    with_callback(monkeypatch, _Signal(signal.SIGINT, 10, again=True))
    run = tmp_path / "r"
    before = signal.getsignal(signal.SIGINT)     # SIG_IGN where the suite runs in a background job
    code, err = main(capsys, "train", "--data", small_text, "--max-steps", 30, "--out", run, *BASE,
                     "--eval-every", 4, "--log-every", 5, "--no-progress")
    assert code == 130 and "interrupted" in err.strip().splitlines()[-1]
    assert json.loads((run / "last" / "config.json").read_text())["metrics"]["step"] == 8
    assert steps(run) == [4, 8] and sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []
    assert signal.getsignal(signal.SIGINT) is before                 # the handler it replaced is back
    monkeypatch.undo()
    assert rnnlab.resume(run, {"max_steps": 12}, progress=False).steps == 12


# ---------------------------------------------------------------- budgets and divergence

def test_resume_with_minutes_already_spent_is_refused(small_text, tmp_path):
    run = tmp_path / "r"
    rnnlab.train(MODEL, cfg(small_text, run, max_steps=5), progress=False)
    state = torch.load(run / "last" / "trainer.pt", weights_only=True)
    state["progress"]["elapsed_s"] = 600.0                                    # 10 minutes spent
    torch.save(state, run / "last" / "trainer.pt")
    with pytest.raises(RnnlabError, match="already run 10.00 minutes and --max-minutes 10 is the total"):
        rnnlab.resume(run, {"max_minutes": 10.0, "max_steps": None}, progress=False)
    assert steps(run) == [5]                                                  # no duplicate row
    assert rnnlab.resume(run, {"max_minutes": 11.0, "max_steps": 10}, progress=False).steps == 10
    assert "TOTAL" in help_text(TrainConfig, "max_minutes")


class _Diverge:
    """best/ stays at step 2 (later evaluations do not count as improvements); NaN weights after step 5."""

    def __call__(self, event, view):
        if event == "eval" and view.step > 2:
            view._t.improved = False                 # the view is read-only; the test reaches past it
        if event == "log" and view.step == 5:
            with torch.no_grad():
                view.model.head.weight.fill_(float("nan"))


def test_after_a_nan_stop_the_message_names_both_steps_and_resume_takes_a_lower_lr(small_text, tmp_path, monkeypatch):
    with_callback(monkeypatch, _Diverge())
    run = tmp_path / "r"
    with pytest.raises(RnnlabError) as err:
        rnnlab.train(MODEL, cfg(small_text, run, max_steps=40, eval_every=2, dtype="float32"), progress=False)
    message = str(err.value)
    assert "validation loss became nan at step 6" in message and "\n" not in message
    assert "best/ keeps step 2 and last/ keeps step 4" in message
    assert f"rnnlab train --resume {run} --lr 0.001" in message and "--dtype float32" not in message
    monkeypatch.undo()
    result = rnnlab.resume(run, {"lr": 1e-3, "grad_clip": 1.0, "clip_value": 1.0, "max_steps": 8}, progress=False)
    assert result.steps == 8
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(r["lr"] <= 1e-3 for r in rows if r["step"] > 4)
    assert json.loads((run / "last" / "config.json").read_text())["train"]["lr"] == 1e-3


def test_the_way_forward_suggests_float32_only_to_a_run_that_was_not():
    def hint(dtype, grad_clip=5.0):
        trainer = SimpleNamespace(cfg=TrainConfig(lr=3e-3, grad_clip=grad_clip), dtype=dtype,
                                  task=SimpleNamespace(name="lm"))
        return taskrun.way_forward(trainer, "/nowhere")
    assert "--dtype float32" in hint(torch.bfloat16) and "--dtype float32" not in hint(torch.float32)
    assert hint(torch.float32).startswith("start again") and "--grad-clip 1" in hint(torch.float32, grad_clip=0)
