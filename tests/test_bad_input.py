"""Bad input anywhere: one line on stderr naming the problem and the fix, exit code 2, never a traceback.

One tiny run (and one tiny HMM run) is built once for the module; every damaged variant is a copy of it.
"""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import rnnlab
from rnnlab import ModelConfig, RnnlabError, SampleConfig, TrainConfig

from .conftest import SHAKESPEARE, run_cli

TINY = ["--hidden", 16, "--layers", 1, "--embed", 8, "--batch-size", 4, "--seq-len", 16, "--sample-chars", 0,
        "--eval-every", 3, "--no-progress"]
HUGE = "9" * 400


def one_line(code, err, needle):
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert needle in err, err


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A directory with text.txt, a 3-step run trained through the CLI (--max-steps alone) and an HMM run."""
    root = tmp_path_factory.mktemp("bad")
    text = root / "text.txt"
    text.write_text(SHAKESPEARE.read_text()[:20000])
    from rnnlab import cli
    assert cli.main([str(a) for a in ["train", "--data", text, *TINY, "--max-steps", 3, "--out", root / "run"]]) == 0
    from rnnlab.hmm import fit_language_model
    fit_language_model(str(text), 2, n_iter=2, out=str(root / "hmm"))
    return root


def copy_run(lab, name, edit=None, weights=None):
    """A copy of the run whose config.json files are edited by edit(meta) and tensors by weights(name, tensor)."""
    dst = lab / name
    if dst.exists():
        return dst
    shutil.copytree(lab / "run", dst)
    for ckpt in ("best", "last"):
        if edit:
            meta_file = dst / ckpt / "config.json"
            meta = json.loads(meta_file.read_text())
            edit(meta)
            meta_file.write_text(json.dumps(meta))
        if weights:
            from safetensors.torch import load_file, save_file
            f = str(dst / ckpt / "model.safetensors")
            tensors = load_file(f)
            for k, v in tensors.items():
                weights(k, v)
            save_file(tensors, f)
    return dst


def _nan(name, t):
    t.fill_(float("nan"))


def _confident(name, t):
    """The head always predicts symbol 0 with a margin of 2000 nats: the loss far exceeds 709 nats."""
    if name.startswith("head"):
        t.zero_()
        if name.endswith("bias"):
            t[0] = 2000.0


def _set(*path, value):
    def edit(meta):
        d = meta
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value
    return edit


def _hmm_copy(lab, name, damage):
    dst = lab / name
    if not dst.exists():
        shutil.copytree(lab / "hmm", dst)
        arrays = dict(np.load(dst / "hmm.npz"))
        damage(arrays)
        np.savez(dst / "hmm.npz", **arrays)
    return dst


def _nan_transition(a):
    a["transmat"][0, 0] = np.nan


def _negative_emission(a):
    a["emissionprob"][0, 0] -= 0.5
    a["emissionprob"][0, 1] += 0.5


# Each case: a function of the lab directory giving the CLI arguments, and a needle of the one error line.
CASES = {
    "device mps": (lambda lab: ["train", "--data", lab / "text.txt", "--device", "mps", "--out", lab / "mps"],
                   "--device mps is not supported"),
    "device meta": (lambda lab: ["train", "--data", lab / "text.txt", "--device", "meta", "--out", lab / "meta"],
                    "--device meta is not supported"),
    "eval device xpu": (lambda lab: ["eval", lab / "run", "--device", "xpu"], "--device xpu is not supported"),
    "400 digits": (lambda lab: ["train", "--data", lab / "text.txt", "--hidden", HUGE, "--out", lab / "o"],
                   "--hidden must fit in 64 bits"),
    "hidden 1e20": (lambda lab: ["train", "--hidden", "1e20"], "invalid int value"),
    "model too big": (lambda lab: ["train", "--data", lab / "text.txt", "--hidden", 10 ** 7, "--out", lab / "o"],
                      "GiB of weights"),
    "lr 1e308": (lambda lab: ["train", "--data", lab / "text.txt", "--lr", "1e308", "--out", lab / "o"],
                 "--lr must be at most"),
    "weight decay 1e300": (lambda lab: ["train", "--data", lab / "text.txt", "--weight-decay", "1e300"],
                           "--weight-decay must be at most"),
    "forget bias 1e300": (lambda lab: ["train", "--data", lab / "text.txt", "--forget-bias", "1e300"],
                          "--forget-bias must lie in"),
    "temperature 1e-310": (lambda lab: ["sample", lab / "run", "--temperature", "1e-310"], "--temperature 1e-310"),
    "sample -n 400 digits": (lambda lab: ["sample", lab / "run", "-n", HUGE], "-n must fit in 64 bits"),
    "esn radii 1e40": (lambda lab: ["esn", "sweep", "--radii", "1e40", "--out", lab / "sweep"], "magnitude at most"),
    "hmm states 400 digits": (lambda lab: ["hmm", "train", "--data", lab / "text.txt", "--states", HUGE],
                              "--states must be positive and at most"),
    "hmm letters without letters": (lambda lab: ["hmm", "letters", "--data", lab / "digits.txt", "--out", lab / "l"],
                                    "no letters a-z"),
    "hmm.npz NaN": (lambda lab: ["hmm", "sample", _hmm_copy(lab, "hmm-nan", _nan_transition)], "not finite"),
    "hmm.npz negative": (lambda lab: ["hmm", "sample", _hmm_copy(lab, "hmm-neg", _negative_emission)],
                         "negative probabilities"),
    "config vocab list": (lambda lab: ["sample", copy_run(lab, "vocab-list", lambda m: m.update(vocab=[1, 2]))],
                          "'vocab' entry is not a mapping"),
    "config hidden 32.5": (lambda lab: ["eval", copy_run(lab, "hidden-float", _set("model", "hidden", value=32.5))],
                           "--hidden must be a whole number, got 32.5"),
    "config string step": (lambda lab: ["train", "--resume", copy_run(lab, "step-str", _set("metrics", "step",
                                                                                             value="five"))],
                           "step is 'five', not a whole number"),
    "config string lr": (lambda lab: ["sample", copy_run(lab, "lr-str", _set("train", "lr", value="x"))],
                         "--lr must be a number, got 'x'"),
    "NaN weights sample": (lambda lab: ["sample", copy_run(lab, "nan", weights=_nan)], "not finite numbers"),
    "NaN weights eval": (lambda lab: ["eval", copy_run(lab, "nan", weights=_nan), "--json"], "not finite numbers"),
    "corpus too short": (lambda lab: ["train", "--data", lab / "short.txt", "--out", lab / "short-run",
                                      "--no-progress"], "corpus too short"),
    "data changed": (lambda lab: ["eval", copy_run(lab, "changed", _moved_data(lab))],
                     "the data changed since training (sha256 differs)"),
    "resume data changed": (lambda lab: ["train", "--resume", copy_run(lab, "changed", _moved_data(lab)),
                                         "--max-steps", 6], "the data changed since training (sha256 differs)"),
    "eval not UTF-8": (lambda lab: ["eval", lab / "run", "--data", lab / "latin1.txt"], "convert"),
    "hmm not UTF-8": (lambda lab: ["hmm", "train", "--data", lab / "latin1.txt", "--out", lab / "h8"], "convert"),
    "sample of an HMM run": (lambda lab: ["sample", lab / "hmm"], "rnnlab hmm sample"),
    "hmm train over an HMM run": (lambda lab: ["hmm", "train", "--data", lab / "text.txt", "--out", lab / "hmm"],
                                  "already holds an HMM run"),
}


def _moved_data(lab):
    """The run's config now names changed.txt: the same text with symbols the vocabulary lacks appended."""
    changed = lab / "changed.txt"
    changed.write_text((lab / "text.txt").read_text() + "¤€ new symbols\n")

    def edit(meta):
        meta["train"]["data"] = str(changed)
        meta["data"]["path"] = str(changed)
    return edit


