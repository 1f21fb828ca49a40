"""rnnlab bench: the table's rows, ratios and peak fractions (the timings themselves are benchmarks, not tests)."""
import json

from rnnlab import cli
from rnnlab.bench import speed


def test_bench_json_rows_and_ratios(monkeypatch, capsys):
    monkeypatch.setattr(speed, "matmul_gflops", lambda dtype, **kw: 100.0 if dtype.is_floating_point else 0)
    monkeypatch.setattr(speed, "bare_loop", lambda tokens, V, steps, dtype: 1000.0)
    monkeypatch.setattr(speed, "rnnlab_loop", lambda corpus, steps, dtype, run_dir: 950.0)
    monkeypatch.setattr(speed, "stepper_tokens_per_s", lambda model, batch, n: 300.0 * batch)
    monkeypatch.setattr(speed, "eager_tokens_per_s", lambda model, batch, n: 30.0 * batch)
    monkeypatch.setattr(speed, "prepare_mb_per_s", lambda mb: (60.0, 40.0))
    assert cli.main(["bench", "--quick", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = {r["name"].split(" (")[0]: r for r in result["rows"]}
    assert set(result["peak_gflops"]) == {"float32", "bfloat16"}
    assert rows["train 2x512 LSTM float32"]["ratio"] == 0.95 and rows["generate 2x512 LSTM batch 1"]["ratio"] == 10
    assert rows["rnnlab prepare"]["ratio"] == 1.5 and all({"name", "ours", "peer", "ratio", "unit"} <= set(r)
                                                          for r in result["rows"])
    flops = 950.0 * speed.train_flops_per_char(65) / 1e9 / 100.0          # chars/s x FLOPs/char over the peak
    assert abs(result["trainer_peak_fraction"]["float32"] - round(flops, 3)) < 1e-9


def test_matmul_peak_is_a_positive_rate():
    import torch
    assert speed.matmul_gflops(torch.float32, n=64, repeats=2) > 0
