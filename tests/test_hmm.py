"""Discrete HMM: textbook numbers, brute force over all paths, EM monotone, hmmlearn parity."""
import itertools
import math

import numpy as np
import pytest

from rnnlab.hmm.model import DiscreteHMM


def wikipedia_hmm():
    """Wikipedia's Viterbi example: Healthy/Fever emitting normal/cold/dizzy."""
    hmm = DiscreteHMM(2, 3)
    hmm.startprob = np.array([0.6, 0.4])
    hmm.transmat = np.array([[0.7, 0.3], [0.4, 0.6]])
    hmm.emissionprob = np.array([[0.5, 0.4, 0.1], [0.1, 0.3, 0.6]])
    return hmm


def test_textbook_forward_and_viterbi():
    hmm = wikipedia_hmm()
    X = np.array([0, 1, 2])                                  # normal, cold, dizzy
    assert hmm.score(X) == pytest.approx(math.log(0.03628), rel=1e-12)
    path, logp = hmm.decode(X)
    assert path.tolist() == [0, 0, 1]                        # Healthy, Healthy, Fever
    assert logp == pytest.approx(math.log(0.01512), rel=1e-12)


def brute_force(hmm, X):
    """p(X) and P(s_t = k | X) by enumerating every state path."""
    K, T = hmm.n_states, len(X)
    total, post = 0.0, np.zeros((T, K))
    for path in itertools.product(range(K), repeat=T):
        p = hmm.startprob[path[0]] * hmm.emissionprob[path[0], X[0]]
        for t in range(1, T):
            p *= hmm.transmat[path[t - 1], path[t]] * hmm.emissionprob[path[t], X[t]]
        total += p
        for t, k in enumerate(path):
            post[t, k] += p
    return total, post / total


@pytest.mark.parametrize("T", [1, 2, 4, 6])
def test_score_and_posteriors_match_enumeration(T):
    hmm = DiscreteHMM(3, 4, init="random", seed=T)
    hmm._initialise("random")
    X = np.random.default_rng(T).integers(0, 4, T)
    p, post = brute_force(hmm, X)
    assert hmm.score(X) == pytest.approx(math.log(p), rel=1e-12)
    np.testing.assert_allclose(hmm.posteriors(X), post, rtol=1e-10, atol=1e-14)


def test_em_never_decreases_the_likelihood_and_recovers_structure():
    truth = wikipedia_hmm()
    X, _ = truth.sample(5000, seed=1)
    hmm = DiscreteHMM(2, 3, n_iter=200, tol=1e-10, seed=3).fit(X)
    assert np.all(np.diff(hmm.history_) >= -1e-9 * abs(hmm.history_[-1]))
    assert hmm.score(X) >= truth.score(X) - 5.0            # as good as the generating model (up to EM's optimum)


def test_long_sequences_do_not_underflow_and_zero_probability_is_not_nan():
    hmm = wikipedia_hmm()
    X, _ = hmm.sample(1_000_000, seed=0)
    assert np.isfinite(hmm.score(X)) and hmm.score(X) < -9e5
    hmm.emissionprob = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    assert hmm.score(np.array([0, 1, 2, 0])) == -np.inf
    assert not np.isnan(hmm.posteriors(np.array([0, 1, 0]))).any()


def test_many_sequences_with_lengths():
    hmm = wikipedia_hmm()
    a, b = np.array([0, 1, 2]), np.array([2, 2])
    assert hmm.score(np.concatenate([a, b]), [3, 2]) == pytest.approx(hmm.score(a) + hmm.score(b))


hmmlearn = pytest.importorskip("hmmlearn.hmm", reason="hmmlearn is a dev dependency")


def _peer(ours):
    peer = hmmlearn.CategoricalHMM(ours.n_states, n_iter=1, tol=0, init_params="", params="ste", implementation="scaling")
    peer.n_features = ours.n_symbols
    peer.startprob_, peer.transmat_, peer.emissionprob_ = ours.startprob, ours.transmat, ours.emissionprob
    return peer