@pytest.fixture(scope="module")
def inputs(lab):
    (lab / "digits.txt").write_text("1234 5678 !!!\n" * 20)
    (lab / "short.txt").write_text("too short for 128 rows\n" * 4)
    (lab / "latin1.txt").write_bytes("café crème\n".encode("latin-1") * 50)
    return lab


# run as a separate process (what a user types, torch loaded fresh); the other cases call cli.main in this one
IN_A_PROCESS = {"device mps", "400 digits", "temperature 1e-310", "corpus too short", "data changed",
                "sample of an HMM run", "NaN weights eval"}


def main_here(capsys, *args):
    """cli.main(args) in this process: (exit code, stdout, stderr), as run_cli gives them."""
    from rnnlab import cli
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:      # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2(inputs, case, capsys):
    make_args, needle = CASES[case]
    args = make_args(inputs)
    code, out, err = run_cli(*args) if case in IN_A_PROCESS else main_here(capsys, *args)
    one_line(code, err, needle)
    if "--tokenizer" not in [str(a) for a in args]:
        assert "--tokenizer" not in err                      # eval and hmm have no such flag
    assert "is missing must be" not in err
    if "--json" in args:
        assert out == ""
    if "--out" in args:                                      # refused before anything is created or replaced
        out_dir = args[args.index("--out") + 1]
        if out_dir.name != "hmm":
            assert not out_dir.exists(), out_dir
    if case == "hmm train over an HMM run":                  # refused before fitting: the run is the same one
        meta = json.loads((inputs / "hmm" / "config.json").read_text())
        assert meta["data"]["data"] == str(inputs / "text.txt") and meta["metrics"]["iterations"] == 2


def test_eval_of_a_loss_above_709_nats_reports_inf_and_valid_json(lab, capsys):
    run = copy_run(lab, "confident", weights=_confident)
    code, out, err = run_cli("eval", run, "--json")
    assert code == 0, err
    assert "Infinity" not in out and "NaN" not in out
    score = json.loads(out)
    assert score["nats_per_char"] > 709 and score["perplexity"] is None
    code, out, err = main_here(capsys, "eval", run)
    assert code == 0 and "perplexity inf" in out, err


