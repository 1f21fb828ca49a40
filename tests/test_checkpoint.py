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
    sections = {"task": "lm", "model": model.cfg.to_dict(), "vocab": vocab.to_dict(), "train": TrainConfig().to_dict(),
                "data": {"fingerprint": "x"}}
    save_checkpoint(tmp_path / "ck", model, sections, {"val_nats": 1.0}, {"step": 3})
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


def test_saved_step_reads_the_checkpoint_or_its_copy_of_a_crash_mid_swap(saved, tmp_path):
    from rnnlab.checkpoint import saved_step
    path, model = saved
    assert saved_step(tmp_path, "ck") is None                   # its metrics have no step
    sections = {"model": model.cfg.to_dict(), "vocab": CharVocab.fit("ab").to_dict(), "train": TrainConfig().to_dict(),
                "data": {}}
    save_checkpoint(tmp_path / ".last.old", model, sections, {"step": 7})
    assert saved_step(tmp_path, "last") == 7 and saved_step(tmp_path, "best") is None


@pytest.mark.parametrize("writer, bar", [("save_file", "--no-progress"), ("torch.save", "--json")])
def test_a_full_disk_at_a_checkpoint_is_one_line_leaves_no_row_and_keeps_the_previous_one(
        small_text, tmp_path, capsys, monkeypatch, writer, bar):
    import errno

    import rnnlab
    import rnnlab.checkpoint as ck
    from rnnlab import cli
    real, calls = (ck.save_file if writer == "save_file" else torch.save), []

    def failing(*args, **kwargs):
        calls.append(writer)
        if len(calls) > 2:                                      # the first evaluation's best/ and last/ succeed
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)
    monkeypatch.setattr(*((ck, "save_file") if writer == "save_file" else (ck.torch, "save")), failing)
    run = tmp_path / "r"
    code = cli.main(["train", "--data", str(small_text), "--max-steps", "10", "--eval-every", "5", "--log-every", "5",
                     "--hidden", "16", "--layers", "1", "--embed", "8", "--batch-size", "4", "--seq-len", "16",
                     "--sample-chars", "0", "--dtype", "float32", bar, "--out", str(run)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and [line for line in err if "error" in line] == err[-1:]
    assert err[-1].startswith("rnnlab train: error: ")         # on a line of its own, after the progress bar
    assert "could not save" in err[-1] and "at step 10: No space left on device" in err[-1]
    assert f"--resume {run}" in err[-1] and "still holds step 5" in err[-1]
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [5]
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []   # no temporary dir, no lock
    assert load_checkpoint(run, prefer="last").meta["metrics"]["step"] == 5
    monkeypatch.undo()                                          # space freed: the run goes on from step 5
    assert rnnlab.resume(run, {"max_steps": 10}, progress=False).steps == 10
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [5, 10]
