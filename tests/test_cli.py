"""The command line: the issue's commands, exit codes, one-line errors."""
import json
import math

import pytest

from .conftest import run_cli


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "r1"
    code, _, err = run_cli("train", "--max-steps", 30, "--hidden", 32, "--layers", 1, "--batch-size", 16,
                           "--seq-len", 32, "--out", out, "--seed", 1, "--no-progress")
    assert code == 0, err
    return out


def test_sample_is_deterministic_and_starts_with_prime(run_dir):
    a = run_cli("sample", run_dir, "--prime", "ROMEO:", "-n", 50, "--seed", 7)
    b = run_cli("sample", run_dir, "--prime", "ROMEO:", "-n", 50, "--seed", 7)
    assert a[0] == 0 and a[1] == b[1]
    assert a[1].startswith("ROMEO:") and len(a[1]) == len("ROMEO:") + 50 + 1


def test_eval_json(run_dir):
    code, out, _ = run_cli("eval", run_dir, "--json")
    d = json.loads(out)
    assert code == 0 and set(d) == {"nats_per_char", "bits_per_char", "perplexity", "n_chars"}
    assert d["bits_per_char"] == pytest.approx(d["nats_per_char"] / math.log(2))
    assert d["n_chars"] == 111_539


@pytest.mark.parametrize("args, needle", [
    (["train", "--data", "/no/such/file"], "no such data file"),
    (["train", "--hidden", "0"], "--hidden must be positive"),
    (["train", "--seq-len", "-3"], "--seq-len must be positive"),
    (["sample", "/no/such/run"], "no such run"),
    (["train", "--model", "transformer"], "invalid choice" if False else "unknown model"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    code, out, err = run_cli(*args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_unknown_prime_and_bad_temperature(run_dir):
    code, _, err = run_cli("sample", run_dir, "--prime", "§§§")
    assert code == 2 and "'§'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("sample", run_dir, "--temperature", "0")
    assert code == 2 and "--temperature must be positive" in err


def test_truncated_checkpoint_is_one_line(run_dir, tmp_path):
    import shutil
    copy = tmp_path / "ck"
    shutil.copytree(run_dir / "best", copy)
    (copy / "model.safetensors").write_bytes((copy / "model.safetensors").read_bytes()[:50])
    code, _, err = run_cli("eval", copy)
    assert code == 2 and "truncated or damaged" in err and len(err.strip().splitlines()) == 1


def test_unwritable_out_and_foreign_hmm_out_are_one_line(small_text, tmp_path):
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli("train", "--max-steps", 2, "--hidden", 8, "--layers", 1, "--out", tmp_path / "file" / "run",
                           "--data", small_text, "--no-progress")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    code, _, err = run_cli("hmm", "train", "--data", small_text, "--states", 2, "--iters", 2, "--out", tmp_path / "mine")
    assert code == 2 and "not an HMM run" in err and (tmp_path / "mine" / "notes.txt").exists()


# --- what a new user sees: fast --help, "did you mean", log lines without a bar -------------------------------

def test_building_the_parser_loads_neither_torch_nor_numpy():
    import subprocess
    import sys
    code = ("import sys, rnnlab, rnnlab.cli; rnnlab.cli.build_parser(); rnnlab.__version__; "
            "print(sorted({'torch', 'numpy', 'matplotlib'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("args, hint", [
    (["train", "--hiden", "16"], "did you mean --hidden? see rnnlab train --help"),
    (["trian"], "did you mean train?"),
    (["hmm", "train", "--sates=2"], "did you mean --states?"),
    (["sample", "run", "--prme", "x"], "did you mean --prime?"),
])
def test_unknown_flags_and_commands_get_a_suggestion(args, hint, capsys):
    from rnnlab import cli
    with pytest.raises(SystemExit) as stop:
        cli.main(args)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and hint in err and len(err.strip().splitlines()) == 1


def test_sample_device_defaults_to_auto():
    from rnnlab import cli
    assert cli.build_parser().parse_args(["sample", "run"]).device == "auto"


def test_no_progress_prints_a_line_per_log_interval(small_text, tmp_path, capsys):
    from rnnlab import cli
    code = cli.main(["train", "--data", str(small_text), "--hidden", "16", "--layers", "1", "--batch-size", "4",
                     "--seq-len", "16", "--max-steps", "4", "--log-every", "2", "--sample-chars", "0",
                     "--out", str(tmp_path / "r"), "--no-progress"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("step ")]
    assert code == 0 and [line.split("  ")[0] for line in lines] == ["step 2/4", "step 4/4", "step 4/4"]
    assert "loss" in lines[0] and "nats/char" in lines[0] and "lr" in lines[0] and "chars/s" in lines[0]
    assert "val" in lines[2]


def test_figures_are_drawn(small_text, tmp_path):
    from rnnlab import cli
    assert cli.main(["hmm", "letters", "--data", str(small_text), "--chars", "2000", "--iters", "30",
                     "--restarts", "1", "--out", str(tmp_path / "letters")]) == 0
    assert cli.main(["hmm", "landscape", "--grid", "3", "--bits", "100", "--out", str(tmp_path / "landscape")]) == 0
    assert cli.main(["gradflow", "--out", str(tmp_path / "gradflow")]) == 0
    for png in ("letters/letters.png", "landscape/landscape.png", "gradflow/sweep.png", "gradflow/rnn_vs_lstm.png"):
        assert (tmp_path / png).stat().st_size > 10_000, png
