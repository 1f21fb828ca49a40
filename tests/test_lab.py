"""The NumPy training backend, gradient-flow experiments and the binary-addition toy."""
import json

import pytest

import rnnlab
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.toys import addition, gradflow

from .conftest import run_cli


def test_numpy_backend_trains_resumes_and_writes_a_normal_run(small_text, tmp_path):
    model = ModelConfig(model="lstm", hidden=24, layers=1, embed=0, dropout=0.0)

    def cfg(out, steps):
        return TrainConfig(data=str(small_text), backend="numpy", optimizer="adam", lr=1e-2, seq_len=16, batch_size=8,
                           max_steps=steps, max_minutes=None, eval_every=10, sample_chars=0, out=str(out))

    straight = rnnlab.train(model, cfg(tmp_path / "a", 30), progress=False)
    rnnlab.train(model, cfg(tmp_path / "b", 20), progress=False)
    resumed = rnnlab.resume(tmp_path / "b", {"max_steps": 30}, progress=False)
    assert resumed.last_val_nats == pytest.approx(straight.last_val_nats, abs=1e-6)
    assert straight.best_val_nats < 3.6                     # learning, from ln(65) = 4.17
    # the normal commands read it
    assert rnnlab.evaluate_run(tmp_path / "a").nats == pytest.approx(straight.best_val_nats, rel=1e-5)
    text = rnnlab.sample_text(tmp_path / "a", rnnlab.SampleConfig(prime="ROMEO:", length=20, seed=1))
    assert text.startswith("ROMEO:") and len(text) == 26


def test_gradcheck_cli_json():
    code, out, _ = run_cli("gradcheck", "--json", "--model", "gru")
    errors = json.loads(out)["gru"]
    assert code == 0 and len(errors) == 10 and max(errors.values()) < 1e-6


def test_linear_backward_signal_scales_as_radius_to_the_t():
    for radius in (0.8, 1.2):
        norms = gradflow.backward_norms(radius, "linear")
        assert norms[-1] == pytest.approx(radius ** 50, rel=1e-9)


def test_saturating_units_vanish_below_radius_one():
    for act in ("tanh", "relu"):
        assert gradflow.backward_norms(0.8, act)[-1] < 0.8 ** 50 * 1.0001


def test_lstm_gradient_reaches_further_back_than_rnn():
    norms = gradflow.rnn_vs_lstm(steps=60, hidden=32)
    assert norms["lstm"][0] / norms["lstm"][-1] > 100 * norms["rnn"][0] / norms["rnn"][-1]


def test_binary_addition_rnn_generalises_to_32_bits():
    result = addition.run(steps=2000, test_count=500)
    assert result["rnn"] == {"8": 1.0, "16": 1.0, "32": 1.0}
    assert result["mlp"]["32"] < 0.05                        # the feed-forward foil does not generalise


def test_numpy_backend_weight_decay_matches_the_torch_backend(small_text, tmp_path):
    model = ModelConfig(model="rnn", hidden=16, layers=1, embed=0, dropout=0.0)
    results = {}
    for backend in ("numpy", "torch"):
        cfg = TrainConfig(data=str(small_text), backend=backend, dtype="float32", optimizer="adam", lr=1e-2,
                          weight_decay=0.05, seq_len=12, batch_size=4, max_steps=15, max_minutes=None, eval_every=15,
                          sample_chars=0, out=str(tmp_path / backend), seed=3)
        results[backend] = rnnlab.train(model, cfg, progress=False).last_val_nats
    no_decay = rnnlab.train(model, TrainConfig(**{**cfg.__dict__, "backend": "numpy", "weight_decay": 0.0,
                                                  "out": str(tmp_path / "plain")}), progress=False).last_val_nats
    assert results["numpy"] == pytest.approx(results["torch"], abs=1e-4)
    assert abs(results["numpy"] - no_decay) > 1e-4


def test_numpy_backend_resume_follows_a_new_dtype(small_text, tmp_path):
    import torch
    model = ModelConfig(model="gru", hidden=12, layers=1, embed=0, dropout=0.0)
    cfg = TrainConfig(data=str(small_text), backend="numpy", dtype="float32", optimizer="adam", lr=1e-2, seq_len=12,
                      batch_size=4, max_steps=5, max_minutes=None, eval_every=5, sample_chars=0, out=str(tmp_path / "r"))
    rnnlab.train(model, cfg, progress=False)
    rnnlab.resume(tmp_path / "r", {"max_steps": 10, "dtype": "float64"}, progress=False)
    saved = torch.load(tmp_path / "r" / "last" / "trainer.pt", weights_only=False)
    assert {t.dtype for t in saved["numpy_params"].values()} == {torch.float64}


@pytest.mark.parametrize("args", [["toy", "addition", "--hidden", "-3"], ["toy", "addition", "--steps", "0"],
                                  ["gradflow", "--seed", "-1"], ["toy", "addition", "--seed", "x"]])
def test_lab_commands_refuse_bad_sizes_and_seeds(args):
    code, out, err = run_cli(*args)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