def test_closed_stdout_is_one_line(lab):
    proc = subprocess.run(f'"{sys.executable}" -m rnnlab sample "{lab / "run"}" -n 5 >&-', shell=True,
                          capture_output=True, text=True)
    one_line(proc.returncode, proc.stderr, "standard output is closed")


def test_std_bad_alloc_is_out_of_memory(monkeypatch, capsys):
    from rnnlab import cli

    def exhausted(args):
        raise RuntimeError("std::bad_alloc")
    monkeypatch.setitem(cli.COMMANDS, "datasets", exhausted)
    assert cli.main(["datasets"]) == 2
    one_line(2, capsys.readouterr().err, "not enough memory")


# --- the Python API: the same checks and messages -------------------------------------------------------------

@pytest.mark.parametrize("make, needle", [
    (lambda: ModelConfig(hidden=32.5), "--hidden must be a whole number, got 32.5"),
    (lambda: ModelConfig(hidden=True), "--hidden must be a whole number, got True"),
    (lambda: ModelConfig(layers=None), "--layers must be a whole number, got None"),
    (lambda: ModelConfig(layers=10 ** 8), "--layers must be at most"),
    (lambda: ModelConfig(hidden=10 ** 400), "--hidden must fit in 64 bits"),
    (lambda: ModelConfig(forget_bias=1e300), "--forget-bias must lie in"),
    (lambda: TrainConfig(seq_len=16.5), "--seq-len must be a whole number, got 16.5"),
    (lambda: TrainConfig(data=None), "--data must be text, got None"),
    (lambda: TrainConfig(seed=2 ** 70), "--seed must be between 0 and 4294967295"),
    (lambda: TrainConfig(max_steps="5"), "--max-steps must be a whole number, got '5'"),
    (lambda: TrainConfig(lr=10 ** 400), "--lr must be a finite number"),
    (lambda: TrainConfig(lr=1e308), "--lr must be at most"),
    (lambda: TrainConfig(device="mps"), "--device mps is not supported"),
    (lambda: TrainConfig(tensorboard="yes"), "--tensorboard must be true or false"),
    (lambda: SampleConfig(length=2.5), "-n must be a whole number, got 2.5"),
    (lambda: SampleConfig(seed=2 ** 70), "--seed must be between 0 and 4294967295"),
    (lambda: SampleConfig(temperature=1e-310), "--temperature 1e-310 is too small"),
    (lambda: ModelConfig.from_dict([1]), '"model" settings are not a mapping'),
])
def test_api_refuses_wrong_types_with_the_cli_messages(make, needle):
    with pytest.raises(RnnlabError) as info:
        make()
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_api_types_that_are_fine():
    assert TrainConfig(lr=1).lr == 1.0 and isinstance(TrainConfig(lr=1).lr, float)     # floats accept ints
    assert TrainConfig(seq_len=np.int64(16)).seq_len == 16
    from pathlib import Path
    assert TrainConfig(data=Path("my.txt")).data == "my.txt"


def test_api_and_cli_share_one_budget_rule(lab):
    from rnnlab.config import budget_overrides
    cli_cfg = json.loads((lab / "run" / "last" / "config.json").read_text())["train"]   # --max-steps 3 alone
    api = TrainConfig(max_steps=3)
    assert (cli_cfg["max_steps"], cli_cfg["max_minutes"]) == (api.max_steps, api.max_minutes) == (3, None)
    assert (TrainConfig(max_minutes=2).max_steps, TrainConfig(max_minutes=2).max_minutes) == (None, 2.0)
    assert (TrainConfig().max_steps, TrainConfig().max_minutes) == (1100, 10.0)
    assert (TrainConfig(max_steps=None).max_minutes, TrainConfig(max_minutes=None).max_steps) == (10.0, 1100)
    assert TrainConfig.from_dict(api.to_dict()) == api and api.replace(lr=0.1).max_minutes is None
    assert budget_overrides({"max_minutes": 5}) == {"max_minutes": 5, "max_steps": None}      # resume overrides
    assert budget_overrides({"lr": 0.1}) == {"lr": 0.1}


def test_sample_text_takes_keywords_or_a_config(lab):
    by_keywords = rnnlab.sample_text(lab / "run", prime="ROMEO:", length=20, seed=7, device="cpu")
    by_config = rnnlab.sample_text(lab / "run", SampleConfig(prime="ROMEO:", length=20, seed=7), device="cpu")
    assert by_keywords == by_config and by_keywords.startswith("ROMEO:")
    assert rnnlab.sample_text(lab / "run", SampleConfig(length=5, seed=1), length=20, seed=7, device="cpu") == \
        rnnlab.sample_text(lab / "run", length=20, seed=7, device="cpu")                  # keywords win
    with pytest.raises(RnnlabError, match="unknown sample setting"):
        rnnlab.sample_text(lab / "run", lenght=20)
