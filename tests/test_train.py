"""Training: it learns, resume is exact, divergence and Ctrl-C never lose a good checkpoint."""
import json
import math
import os
import signal

import pytest
import torch
from safetensors.torch import load_file

import rnnlab
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import RnnlabError

MODEL = ModelConfig(hidden=32, layers=1, embed=16, dropout=0.1)


def cfg(small_text, out, **kw):
    base = dict(data=str(small_text), seq_len=32, batch_size=8, max_steps=20, max_minutes=None, eval_every=10,
                log_every=5, sample_chars=0, out=str(out), seed=3, warmup_steps=5, lr=3e-3)
    base.update(kw)
    return TrainConfig(**base)


def weights(path):
    return load_file(str(path / "model.safetensors"))


@pytest.mark.parametrize("dtype", ["float32", "auto"])
def test_resume_equals_uninterrupted(small_text, tmp_path, dtype):
    straight = rnnlab.train(MODEL, cfg(small_text, tmp_path / "a", max_steps=24, dtype=dtype), progress=False)
    rnnlab.train(MODEL, cfg(small_text, tmp_path / "b", max_steps=12, dtype=dtype), progress=False)
    resumed = rnnlab.resume(tmp_path / "b", {"max_steps": 24}, progress=False)
    assert resumed.steps == straight.steps == 24
    assert resumed.last_val_nats == pytest.approx(straight.last_val_nats, abs=1e-7)
    wa, wb = weights(tmp_path / "a" / "last"), weights(tmp_path / "b" / "last")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=0)
    steps = [json.loads(line)["step"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 12, 20, 24]


def test_training_learns_and_writes_a_complete_run(small_text, tmp_path):
    result = rnnlab.train(ModelConfig(hidden=64, layers=1, embed=32, dropout=0.0),
                          cfg(small_text, tmp_path / "r", max_steps=150, eval_every=50, batch_size=16), progress=False)
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [50, 100, 150]
    assert set(rows[0]) == {"step", "elapsed_s", "chars_seen", "train_loss", "val_nats", "val_bpc", "chars_per_s", "lr"}
    assert rows[-1]["val_nats"] < 2.6 < math.log(65)   # well below a uniform guess
    assert rows[-1]["val_bpc"] == pytest.approx(rows[-1]["val_nats"] / math.log(2))
    assert rows[-1]["chars_seen"] == 150 * 16 * 32
    assert result.best_val_nats == min(r["val_nats"] for r in rows)
    for name in ("best", "last"):
        assert {p.name for p in (tmp_path / "r" / name).iterdir()} == {"model.safetensors", "config.json", "trainer.pt"}
    assert (tmp_path / "r" / "loss.png").stat().st_size > 10_000
    assert rnnlab.evaluate_run(tmp_path / "r").nats == pytest.approx(result.best_val_nats, rel=2e-2)


class _Poison:
    """A callback that turns the weights into NaN at a given step."""

    def __init__(self, at):
        self.at = at

    def __call__(self, event, trainer):
        if event == "log" and trainer.progress.step == self.at:
            with torch.no_grad():
                trainer.model.head.weight.fill_(float("nan"))


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(small_text, tmp_path, monkeypatch):
    import rnnlab.runs as runs
    original = runs._callbacks
    monkeypatch.setattr(runs, "_callbacks", lambda *a: [_Poison(15)] + original(*a))
    with pytest.raises(RnnlabError, match="loss became nan at step 20"):
        rnnlab.train(MODEL, cfg(small_text, tmp_path / "r", max_steps=40), progress=False)
    last = tmp_path / "r" / "last"
    assert json.loads((last / "config.json").read_text())["metrics"]["step"] == 10
    assert all(torch.isfinite(w).all() for w in weights(last).values())


class _Interrupt:
    def __call__(self, event, trainer):
        if event == "log" and trainer.progress.step == 10:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_writes_a_resumable_last_checkpoint(small_text, tmp_path, monkeypatch):
    import rnnlab.runs as runs
    original = runs._callbacks
    monkeypatch.setattr(runs, "_callbacks", lambda *a: [_Interrupt()] + original(*a))
    result = rnnlab.train(MODEL, cfg(small_text, tmp_path / "r", max_steps=30, eval_every=100), progress=False)
    assert result.stop_reason == "interrupted by SIGINT" and result.steps == 10
    assert json.loads((tmp_path / "r" / "last" / "config.json").read_text())["metrics"]["step"] == 10
    monkeypatch.setattr(runs, "_callbacks", original)
    assert rnnlab.resume(tmp_path / "r", {"max_steps": 15}, progress=False).steps == 15


def test_resume_refuses_other_data(small_text, tmp_path):
    rnnlab.train(MODEL, cfg(small_text, tmp_path / "r", max_steps=5), progress=False)
    other = tmp_path / "other.txt"
    other.write_text(small_text.read_text()[::-1])
    with pytest.raises(RnnlabError, match="not the text"):
        rnnlab.resume(tmp_path / "r", {"data": str(other), "max_steps": 10}, progress=False)
    with pytest.raises(RnnlabError, match="already holds a training run"):
        rnnlab.train(MODEL, cfg(small_text, tmp_path / "r", max_steps=5), progress=False)


@pytest.mark.parametrize("model", ["rnn", "gru"])
@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adagrad", "adamw"])
def test_every_model_and_optimizer_trains(small_text, tmp_path, model, optimizer):
    lr = {"sgd": 0.5, "rmsprop": 2e-3, "adagrad": 0.1, "adamw": 3e-3}[optimizer]
    result = rnnlab.train(ModelConfig(model=model, hidden=32, layers=2, embed=0, dropout=0.1),
                          cfg(small_text, tmp_path / "r", max_steps=60, eval_every=60, lr=lr, optimizer=optimizer,
                              clip_value=5.0), progress=False)
    assert result.best_val_nats < 3.4   # from ln(65) = 4.17 at the start


def test_resume_in_another_dtype(small_text, tmp_path):
    rnnlab.train(MODEL, cfg(small_text, tmp_path / "r", max_steps=10, dtype="bfloat16"), progress=False)
    state = torch.load(tmp_path / "r" / "last" / "trainer.pt", weights_only=True)["hidden"]
    assert all(h.dtype == torch.float32 for h in state)          # carried state kept in the parameters' dtype
    assert rnnlab.resume(tmp_path / "r", {"max_steps": 15, "dtype": "float32"}, progress=False).steps == 15


def test_resume_is_exact_with_reduce_on_plateau(small_text, tmp_path):
    kw = dict(eval_every=3, plateau_patience=1, plateau_factor=0.5, lr=1.0)   # so high that validation stalls
    straight = rnnlab.train(MODEL, cfg(small_text, tmp_path / "a", max_steps=30, **kw), progress=False)
    rnnlab.train(MODEL, cfg(small_text, tmp_path / "b", max_steps=21, **kw), progress=False)  # stops as the LR is cut
    resumed = rnnlab.resume(tmp_path / "b", {"max_steps": 30}, progress=False)
    assert resumed.last_val_nats == pytest.approx(straight.last_val_nats, abs=1e-7)
    lrs = [json.loads(line)["lr"] for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert lrs == [json.loads(line)["lr"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert lrs[-1] < 0.6 * lrs[2]                                # the plateau did cut the learning rate
