"""Each setting is declared once: flags, help texts, defaults and the resume rules come from the dataclass fields."""
import argparse
import dataclasses
import json
from dataclasses import dataclass
from typing import Optional

import pytest

import rnnlab
from rnnlab import settings
from rnnlab.config import LoopConfig, ModelConfig, SampleConfig, TrainConfig, budget_overrides
from rnnlab.errors import RnnlabError
from rnnlab.settings import add_flags, given, help_text, resumable, setting


@dataclass
class Toy:
    lr: float = setting(0.5, "learning rate", resumable=True)
    steps: Optional[int] = setting(None, "how long")
    name: str = setting("x", "a name (default: none of your business)")
    length: int = setting(3, "tokens", flag="-n", metavar="N")
    seed: int = setting(7, "seed")
    fast: bool = setting(False, "go fast")
    hidden_size: int = setting(0, "set by the program", flag="hidden_size")
    pick: str = setting("a", "one of a, b", choices=("a", "b"))


def _parser(cls=Toy, **kw):
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_flags(parser, cls, **kw)
    return parser


def test_flags_types_defaults_and_given():
    args = _parser().parse_args(["--lr", "1e-2", "-n", "5", "--fast", "--seed", "3"])
    assert given(args, Toy) == {"lr": 0.01, "length": 5, "fast": True, "seed": 3}      # the rest was not given
    assert Toy(**given(args, Toy)).name == "x"
    assert given(_parser().parse_args(["--length", "4", "--steps", "2"]), Toy) == {"length": 4, "steps": 2}
    with pytest.raises(argparse.ArgumentError):
        _parser().parse_args(["--seed", "-1"])                                           # argtypes.seed
    with pytest.raises(argparse.ArgumentError):
        _parser().parse_args(["--pick", "c"])
    with pytest.raises(SystemExit):
        _parser().parse_args(["--hidden-size", "3"])                                     # not a flag
    assert set(given(_parser(only=("lr", "fast")).parse_args(["--fast"]), Toy)) == {"fast"}
    with pytest.raises(SystemExit):
        _parser(skip=("lr",)).parse_args(["--lr", "1"])


def test_help_appends_the_default_once():
    assert help_text(Toy, "lr") == "learning rate (default 0.5)"
    assert help_text(Toy, "steps") == "how long"                     # None: nothing to show
    assert help_text(Toy, "name") == "a name (default: none of your business)"
    assert help_text(Toy, "fast") == "go fast"
    assert resumable(Toy) == frozenset({"lr"})


def test_a_field_without_setting_is_refused():
    @dataclass
    class Bare:
        x: int = 1
    with pytest.raises(TypeError, match="setting"):
        add_flags(argparse.ArgumentParser(), Bare)


def _train_help(capsys) -> str:
    from rnnlab import cli
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--help"])
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("cls", [ModelConfig, TrainConfig, SampleConfig])
def test_every_field_has_help(cls):
    for f in dataclasses.fields(cls):
        assert len(help_text(cls, f.name)) > 10, f.name


def test_every_train_and_model_setting_is_a_flag_of_train_help(capsys):
    text = _train_help(capsys)
    for cls in (ModelConfig, TrainConfig):
        for f in dataclasses.fields(cls):
            if f.name == "vocab_size":                  # set from the vocabulary, not a flag
                assert not settings.is_flag(f)
                continue
            spelling = settings.flag(f)
            assert f"{spelling} " in text, spelling
            assert "".join(help_text(cls, f.name).split()) in "".join(text.split()), f.name   # wrapped at hyphens


def test_default_budget_comes_from_the_class():
    @dataclass
    class EpochConfig(LoopConfig):
        DEFAULT_STEPS, DEFAULT_MINUTES, DEFAULT_EPOCHS = None, None, 10.0
    cfg = EpochConfig()
    assert (cfg.max_steps, cfg.max_minutes, cfg.max_epochs) == (None, None, 10.0)
    assert (EpochConfig(max_steps=50).max_epochs, EpochConfig(max_minutes=2).max_epochs) == (None, None)
    assert "the default budget is 10 epochs" in help_text(EpochConfig, "max_steps")
    assert "1100 steps or 10 minutes, whichever ends first" in help_text(TrainConfig, "max_steps")
    assert (TrainConfig().max_steps, TrainConfig().max_minutes, TrainConfig().max_epochs) == (1100, 10.0, None)
    assert (TrainConfig(max_epochs=2).max_steps, TrainConfig(max_epochs=2).max_minutes) == (None, None)
    assert budget_overrides({"max_steps": 5}, EpochConfig) == {"max_steps": 5, "max_minutes": None}
    with pytest.raises(RnnlabError, match="needs a budget"):
        EpochConfig(max_epochs=None)


def test_loop_config_holds_the_trainers_settings_only():
    loop = {f.name for f in dataclasses.fields(LoopConfig)}
    assert {"data", "tokenizer", "seq_len", "batch_size", "sample_chars", "backend", "init_from"}.isdisjoint(loop)
    assert {"optimizer", "lr", "max_steps", "seed", "device", "out", "tensorboard"} <= loop
    assert TrainConfig.SECTION == LoopConfig.SECTION == "train"


def test_resumable_is_what_resume_accepts(small_text, tmp_path):
    run = tmp_path / "r"
    rnnlab.train(ModelConfig(hidden=8, layers=1, embed=8), TrainConfig(
        data=str(small_text), seq_len=8, batch_size=2, max_steps=1, eval_every=1, sample_chars=0,
        out=str(run)), progress=False)
    saved = TrainConfig.from_dict(json.loads((run / "last" / "config.json").read_text())["train"])
    accepted = set()
    for f in dataclasses.fields(TrainConfig):
        overrides = {f.name: getattr(saved, f.name), "max_steps": 1}    # the budget stays spent: nothing trains
        with pytest.raises(RnnlabError) as info:
            rnnlab.resume(run, overrides, progress=False)
        if "cannot change" not in str(info.value):
            assert "already at step 1" in str(info.value), f.name
            accepted.add(f.name)
    # data and tokenizer may be given when they equal the run's own; out when it names the run itself
    assert accepted == resumable(TrainConfig) | {"data", "tokenizer", "out"}
