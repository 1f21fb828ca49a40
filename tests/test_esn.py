"""Echo state networks: initialisers, echo state property, ridge readout, generation, reservoirpy parity."""
import json

import numpy as np
import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.errors import RnnlabError
from rnnlab.esn import init
from rnnlab.esn.model import EchoStateNetwork, nrmse, ridge_solve
from rnnlab.esn.readout import RidgeAccumulator
from rnnlab.esn.tasks import mackey_glass, mackey_glass_benchmark
from rnnlab.models.language_model import LanguageModel

from .conftest import run_cli


@pytest.mark.parametrize("radius", [0.5, 0.95, 1.25])
def test_reservoir_has_the_requested_spectral_radius(radius):
    W = init.sparse_reservoir(300, 0.1, radius, np.random.default_rng(0))
    assert np.abs(np.linalg.eigvals(W)).max() == pytest.approx(radius, abs=1e-6)
    assert 0.07 < (W != 0).mean() < 0.13


def _hard_spectra():
    rng = np.random.default_rng(5)
    Q = np.linalg.qr(rng.normal(size=(100, 100)))[0]
    rest = rng.uniform(-0.5, 0.5, 98)
    S = rng.normal(size=(100, 100))
    S[:, 0] = S[:, 1] + 1e-4 * S[:, 0]                                              # ill-conditioned eigenvectors
    yield "dense gaussian", rng.normal(size=(400, 400))
    yield "sparse 2%", rng.uniform(-1, 1, (500, 500)) * (rng.random((500, 500)) < 0.02)
    yield "real top eigenvalue", np.abs(rng.uniform(size=(200, 200)))               # Perron root
    yield "diagonal", np.diag(np.arange(1.0, 101.0))                                 # shift hits λ exactly
    yield "permutation", np.roll(np.eye(64), 1, axis=1)                               # 64 eigenvalues of modulus 1
    yield "zero", np.zeros((10, 10))
    yield "triangular", np.triu(rng.normal(size=(200, 200)))                         # eigenvalues: the diagonal
    yield "top pair 2e-7 apart", Q @ np.diag(np.r_[1.0, 1.0 + 2e-7, rest]) @ Q.T     # float32 cannot separate
    yield "top pair 5e-5 apart, non-normal", S @ np.diag(np.r_[1.0, 0.99995, rest]) @ np.linalg.inv(S)
    yield "ones is a nearby eigenvector", np.ones((100, 100)) / 100 + 1.0005 * np.outer(*[Q[:, 5]] * 2)
    yield "0/1 graph", (rng.random((300, 300)) < 0.01).astype(float)                 # defective eigenvalues
    yield "2x2 rows sum to 1", np.array([[1.2, -0.2], [0.1995, 0.8005]])
    yield "huge entries", rng.normal(size=(80, 80)) * 1e39                            # beyond float32
    yield "tiny entries", rng.normal(size=(80, 80)) * 1e-50                           # below float32


