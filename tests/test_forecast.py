"""`rnnlab forecast`: metrics and baselines against hand-computed numbers, windows inverted exactly, a GRU
that beats naive on a seasonal series in a few steps, exact resume, bad input (exit 2, one line), eval JSON."""
import json

import numpy as np
import pytest
import torch

from rnnlab.checkpoint import read_weights
from rnnlab.cli import main
from rnnlab.errors import RnnlabError
from rnnlab.tasks import forecast_metrics as metrics
from rnnlab.tasks import forecast_run
from rnnlab.tasks.forecast_config import ForecastConfig
from rnnlab.tasks.forecast_data import BUNDLED, load_series, make_split, weekly_to_monthly
from rnnlab.tasks.forecast_windows import Scaling, Windowed
from rnnlab.text.shared_data import find_folder
from tests.test_tag_cli import _error

SMALL = ["--hidden", "16", "--batch-size", "16", "--lr", "0.01", "--warmup-steps", "5", "--eval-every", "10",
         "--horizon", "6", "--season", "12", "--no-progress"]


def seasonal_series(n: int = 240, seed: int = 0) -> np.ndarray:
    """A noisy sine of period 12 on a slow trend."""
    t = np.arange(n)
    return 10 + 0.02 * t + 3 * np.sin(2 * np.pi * t / 12) + 0.2 * np.random.default_rng(seed).standard_normal(n)


def write_csv(path, values, header="month,value") -> str:
    path.write_text(header + "\n" + "".join(f"{i},{float(v)!r}\n" for i, v in enumerate(values)))
    return str(path)


@pytest.fixture(scope="module")
def series_csv(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("series") / "sine.csv", seasonal_series())


@pytest.fixture(scope="module")
def run(series_csv, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "sine")
    assert main(["forecast", "train", "--data", series_csv, "--out", out, *SMALL, "--max-steps", "150",
                 "--eval-every", "50"]) == 0
    return out


def test_metrics_and_baselines_by_hand():
    x = np.array([1.0, 3, 2, 4, 3, 5, 6, 9])
    assert metrics.mase_scale(x[:6], 2) == 1.0              # |2-1|, |4-3|, |3-2|, |5-4|
    assert metrics.mase_scale(x[:6], 1) == 1.6              # naive: (2 + 1 + 2 + 1 + 2) / 5
    origins = np.array([6])
    assert metrics.naive(x, origins, 2).tolist() == [[5, 5]]
    assert metrics.seasonal_naive(x, origins, 2, 2).tolist() == [[3, 5]]
    assert metrics.seasonal_naive(x, np.array([5]), 3, 2).tolist() == [[4, 3, 4]]   # past one season: repeated
    assert metrics.seasonal_naive(x, origins, 2, 1).tolist() == [[5, 5]]              # no season: naive
    truth = np.array([[6.0, 9]])
    s = metrics.scores(metrics.naive(x, origins, 2), truth, 1.6)
    assert s["mae"] == 2.5 and s["rmse"] == pytest.approx(np.sqrt(8.5)) and s["mase"] == pytest.approx(2.5 / 1.6)
    s = metrics.scores(metrics.seasonal_naive(x, origins, 2, 2), truth, 1.0)
    assert s == {"mae": 3.5, "rmse": pytest.approx(np.sqrt(12.5)), "mase": 3.5}


@pytest.mark.parametrize("transform, lag", [("none", 0), ("log", 0), ("none", 4), ("log", 4)])
def test_windows_and_scaling_invert_exactly(transform, lag):
    x = np.exp(np.random.default_rng(1).standard_normal(60) * 0.3 + 3)
    split = make_split(len(x), lookback=8 + lag, horizon=4, val_frac=0.15, test_frac=0.2, season=4)
    w = Windowed(x, Scaling.fit(x[:split.val_start], transform, lag, 8), 8, 4)
    z, s = (np.log(x) if transform == "log" else x), w.scaling.scale
    inside = np.arange(8 + lag, split.val_start + 1)          # every window before the validation part
    assert np.sqrt(np.mean(w.inputs(inside) ** 2)) == pytest.approx(1.0)
    for part in ("train", "val", "test"):
        o = split.origins(part)
        assert len(o) and o.min() >= 8 + lag and o.max() + 4 <= {"train": split.val_start, "val": split.test_start,
                                                                   "test": split.n}[part]
        np.testing.assert_allclose(w.to_values(w.targets(o), o), x[o[:, None] + np.arange(4)], rtol=1e-13)
        idx = o[:, None] + np.arange(-8, 0)
        back = z[idx - lag] if lag else z[o - 1][:, None]     # seasonal differences, or relative to the last value
        np.testing.assert_allclose(w.inputs(o) * s + back, z[idx], rtol=1e-13)
        base = z[o[:, None] - 4 + np.arange(4) % 4] if lag else z[o - 1][:, None]
        np.testing.assert_allclose(w.to_values(np.zeros((len(o), 4)), o), np.broadcast_to(
            np.exp(base) if transform == "log" else base, (len(o), 4)), rtol=1e-13)   # 0 = the base forecast
    assert split.origins("val")[0] == split.val_start and split.origins("test")[-1] == len(x) - 4


