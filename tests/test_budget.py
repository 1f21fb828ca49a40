"""Budgets: a time budget fits the cosine horizon to the steps that fit; a step budget keeps it fixed."""
import pytest
import torch

import rnnlab.hooks
import rnnlab.tasks.lm
import rnnlab.trainer
from rnnlab.tasks.lm import LanguageModelTask
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.models.language_model import LanguageModel
from rnnlab.schedule import fit_horizon
from rnnlab.text.corpus import load_corpus
from rnnlab.trainer import Trainer

STEP_S, EVAL_S = 0.05, 1.0       # simulated seconds per training step and per evaluation


def _trainer(small_text, monkeypatch, **kw):
    """A tiny trainer on a fake clock: each step takes STEP_S, each evaluation EVAL_S (estimated at 2 s)."""
    corpus = load_corpus(str(small_text), "char", 0.1)
    base = dict(data=str(small_text), seq_len=16, batch_size=4, eval_every=100, log_every=10, sample_chars=0,
                warmup_steps=20, seed=0)
    cfg = TrainConfig(**{**base, **kw})
    torch.manual_seed(0)
    model = LanguageModel(ModelConfig(hidden=16, layers=1, embed=8, dropout=0.0, vocab_size=corpus.vocab.size))
    now = [0.0]
    task = LanguageModelTask(model, corpus, cfg.batch_size, cfg.seq_len)
    trainer = Trainer(task, cfg, torch.device("cpu"), clock=lambda: now[0])
    step, evaluate = trainer.train_step, trainer.run_eval

    def timed_step():
        step()
        now[0] += STEP_S

    def timed_eval():
        evaluate()
        now[0] += EVAL_S

    lrs = []
    monkeypatch.setattr(trainer, "train_step", timed_step)
    monkeypatch.setattr(trainer, "run_eval", timed_eval)
    monkeypatch.setattr(rnnlab.tasks.lm, "estimate_seconds", lambda *a, **k: 0.5)   # + 1.5 s fixed: 2 s guessed
    trainer.callbacks.append(lambda event, t: lrs.append(t.lr) if event == "log" else None)
    return trainer, lrs


def test_time_budget_ends_with_the_learning_rate_at_its_floor(small_text, monkeypatch):
    trainer, lrs = _trainer(small_text, monkeypatch, max_steps=None, max_minutes=0.5)
    trainer.fit()
    p = trainer.progress
    # 30 s hold N steps and N // 100 + 1 evaluations: N * 0.05 + N / 100 + 1 <= 30 gives N = 483
    assert 470 <= p.step <= 483 and trainer.ended_by == "time"
    assert p.horizon == p.step                                # refined at each evaluation, the last step ends it
    assert p.elapsed_s <= 30.0
    assert lrs[-1] < 1e-3 * trainer.cfg.lr                    # annealed, not cut off mid-schedule
    assert trainer.state_dict()["progress"]["horizon"] == p.horizon   # recorded: resume continues this schedule


def test_a_fast_machine_keeps_the_fixed_step_schedule(small_text, monkeypatch):
    timed, timed_lrs = _trainer(small_text, monkeypatch, max_steps=200, max_minutes=10.0)
    timed.fit()
    steps_only, step_lrs = _trainer(small_text, monkeypatch, max_steps=200, max_minutes=None)
    steps_only.fit()
    assert timed.ended_by == steps_only.ended_by == "steps" and timed.progress.step == 200
    assert timed.horizon() == steps_only.horizon() == 1100    # the time budget does not bind: same schedule
    assert timed_lrs == step_lrs