@pytest.mark.parametrize("name,W", list(_hard_spectra()), ids=lambda v: v if isinstance(v, str) else "")
def test_spectral_radius_matches_float64_eigvals(name, W):
    reference = np.abs(np.linalg.eigvals(W)).max()
    assert init.spectral_radius(W) == pytest.approx(reference, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("W", [np.array([[1.0, np.nan], [2.0, 3.0]]), np.array([[np.inf]]), np.ones((3, 4))])
def test_spectral_radius_refuses_what_has_none(W):
    with pytest.raises(RnnlabError):
        init.spectral_radius(W)


def test_echo_state_property_forgets_the_initial_state():
    esn = EchoStateNetwork(200, spectral_radius=0.9, seed=1, dtype=np.float64)
    esn._build(1, 1)
    u = np.sin(np.arange(300) / 5.0)
    a = esn.run(u, x0=np.random.default_rng(2).uniform(-1, 1, 200))            # (T, N)
    b = esn.run(u, x0=np.random.default_rng(3).uniform(-1, 1, 200))
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
    out = esn.generate(500)                              # autonomous: each output is the next input
    assert nrmse(out, s[2001:2501]) < 1e-2


def test_mackey_glass_small_reservoir():
    r = mackey_glass_benchmark(300, train=4000, trials=10)
    assert r["one_step_nrmse"] < 1e-3 and r["closed_loop_84_nrmse"] < 5e-2


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
    np.testing.assert_allclose(states, esn.run(s[:-1], reset=True), rtol=1e-12, atol=1e-13)
    readout = rpy.Ridge(ridge=1e-4)
    # reservoirpy's readout sees the states only; give ours the same features to compare one-step predictions
    readout.fit(np.hstack([s[100:1500, None], states[100:1500]]), s[101:1501, None])
    theirs = readout.run(np.hstack([s[1500:-1, None], states[1500:]]))
    ours = esn.predict(s[1500:-1], x0=states[1499])
    np.testing.assert_allclose(ours, theirs[:, 0], rtol=1e-7, atol=1e-9)


def _textbook_run(esn, u, y_prev):
    """x_t = (1 - a) x_{t-1} + a tanh(W x_{t-1} + W_in u_t + W_fb y_{t-1} + b), one step at a time in float64."""
    B, T, _ = u.shape
    x, out = np.zeros((B, esn.n)), np.empty((B, T, esn.n))
    for t in range(T):
        pre = x @ esn.W.T + u[:, t] @ esn.W_in.T + y_prev[:, t] @ esn.W_fb.T + esn.b
        x = (1 - esn.leak) * x + esn.leak * np.tanh(pre)
        out[:, t] = x
    return out


@pytest.mark.parametrize("n_in", [2, 7])                     # broadcast products (<= 4 inputs) and BLAS
def test_batched_run_with_feedback_equals_the_textbook_recurrence(n_in):
    rng = np.random.default_rng(0)
    esn = EchoStateNetwork(60, spectral_radius=0.9, leak_rate=0.4, bias_scaling=0.3, feedback=True, seed=1,
                           dtype=np.float64)
    esn._build(n_in, 2)
    u, y_prev = rng.normal(size=(3, 2500, n_in)), rng.normal(size=(3, 2500, 2))   # > 2 blocks of steps
    np.testing.assert_allclose(esn.run(u, y_prev=y_prev), _textbook_run(esn, u, y_prev), rtol=1e-12, atol=1e-12)


def test_blockwise_ridge_accumulator_equals_one_shot_fit_with_intercept():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 0.5, size=(700, 9))                 # far from zero mean: centring matters
    Y = X @ rng.normal(size=(9, 2)) + 4.0 + rng.normal(scale=0.1, size=(700, 2))
    acc = RidgeAccumulator()
    for lo in range(0, 700, 256):
        acc.add(X[lo:lo + 256].astype(np.float32), Y[lo:lo + 256])
    W, intercept = acc.solve(0.3)
    Xf = X.astype(np.float32).astype(np.float64)
    # reference: lstsq on [1, X] with the penalty rows acting on W only (the intercept is not penalised)
    design = np.vstack([np.hstack([np.ones((700, 1)), Xf]), np.hstack([np.zeros((9, 1)), np.sqrt(0.3) * np.eye(9)])])
    ref = np.linalg.lstsq(design, np.vstack([Y, np.zeros((9, 2))]), rcond=None)[0]
    np.testing.assert_allclose(intercept, ref[0], rtol=1e-9)
    np.testing.assert_allclose(W, ref[1:], rtol=1e-9, atol=1e-11)


