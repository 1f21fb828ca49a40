"""Training: it learns, resume is exact, divergence and Ctrl-C never lose a good checkpoint."""
import json
import math
import os
import signal

import pytest
import torch
from safetensors.torch import load_file

import rnnlab
import rnnlab.hooks
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
    assert set(rows[0]) == {"step", "elapsed_s", "chars_seen", "train_loss", "val_nats", "val_bpc", "chars_per_s", "lr",
                            "epoch", "lr_horizon", "ended_by"}
    assert [r["ended_by"] for r in rows] == [None, None, "steps"] and result.ended_by == "steps"
    assert {r["lr_horizon"] for r in rows} == {1100}                # a step budget: the fixed default horizon
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

    def __call__(self, event, view):
        if event == "log" and view.step == self.at:
            with torch.no_grad():
                view.model.head.weight.fill_(float("nan"))


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
    def __call__(self, event, view):
        if event == "log" and view.step == 10:
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


@pytest.mark.parametrize("make", [lambda: rnnlab.callbacks.ReduceLROnPlateau(1),
                                  lambda: rnnlab.callbacks.EarlyStopping(1)])
def test_patience_after_an_off_schedule_stop_counts_like_one_run(make):
    from types import SimpleNamespace

    def run(evals, cb):
        acts = []
        for scheduled, nats in evals:
            view = SimpleNamespace(scheduled_eval=scheduled, evaluation=SimpleNamespace(objective=nats), step=0,
                                   lr_scale=1.0)
            request = cb("eval", view)
            acts.append("stop" if isinstance(request, rnnlab.hooks.Stop) else
                        request.factor if isinstance(request, rnnlab.hooks.ScaleLR) else 1.0)
        return acts

    straight = run([(True, 3.0), (True, 2.0), (True, 1.9)], make())
    first = make()
    run([(True, 3.0), (True, 2.0), (False, 1.8)], first)        # the stop's extra evaluation found a lower loss
    second = make()
    second.load_state_dict(first.state_dict())
    assert run([(True, 1.9)], second) == straight[-1:]         # 1.9 is still a new best on the schedule


def test_resume_past_the_cosine_horizon_extends_it(small_text, tmp_path):
    rnnlab.train(MODEL, cfg(small_text, tmp_path / "h", max_steps=8, lr_decay_steps=8, warmup_steps=0), progress=False)
    notes = []
    rnnlab.resume(tmp_path / "h", {"max_steps": 16}, progress=False, say=notes.append)
    lrs = [json.loads(line)["lr"] for line in (tmp_path / "h" / "metrics.jsonl").read_text().splitlines()]
    assert lrs[-1] > 0 and any("--lr-decay-steps" in n for n in notes)   # was 0: the schedule had ended at step 8
    with pytest.raises(RnnlabError, match="lr-decay-steps"):
        rnnlab.resume(tmp_path / "h", {"max_steps": None, "max_minutes": 1.0}, progress=False)


def test_damaged_resume_state_is_refused_in_one_line(small_text, tmp_path):
    from .conftest import run_cli
    rnnlab.train(MODEL, cfg(small_text, tmp_path / "r", max_steps=10, eval_every=5), progress=False)
    torch.save({"x": 1}, tmp_path / "r" / "last" / "trainer.pt")                 # valid file, wrong content
    with pytest.raises(RnnlabError, match="trainer.pt is damaged"):
        rnnlab.resume(tmp_path / "r", {"max_steps": 20}, progress=False)
    meta_path = tmp_path / "r" / "best" / "config.json"
    meta = json.loads(meta_path.read_text())
    del meta["data"]
    meta_path.write_text(json.dumps(meta))
    code, _, err = run_cli("eval", tmp_path / "r")
    assert code == 2 and "damaged" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "r" / "last" / "config.json").unlink()                          # last/ broken, best/ older
    with pytest.raises(RnnlabError, match="last is damaged"):
        rnnlab.resume(tmp_path / "r", {"max_steps": 20}, progress=False)


@pytest.mark.parametrize("flags", [["--tokenizer", "word", "--min-count", "100000"], ["--lr", "inf"],
                                   ["--forget-bias", "nan"], ["--hidden", "10000000", "--embed", "0"]])
def test_impossible_settings_exit_2_before_training(small_text, tmp_path, flags):
    from .conftest import run_cli
    code, _, err = run_cli("train", "--data", small_text, "--max-steps", 2, "--out", tmp_path / "x", *flags)
    assert code == 2 and "Traceback" not in err and "error:" in err.strip().splitlines()[-1]


def test_word_runs_report_per_word(tmp_path):
    from .conftest import run_cli
    text = tmp_path / "w.txt"
    text.write_text("the cat sat on the mat .\nthe dog sat on the log .\n" * 300)
    rnnlab.train(MODEL, TrainConfig(data=str(text), tokenizer="word", seq_len=8, batch_size=4, max_steps=5,
                                    max_minutes=None, eval_every=5, sample_chars=0, out=str(tmp_path / "r")),
                 progress=False)
    code, out, err = run_cli("eval", tmp_path / "r", "--json")
    result = json.loads(out)
    assert code == 0 and set(result) == {"nats_per_word", "bits_per_word", "perplexity", "n_words"}
    assert result["n_words"] == len(rnnlab.runs.load_corpus(str(text), "word", 0.1).val) - 1


def test_resume_from_elsewhere_finds_the_recorded_data_and_refuses_a_spent_budget(small_text, tmp_path, monkeypatch):
    monkeypatch.chdir(small_text.parent)
    rnnlab.train(MODEL, cfg(small_text, tmp_path / "r", max_steps=6, eval_every=3, data=small_text.name),
                 progress=False)
    monkeypatch.chdir(tmp_path / "r")                                            # the relative path no longer resolves
    assert rnnlab.evaluate_run(tmp_path / "r").n_tokens > 0
    with pytest.raises(RnnlabError, match="already at step 6"):
        rnnlab.resume(tmp_path / "r", {"max_steps": 6}, progress=False)
    assert rnnlab.resume(tmp_path / "r", {"max_steps": 9}, progress=False).steps == 9


def test_a_failed_checkpoint_write_leaves_no_temporary_directory(tmp_path):
    from rnnlab.checkpoint import write_atomically

    def fail(tmp):
        (tmp / "half").write_text("x")
        raise OSError(28, "No space left on device")
    with pytest.raises(OSError):
        write_atomically(tmp_path / "best", fail)
    assert list(tmp_path.iterdir()) == []
