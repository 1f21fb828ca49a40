"""Echo state networks: initialisers, echo state property, ridge readout, generation, reservoirpy parity."""
import numpy as np
import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.esn import init
from rnnlab.esn.model import EchoStateNetwork, nrmse, ridge_solve
from rnnlab.esn.tasks import mackey_glass, mackey_glass_benchmark
from rnnlab.models.language_model import LanguageModel


@pytest.mark.parametrize("radius", [0.5, 0.95, 1.25])
def test_reservoir_has_the_requested_spectral_radius(radius):
    W = init.sparse_reservoir(300, 0.1, radius, np.random.default_rng(0))
    assert init.spectral_radius(W) == pytest.approx(radius, abs=1e-6)
    assert 0.07 < (W != 0).mean() < 0.13


def test_echo_state_property_forgets_the_initial_state():
    esn = EchoStateNetwork(200, spectral_radius=0.9, seed=1, dtype=np.float64)
    esn._build(1, 1)
    u = np.sin(np.arange(300) / 5.0)
    a = esn.run(u, x0=np.random.default_rng(2).uniform(-1, 1, 200))[0]
    b = esn.run(u, x0=np.random.default_rng(3).uniform(-1, 1, 200))[0]
    gaps = np.abs(a - b).max(axis=1)
    assert gaps[0] > 0.1 and gaps[-1] < 1e-8


def test_ridge_equals_least_squares_reference():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(200, 12)), rng.normal(size=(200, 2))
    lam = 0.7
    ref = np.linalg.lstsq(np.vstack([X, np.sqrt(lam) * np.eye(12)]), np.vstack([Y, np.zeros((12, 2))]), rcond=None)[0]
    np.testing.assert_allclose(ridge_solve(X, Y, lam), ref, rtol=1e-10, atol=1e-12)


def test_closed_loop_generation_reproduces_a_sine():
    t = np.arange(3000)
    s = np.sin(2 * np.pi * t / 23.0)
    esn = EchoStateNetwork(200, spectral_radius=0.9, input_scaling=0.5, leak_rate=1.0, ridge=1e-9, seed=0)
    esn.fit(s[:2000], s[1:2001], washout=100)
    out = esn.generate(500)[0, :, 0]                     # autonomous: each output is the next input
    assert nrmse(out, s[2001:2501]) < 1e-2


def test_mackey_glass_small_reservoir():
    r = mackey_glass_benchmark(300, train=4000, trials=10)
    assert r["one_step_nrmse"] < 1e-3 and r["nrmse84"] < 5e-2


def test_mackey_glass_series_is_the_textbook_attractor():
    s = mackey_glass(3000)
    assert 0.2 < s.min() < 0.5 and 1.2 < s.max() < 1.4 and 0.2 < s.std() < 0.26


def test_esn_initialised_rnn_has_the_radius():
    torch.manual_seed(0)
    model = LanguageModel(ModelConfig(model="rnn", vocab_size=10, hidden=40, layers=2, init="esn", spectral_radius=1.2))
    for k in range(2):
        W = model.recurrent.layer_weights(k)[1].detach().double()
        assert torch.linalg.eigvals(W).abs().max().item() == pytest.approx(1.2, rel=1e-5)


def test_parity_with_reservoirpy():
    rpy = pytest.importorskip("reservoirpy.nodes", reason="reservoirpy is a dev dependency")
    s = mackey_glass(2000)
    esn = EchoStateNetwork(100, spectral_radius=1.25, leak_rate=0.5, bias_scaling=0.5, density=0.2, ridge=1e-4, seed=0,
                           dtype=np.float64)
    esn.fit(s[:1500], s[1:1501], washout=100)
    reservoir = rpy.Reservoir(W=esn.W, Win=esn.W_in, bias=esn.b, lr=0.5)
    states = reservoir.run(s[:-1, None])
    np.testing.assert_allclose(states, esn.run(s[:-1])[0], rtol=1e-12, atol=1e-13)
    readout = rpy.Ridge(ridge=1e-4)
    # reservoirpy's readout sees the states only; give ours the same features to compare one-step predictions
    readout.fit(np.hstack([s[100:1500, None], states[100:1500]]), s[101:1501, None])
    theirs = readout.run(np.hstack([s[1500:-1, None], states[1500:]]))
    ours = esn.predict(s[1500:-1], x0=states[1499])[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)