def test_fit_on_a_batch_pools_the_sequences_after_washout():
    s = mackey_glass(1600)
    u = np.stack([s[:700], s[800:1500]])[..., None]          # two sequences (2, 700, 1)
    y = np.stack([s[1:701], s[801:1501]])[..., None]
    esn = EchoStateNetwork(80, spectral_radius=1.1, leak_rate=0.5, bias_scaling=0.5, ridge=1e-3, seed=0,
                           dtype=np.float64).fit(u, y, washout=50)
    fitted_end = esn.last_state
    states = esn.run(u, reset=True)
    X = np.concatenate([u, states], axis=2)[:, 50:].reshape(-1, 81)
    Y = y[:, 50:].reshape(-1, 1)
    W = ridge_solve(X - X.mean(0), Y - Y.mean(0), 1e-3)
    np.testing.assert_allclose(esn.W_out[1:], W, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(esn.W_out[0], Y.mean(0) - X.mean(0) @ W, rtol=1e-8)
    np.testing.assert_allclose(fitted_end, states[:, -1])


def test_freqgen_cli_writes_plot_and_tracks_the_period(tmp_path):
    code, out, err = run_cli("esn", "freqgen", "--seed", 7, "--out", tmp_path, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["period_error"] < 0.01 and summary["nrmse_first_100"] < 0.1
    assert (tmp_path / "freqgen.png").stat().st_size > 10_000


def test_mackey_glass_cli_json_and_bad_input():
    code, out, err = run_cli("esn", "mackey-glass", "--units", 200, "--trials", 5, "--seed", 3, "--json")
    assert code == 0, err
    r = json.loads(out)
    ref = mackey_glass_benchmark(200, trials=5, seed=3)
    assert r["n_reservoir"] == 200 and r["trials"] == 5
    assert r["one_step_nrmse"] == pytest.approx(ref["one_step_nrmse"], rel=1e-6) and r["one_step_nrmse"] < 1e-3
    assert r["closed_loop_84_nrmse"] == pytest.approx(ref["closed_loop_84_nrmse"], rel=1e-4)
    assert "nrmse84" not in r and r["closed_loop_84_nrmse"] < 0.1
    code, out, err = run_cli("esn", "mackey-glass", "--units", 0)
    assert code == 2 and "--units" in err and "Traceback" not in err


def test_sweep_cli_grid_flags(tmp_path):
    code, out, err = run_cli("esn", "sweep", "--units", 60, "--radii", "0.5,1.2", "--input-scalings", "1",
                             "--leak-rates", "0.3,1", "--train", 600, "--out", tmp_path, "--json")
    assert code == 0, err
    assert json.loads(out)["fits"] == 4
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert np.array(saved["nrmse"]).shape == (2, 1, 2) and (tmp_path / "sweep.png").exists()
    for bad in ("0.9,x", "1,nan", "inf"):
        code, out, err = run_cli("esn", "sweep", "--radii", bad, "--out", tmp_path)
        assert code == 2 and "comma-separated" in err and "Traceback" not in err


def test_inputs_must_match_the_widths_the_reservoir_was_fitted_to():
    rng = np.random.default_rng(0)
    esn = EchoStateNetwork(30, feedback=True, seed=0).fit(rng.normal(size=(300, 3)), rng.normal(size=(300, 2)))
    with pytest.raises(RnnlabError, match="3"):
        esn.run(rng.normal(size=(50, 2)))
    with pytest.raises(RnnlabError, match="feedback"):
        esn.run(rng.normal(size=(50, 3)), y_prev=rng.normal(size=(50, 1)))
    with pytest.raises(RnnlabError, match="x0"):
        esn.run(rng.normal(size=(50, 3)), x0=np.zeros(29))


def test_feedback_only_generator_has_no_inputs():
    s = np.sin(np.arange(1500) / 4.0)
    esn = EchoStateNetwork(100, spectral_radius=0.9, feedback=True, ridge=1e-8, seed=0)
    esn.fit(np.zeros((1500, 0)), s, washout=100)
    out = esn.generate(100, u=np.zeros((100, 0)))[:, 0]     # (T, 0) inputs -> (T, 1) outputs
    assert esn.W_out.shape == (101, 1) and nrmse(out, np.sin(np.arange(1500, 1600) / 4.0)) < 0.05


def test_ridge_solve_takes_float32_and_vectors():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(50, 4)), rng.normal(size=50)
    w = ridge_solve(X.astype(np.float32), y, 0.1)
    assert w.shape == (4,)
    np.testing.assert_allclose(w, np.linalg.solve(X.T @ X + 0.1 * np.eye(4), X.T @ y), rtol=1e-5)


def test_overlapping_fits_on_threads_restore_the_process_settings():
    import sys
    import threading
    from threadpoolctl import threadpool_info
    settings = lambda: (sys.getswitchinterval(), torch.get_num_threads(), [p["num_threads"] for p in threadpool_info()])  # noqa: E731
    before = settings()
    rng = np.random.default_rng(0)
    u, y = rng.normal(size=(3000, 1)), rng.normal(size=(3000, 1))
    threads = [threading.Thread(target=lambda s=s: EchoStateNetwork(150, seed=s).fit(u, y)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert settings() == before


def test_small_sparse_reservoirs_are_never_left_nilpotent():
    for seed in range(30):                                   # 8 units at 5%: most first draws have no cycle
        W = init.sparse_reservoir(8, 0.05, 0.9, np.random.default_rng(seed))
        assert np.abs(np.linalg.eigvals(W)).max() == pytest.approx(0.9, abs=1e-9)


# ---------------------------------------------------------------- the public API as the README shows it
def test_public_names_import_from_the_package_and_the_import_is_light():
    import subprocess
    import sys
    code = ("import sys, rnnlab.esn; heavy = [m for m in ('numpy', 'torch', 'numba') if m in sys.modules]; "
            "from rnnlab.esn import EchoStateNetwork, nrmse, mackey_glass, ridge_solve, spectral_radius; "
            "print(heavy, EchoStateNetwork.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "EchoStateNetwork"]
    import rnnlab.esn
    assert set(rnnlab.esn.__all__) <= set(dir(rnnlab.esn))
    with pytest.raises(AttributeError):
        rnnlab.esn.NoSuchThing  # noqa: B018


def _mackey_split(train=10_000, test=2_000):
    s = mackey_glass(train + test + 1)
    return s[:train], s[1:train + 1], s[train:train + test], s[train + 1:train + test + 1]


def test_predict_after_fit_goes_on_from_the_end_of_the_training_run():
    u_train, y_train, u_test, y_test = _mackey_split()
    esn = EchoStateNetwork(1000, spectral_radius=1.25, leak_rate=0.5, bias_scaling=0.5, density=0.2, seed=0)
    esn.fit(u_train, y_train)
    carried = nrmse(esn.predict(u_test), y_test)                # as the README writes it
    fresh = nrmse(esn.predict(u_test, reset=True), y_test)
    assert carried < 1.5e-4 and fresh > 0.1                     # ~1.05e-4 vs ~0.42 with the zero state


def test_predict_continues_run_by_run_and_reset_or_x0_start_afresh():
    u_train, y_train, u_test, _ = _mackey_split(2000, 600)
    esn = EchoStateNetwork(120, spectral_radius=1.1, leak_rate=0.5, bias_scaling=0.5, seed=3).fit(u_train, y_train)
    end_of_fit = esn.last_state.copy()
    whole = esn.predict(u_test)
    in_two = np.concatenate([esn.predict(u_test[:250], x0=end_of_fit), esn.predict(u_test[250:])])
    np.testing.assert_allclose(in_two, whole, rtol=1e-6, atol=1e-7)        # split anywhere: the same outputs
    from_zero = esn.predict(u_test, reset=True)
    np.testing.assert_allclose(esn.predict(u_test, x0=np.zeros(120)), from_zero)
    assert np.abs(from_zero[:20] - whole[:20]).max() > 1e-3
    states = esn.run(u_test, x0=end_of_fit)                                  # run() carries the state too
    np.testing.assert_allclose(esn.last_state[0], states[-1])
    esn.run(u_test[:250], x0=end_of_fit)
    np.testing.assert_allclose(esn.run(u_test[250:]), states[250:], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(esn.run(u_test, reset=True), esn.run(u_test, x0=np.zeros(120)))


def test_carried_state_matches_reservoirpy():
    rpy = pytest.importorskip("reservoirpy.nodes", reason="reservoirpy is a dev dependency")
    s = mackey_glass(2000)
    esn = EchoStateNetwork(100, spectral_radius=1.25, leak_rate=0.5, bias_scaling=0.5, density=0.2, ridge=1e-4, seed=0,
                           dtype=np.float64).fit(s[:1500], s[1:1501])
    reservoir = rpy.Reservoir(W=esn.W, Win=esn.W_in, bias=esn.b, lr=0.5)
    reservoir.run(s[:1500, None])                                 # reservoirpy also keeps its state between runs
    np.testing.assert_allclose(esn.run(s[1500:-1]), reservoir.run(s[1500:-1, None]), rtol=1e-12, atol=1e-13)


def test_outputs_mirror_the_shape_of_the_input():
    rng = np.random.default_rng(0)
    esn = EchoStateNetwork(40, seed=0).fit(rng.normal(size=400), rng.normal(size=400))
    assert esn.predict(rng.normal(size=30)).shape == (30,)
    assert esn.predict(rng.normal(size=(30, 1))).shape == (30, 1)
    assert esn.predict(rng.normal(size=(3, 30, 1)), reset=True).shape == (3, 30, 1)
    assert esn.run(rng.normal(size=30), reset=True).shape == (30, 40)
    assert esn.run(rng.normal(size=(2, 30, 1)), reset=True).shape == (2, 30, 40)
    assert esn.generate(7).shape == (2, 7, 1)                  # autonomous: shaped as the last series seen
    esn.predict(rng.normal(size=30), reset=True)
    assert esn.generate(7).shape == (7,)
    two = EchoStateNetwork(40, seed=0).fit(rng.normal(size=(400, 3)), rng.normal(size=(400, 2)))
    assert two.predict(rng.normal(size=(30, 3))).shape == (30, 2)
    assert two.predict(rng.normal(size=(4, 30, 3)), reset=True).shape == (4, 30, 2)


def test_a_carried_state_of_another_batch_size_is_refused():
    rng = np.random.default_rng(0)
    esn = EchoStateNetwork(30, seed=0).fit(rng.normal(size=300), rng.normal(size=300))
    with pytest.raises(RnnlabError, match="reset=True"):
        esn.predict(rng.normal(size=(2, 50, 1)))
    with pytest.raises(RnnlabError, match="fit"):
        EchoStateNetwork(30, seed=0).predict(rng.normal(size=50))
    with pytest.raises(RnnlabError, match="NaN"):
        esn.predict(np.array([0.1, np.nan, 0.2]))


@pytest.mark.parametrize("kw,match", [(dict(n_reservoir=10 ** 9), "n_reservoir"), (dict(n_reservoir=2.5), "n_reservoir"),
                                      (dict(n_reservoir=0), "n_reservoir"), (dict(spectral_radius=1e40), "spectral_radius"),
                                      (dict(spectral_radius=float("nan")), "spectral_radius"),
                                      (dict(input_scaling=1e300), "input_scaling"), (dict(bias_scaling=-1), "bias_scaling"),
                                      (dict(leak_rate=0), "leak_rate"), (dict(density=2), "density"),
                                      (dict(ridge=float("inf")), "ridge"), (dict(dtype=np.int32), "dtype"),
                                      (dict(seed=-1), "seed")])
def test_absurd_settings_are_refused_in_one_line(kw, match):
    with pytest.raises(RnnlabError, match=match):
        EchoStateNetwork(**{"n_reservoir": 20, **kw})


@pytest.mark.parametrize("flags,names", [(("--radii", "1e40"), "--radii"), (("--input-scalings", "1e300"), "--input-scalings"),
                                         (("--units", "10" * 200), "--units"), (("--train", "10000000"), "--train")])
def test_sweep_refuses_absurd_values_with_exit_2(tmp_path, flags, names):
    code, out, err = run_cli("esn", "sweep", *flags, "--out", tmp_path / "never")
    assert code == 2 and names in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()


# ---------------------------------------------------------------- the compiled float32 loop
def test_float32_tanh_is_within_a_few_ulp():
    from rnnlab.esn.kernels import tanh32
    x = np.concatenate([np.linspace(-12, 12, 200_001), np.geomspace(1e-30, 12, 20_001)]).astype(np.float32)
    x = np.concatenate([x, -x])
    err = np.abs(tanh32(x).astype(np.float64) - np.tanh(x.astype(np.float64)))
    assert err.max() < 3e-7 and tanh32(np.float32([0.0]))[0] == 0.0


@pytest.mark.parametrize("B,density", [(1, 0.05), (3, 0.1), (1, 0.3), (3, 0.3), (12, 0.1)])   # sparse rows (<= 11%)
def test_float32_run_equals_the_float64_recurrence(B, density):                # and dense in the compiled loop; BLAS
    rng = np.random.default_rng(1)                                                 # for more than 8 sequences
    fast = EchoStateNetwork(83, spectral_radius=1.2, leak_rate=0.4, bias_scaling=0.3, density=density, feedback=True,
                            seed=2)
    fast._build(2, 1)
    u, y_prev = rng.normal(size=(B, 1500, 2)), rng.normal(size=(B, 1500, 1))   # > 1 block of steps
    np.testing.assert_allclose(fast.run(u, y_prev=y_prev), _textbook_run(fast, u, y_prev), atol=2e-5)