def test_weekly_values_become_monthly_means():
    dates = ["20000105", "20000112", "20000210", "20000401"]      # March has no week: interpolated
    np.testing.assert_allclose(weekly_to_monthly(dates, [1.0, 3.0, None, 8.0]), [2.0, 4.0, 6.0, 8.0])


def test_gru_beats_naive_and_eval_json(run, capsys):
    assert main(["forecast", "eval", run, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"mae", "rmse", "mase", "baselines"} <= set(out)
    assert set(out["baselines"]) == {"naive", "seasonal_naive", "esn"}
    assert all({"mae", "rmse", "mase"} <= set(b) for b in out["baselines"].values())
    assert out["mase"] < out["baselines"]["naive"]["mase"] / 5          # 150 steps: far below the last value
    assert out["horizon"] == 6 and out["season"] == 12 and out["test_origins"] == 48 - 6 + 1
    rows = [json.loads(x) for x in open(f"{run}/metrics.jsonl")]
    assert [r["step"] for r in rows] == [50, 100, 150] and all("val_mase" in r for r in rows)
    assert json.load(open(f"{run}/best/config.json"))["task"] == "forecast"
    assert json.load(open(f"{run}/baselines.json"))["esn"]["params"].keys() == {"spectral_radius", "leak_rate",
                                                                                "input_scaling", "ridge"}


def test_plot_writes_a_png(run, tmp_path, capsys):
    assert main(["forecast", "plot", run, "--out", str(tmp_path / "f.png")]) == 0
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_equals_one_run(series_csv, tmp_path):
    """20 steps in one go, and 10 steps resumed to 20 through the library, end at the same weights."""
    cfg = ForecastConfig(data=series_csv, season=12, horizon=6, hidden=16, batch_size=16, lr=0.01, warmup_steps=5,
                         eval_every=10, seed=3, lr_decay_steps=20, max_steps=20)
    quiet = dict(progress=False, say=lambda _: None)
    forecast_run.train(cfg.replace(out=str(tmp_path / "one")), **quiet)
    forecast_run.train(cfg.replace(out=str(tmp_path / "two"), max_steps=10), **quiet)
    forecast_run.resume(tmp_path / "two", {"max_steps": 20}, **quiet)
    one, two = (read_weights(tmp_path / r / "last") for r in ("one", "two"))
    assert one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)


def test_bad_input_is_one_line_exit_2(run, series_csv, tmp_path, capsys):
    train = ["forecast", "train", "--no-progress", "--max-steps", "5"]
    err = _error(capsys, [*train, "--data", series_csv, "--column", "flow", "--out", str(tmp_path / "a")])
    assert "no column 'flow'" in err and "month, value" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("t,value\n0,1.5\n1,abc\n2,3\n")
    assert "line 3" in _error(capsys, [*train, "--data", str(bad), "--out", str(tmp_path / "b")])
    assert "horizon" in _error(capsys, [*train, "--data", series_csv, "--horizon", "200", "--out", str(tmp_path / "c")])
    (tmp_path / "empty.csv").write_text("")
    assert "empty" in _error(capsys, [*train, "--data", str(tmp_path / "empty.csv"), "--out", str(tmp_path / "d")])
    err = _error(capsys, [*train, "--data", "sunspot", "--out", str(tmp_path / "e")])
    assert "unknown series 'sunspot'" in err and all(name in err for name in BUNDLED)
    assert not any((tmp_path / d).exists() for d in "abcde")
    assert "cannot change --hidden" in _error(capsys, [*train, "--resume", run, "--hidden", "32"])
    assert "not an rnnlab run" in _error(capsys, ["forecast", "eval", str(tmp_path)])


def test_headerless_file_and_bundled_series(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("1.5\n2.5\n3\n")
    assert load_series(str(path)).values.tolist() == [1.5, 2.5, 3.0]
    with pytest.raises(RnnlabError, match="needs at least"):
        make_split(50, lookback=24, horizon=12, val_frac=0.15, test_frac=0.2, season=12)
    if find_folder("timeseries") is None:
        pytest.skip("the shared data folder (timeseries/) is not here")
    lengths = {name: len(load_series(name).values) for name in BUNDLED}
    assert lengths == {"sunspots": 3126, "co2": 526, "nile": 100, "airline": 144}