def _path_logp(hmm, X, path):
    return (np.log(hmm.startprob[path[0]]) + np.log(hmm.transmat[path[:-1], path[1:]]).sum()
            + np.log(hmm.emissionprob[path, X]).sum())


def test_parity_with_hmmlearn():
    rng = np.random.default_rng(0)
    ours = DiscreteHMM(4, 6, seed=0)
    ours._initialise("random")
    X = rng.integers(0, 6, 3000)
    peer = _peer(ours)
    assert ours.score(X) == pytest.approx(peer.score(X[:, None]), rel=1e-8)
    path, logp = ours.decode(X)
    peer_logp, peer_path = peer.decode(X[:, None], algorithm="viterbi")
    assert logp == pytest.approx(peer_logp, rel=1e-8)
    # equally probable paths may differ where ties break differently; both must score the optimum
    assert _path_logp(ours, X, path) == pytest.approx(peer_logp, rel=1e-8)
    assert (path == peer_path).mean() > 0.99
    np.testing.assert_allclose(ours.posteriors(X), peer.predict_proba(X[:, None]), rtol=1e-8, atol=1e-12)
    ours.em_step([X])
    peer.fit(X[:, None])                                    # one EM step from the same parameters
    for a, b in [(ours.startprob, peer.startprob_), (ours.transmat, peer.transmat_), (ours.emissionprob, peer.emissionprob_)]:
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_letters_experiment_finds_vowels_after_a_plateau():
    from rnnlab.hmm.experiments import letters
    from tests.conftest import SHAKESPEARE
    result = letters(SHAKESPEARE.read_text(), chars=20000, iters=900, restarts=2, seed=1)
    assert set(result["groups"][0]) == set("aeiou ")
    assert 300 < result["transition_iteration"] < 900       # a long plateau first (the lectures: ~650)
    assert len(result["loglik"]) == 900 and result["final_loglik"] > result["loglik"][100] + 1000


