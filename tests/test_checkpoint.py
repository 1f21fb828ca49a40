"""Checkpoints round-trip, and a damaged or foreign one is refused with a clear error."""
import json
import os

import pytest
import torch

from rnnlab.checkpoint import load_checkpoint, save_checkpoint, write_atomically
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.models.language_model import LanguageModel
from rnnlab.text.vocab import CharVocab


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    vocab = CharVocab.fit("hello world\n")
    model = LanguageModel(ModelConfig(vocab_size=vocab.size, hidden=8, layers=2, embed=4))
    save_checkpoint(tmp_path / "ck", model, TrainConfig(), vocab, {"fingerprint": "x"}, {"val_nats": 1.0}, {"step": 3})
    return tmp_path / "ck", model


def test_roundtrip_gives_identical_outputs(saved):
    path, model = saved
    ckpt = load_checkpoint(path)
    x = torch.tensor([[1, 2, 3]])
    model.eval()
    torch.testing.assert_close(ckpt.model(x)[0], model(x)[0], rtol=0, atol=0)
    assert ckpt.vocab.decode([0, 1]) == " \n"[::-1] or ckpt.vocab.size == 8
    assert ckpt.trainer_state(torch.device("cpu"))["step"] == 3


def test_truncated_weights_are_refused(saved):
    path, _ = saved
    f = path / "model.safetensors"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(RnnlabError, match="truncated or damaged"):
        load_checkpoint(path)


def test_other_format_version_is_refused(saved):
    path, _ = saved
    meta = json.loads((path / "config.json").read_text())
    meta["format_version"] = 99
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(RnnlabError, match="format 99"):
        load_checkpoint(path)


def test_shape_mismatch_is_refused(saved):
    path, _ = saved
    meta = json.loads((path / "config.json").read_text())
    meta["model"]["hidden"] = 9
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(RnnlabError, match="does not fit"):
        load_checkpoint(path)


def test_missing_and_foreign_directories(tmp_path):
    with pytest.raises(RnnlabError, match="no such run"):
        load_checkpoint(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RnnlabError, match="not an rnnlab run"):
        load_checkpoint(tmp_path / "empty")


def test_failed_write_leaves_the_old_checkpoint(tmp_path):
    target = tmp_path / "last"
    write_atomically(target, lambda d: (d / "a.txt").write_text("old"))

    def crash(d):
        (d / "a.txt").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomically(target, crash)
    assert (target / "a.txt").read_text() == "old"
    write_atomically(target, lambda d: (d / "a.txt").write_text("new"))
    assert (target / "a.txt").read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == [".last.tmp-%d" % os.getpid(), "last"] or \
        sorted(os.listdir(tmp_path)) == ["last"]