def test_epoch_budget(small_text, monkeypatch):
    trainer, _ = _trainer(small_text, monkeypatch, max_steps=None, max_minutes=None, max_epochs=0.5)
    trainer.fit()
    assert trainer.ended_by == "epochs"
    assert trainer.progress.step == -(-trainer.task.steps_per_epoch // 2)
    assert trainer.epoch() == pytest.approx(0.5, abs=1 / trainer.task.steps_per_epoch)


@pytest.mark.parametrize("step, left, per_step, per_eval, cap, expected", [
    (10, 29.5, 0.05, 2.0, None, 10 + int(27.5 / 0.07)),      # evaluations spread over their steps, the final one kept
    (10, 29.5, 0.05, 2.0, 300, 300),                          # never past the step budget's horizon
    (400, 0.5, 0.05, 2.0, None, 401),                         # never below the current step
])
def test_fit_horizon(step, left, per_step, per_eval, cap, expected):
    assert fit_horizon(step, left, per_step, per_eval, 100, cap) == expected


@pytest.mark.slow
def test_a_real_time_budget_anneals_and_ends_on_time(small_text, tmp_path):
    """On the real clock: a 20-second budget ends near 20 s with the learning rate at its floor."""
    import json
    import rnnlab
    result = rnnlab.train(ModelConfig(hidden=64, layers=1, embed=16, dropout=0.0),
                          TrainConfig(data=str(small_text), seq_len=32, batch_size=16, max_minutes=20 / 60,
                                      eval_every=200, sample_chars=0, out=str(tmp_path / "r")), progress=False)
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert result.ended_by == "time" and rows[-1]["ended_by"] == "time"
    assert 15 <= rows[-1]["elapsed_s"] <= 21
    assert rows[-1]["lr"] < 0.05 * 3e-3 and result.lr_horizon >= result.steps


@pytest.mark.slow
def test_row_evaluation_agrees_with_one_stream_on_a_trained_model(small_text, tmp_path):
    """The burn-in gives each row the context one carried stream has: a trained model scores the same."""
    import rnnlab
    from rnnlab.evaluation import evaluate
    rnnlab.train(ModelConfig(hidden=128, layers=1, embed=32, dropout=0.0),
                 TrainConfig(data=str(small_text), seq_len=64, batch_size=16, max_steps=300, eval_every=300,
                             sample_chars=0, out=str(tmp_path / "r")), progress=False)
    model = rnnlab.load_run(tmp_path / "r", "cpu").model
    tokens = load_corpus(str(small_text), "char", 0.5).val                      # 30,000 characters
    one = evaluate(model, tokens, torch.device("cpu"), rows=1)
    rows = evaluate(model, tokens, torch.device("cpu"), rows=16, burn_in=512)
    assert rows.n_tokens == one.n_tokens
    assert abs(rows.nats - one.nats) < 2e-3


@pytest.mark.parametrize("seconds, max_steps, lr, batch, expected", [
    (0.45, 1100, 3e-3, 128, ((2, 512, 0.2), 3e-3, 128)),     # AMX: 1,100 steps fit, the tuned recipe
    (0.70, 1100, 3e-3, 128, ((2, 512, 0.15), 4e-3, 128)),    # ~800 steps: higher rate, less dropout
    (2.25, 1100, 3e-3, 128, ((2, 512, 0.1), 3e-3, 32)),      # ~250 steps: more, smaller batches
    (2.25, 1100, 1e-3, 96, ((2, 512, 0.1), 1e-3, 96)),       # a --lr and a --batch-size the user gave are kept
    (0.70, 200, 3e-3, 128, ((2, 512, 0.2), 3e-3, 128)),      # the step budget fits: nothing changes
])
def test_default_recipe_follows_the_steps_that_fit(small_text, monkeypatch, seconds, max_steps, lr, batch, expected):
    from rnnlab import recipe
    monkeypatch.setattr(recipe, "seconds_per_step", lambda m, corpus, cfg, *a, **k: seconds * cfg.batch_size / 128)
    said = []
    model, cfg = recipe.choose(load_corpus(str(small_text), "char", 0.1),
                               TrainConfig(max_steps=max_steps, max_minutes=10.0, lr=lr, batch_size=batch),
                               torch.device("cpu"), torch.float32, said.append)
    assert ((model.layers, model.hidden, model.dropout), cfg.lr, cfg.batch_size) == expected
    assert bool(said) == (expected[0] != (2, 512, 0.2))      # a changed recipe is announced
    if expected[2] == 32:
        assert "--batch-size 32" in said[0] and "about 1013 of these steps do" in said[0]   # timed again at 32
        assert cfg.max_steps == 4400                          # the default step budget: the same characters