def test_hmm_cli_train_sample_and_errors(small_text, tmp_path):
    import json

    from tests.conftest import run_cli
    code, out, err = run_cli("hmm", "train", "--data", small_text, "--states", 4, "--iters", 5, "--out",
                             tmp_path / "h", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert 2.0 < result["val_bits_per_char"] < 6.1 and result["iterations"] == 5
    a = run_cli("hmm", "sample", tmp_path / "h", "-n", 50, "--seed", 1)[1]
    assert a == run_cli("hmm", "sample", tmp_path / "h", "-n", 50, "--seed", 1)[1] and len(a) == 51
    code, _, err = run_cli("hmm", "sample", tmp_path / "nope")
    assert code == 2 and len(err.strip().splitlines()) == 1
    for bad in (["train", "--data", small_text, "--val-frac", "1.5"], ["train", "--data", small_text, "--seed", "-1"],
                ["sample", tmp_path / "h", "--seed", "-1"]):
        code, _, err = run_cli("hmm", *bad)
        assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_hmm_sample_refuses_a_damaged_run(small_text, tmp_path):
    import json

    from rnnlab.errors import RnnlabError
    from rnnlab.hmm import lm
    lm.fit_language_model(str(small_text), 3, n_iter=2, out=str(tmp_path / "h"))
    meta_path = tmp_path / "h" / "config.json"
    meta = json.loads(meta_path.read_text())
    for damaged in ({k: v for k, v in meta.items() if k != "vocab"}, [1, 2],
                    {**meta, "vocab": {**meta["vocab"], "chars": meta["vocab"]["chars"][:5]}}):
        meta_path.write_text(json.dumps(damaged))
        with pytest.raises(RnnlabError, match="damaged|another format"):
            lm.sample_text(tmp_path / "h", 10, seed=0)


def test_letters_transition_ignores_letters_the_text_lacks():
    from rnnlab.hmm.experiments import letters
    from tests.conftest import SHAKESPEARE
    text = SHAKESPEARE.read_text().lower().translate(str.maketrans("", "", "qxzjk"))
    result = letters(text, chars=20000, iters=900, restarts=1, seed=1)
    assert result["transition_iteration"] > 100              # was 1: absent letters made the spread 0.5 at once


# --- hmmlearn's API: predict, predict_proba, the converged flag, decode's order -----------------------------

def test_public_names_import_from_the_subpackage():
    from rnnlab.hmm import DiscreteHMM as exported, fit_language_model, load_hmm, sample_hmm_text  # noqa: F401
    assert exported is DiscreteHMM


def test_predict_and_predict_proba_match_hmmlearn():
    ours = DiscreteHMM(3, 5, seed=4)
    ours._initialise("random")
    X = np.random.default_rng(4).integers(0, 5, 2000)[:, None]        # hmmlearn's (T, 1) shape is accepted
    peer = _peer(ours)
    path = ours.predict(X)
    assert path.shape == (2000,) and (path == peer.predict(X)).mean() > 0.99
    assert _path_logp(ours, X[:, 0], path) == pytest.approx(peer.decode(X)[0], rel=1e-8)   # the optimum either way
    np.testing.assert_allclose(ours.predict_proba(X), peer.predict_proba(X), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)
    logp, _ = peer.decode(X)                                            # hmmlearn: (log_prob, states)
    assert ours.decode(X)[1] == pytest.approx(logp, rel=1e-8)            # ours: (states, log_prob), documented
    assert "(state_path, log_prob)" in DiscreteHMM.decode.__doc__ and "hmmlearn" in DiscreteHMM.decode.__doc__


@pytest.mark.parametrize("tol", [1.0, 1e-6])
def test_converged_flag_and_iteration_count_match_hmmlearn(tol):
    truth = wikipedia_hmm()
    X, _ = truth.sample(3000, seed=2)
    start = DiscreteHMM(2, 3, seed=5)
    start._initialise("random")
    ours = DiscreteHMM(2, 3, n_iter=40, tol=tol, init="keep")
    ours.startprob, ours.transmat, ours.emissionprob = start.startprob, start.transmat, start.emissionprob
    ours.fit(X)
    peer = hmmlearn.CategoricalHMM(2, n_iter=40, tol=tol, init_params="", params="ste", implementation="scaling")
    peer.n_features = 3
    peer.startprob_, peer.transmat_, peer.emissionprob_ = start.startprob, start.transmat, start.emissionprob
    peer.fit(X[:, None])
    assert ours.n_iter_ == peer.monitor_.iter == len(ours.history_)
    stopped_early = ours.n_iter_ < 40
    assert ours.converged_ == stopped_early                             # not "converged" merely by running out
    if stopped_early:
        assert peer.monitor_.converged


def test_running_out_of_iterations_is_not_convergence():
    X, _ = wikipedia_hmm().sample(500, seed=0)
    hmm = DiscreteHMM(2, 3, n_iter=3, tol=-np.inf, seed=0).fit(X)
    assert (hmm.converged_, hmm.n_iter_) == (False, 3)


def test_damaged_parameters_are_refused():
    from rnnlab.errors import RnnlabError
    hmm = wikipedia_hmm()
    hmm.check_parameters()
    hmm.transmat = np.array([[0.7, 0.3], [np.nan, 0.6]])
    with pytest.raises(RnnlabError, match="not finite"):
        hmm.check_parameters()
    hmm.transmat = np.array([[1.2, -0.2], [0.4, 0.6]])
    with pytest.raises(RnnlabError, match="negative"):
        hmm.check_parameters()


def test_hmm_train_keeps_the_model_shows_progress_and_reports_convergence(small_text, tmp_path):
    import json

    from tests.conftest import run_cli
    code, out, err = run_cli("hmm", "train", "--data", small_text, "--states", 2, "--iters", 4, "--json",
                             cwd=tmp_path)
    assert code == 0, err
    result = json.loads(out)
    assert result["iterations"] == 4 and result["converged"] is False
    assert result["run_dir"].startswith("runs/hmm-") and (tmp_path / result["run_dir"] / "hmm.npz").exists()
    assert "EM" in err and "4/4" in err                                  # a progress bar over the iterations
    code, out, _ = run_cli("hmm", "train", "--help")
    assert code == 0 and "90%" in out and "%%" not in out
