"""rnnlab prepare: a text encoded once in blocks into a memory-mapped token file, read by training."""
import json

import numpy as np
import pytest
import torch

from rnnlab import runs
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.text import prepare as prep
from rnnlab.text.corpus import load_corpus

TEXT = "Ünïcödé line one\nplain ascii line two\nçà et là, 3 mots\n" * 40


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.mark.parametrize("tokenizer", ["char", "byte", "word"])
def test_prepared_tokens_equal_the_in_memory_encoding(text_file, tmp_path, monkeypatch, tokenizer):
    monkeypatch.setattr(prep, "BLOCK", 7)                   # blocks cut inside characters, words and lines
    result = prep.prepare(str(text_file), tmp_path / "p", tokenizer, val_frac=0.2)
    prepared = load_corpus(str(tmp_path / "p"), tokenizer, 0.2)
    plain = load_corpus(str(text_file), tokenizer, 0.2)
    assert isinstance(prepared.train, np.memmap)
    np.testing.assert_array_equal(np.asarray(prepared.train), plain.train)
    np.testing.assert_array_equal(np.asarray(prepared.val), plain.val)
    assert prepared.vocab.to_dict() == plain.vocab.to_dict() and prepared.fingerprint == plain.fingerprint
    assert result["n_tokens"] == len(plain.train) + len(plain.val)


def test_training_from_a_prepared_corpus_equals_training_from_the_file(text_file, tmp_path):
    prep.prepare(str(text_file), tmp_path / "p", "char", val_frac=0.1)
    model = ModelConfig(hidden=16, layers=1, embed=8, dropout=0.0)
    weights = []
    for data, out in ((str(text_file), "a"), (str(tmp_path / "p"), "b")):
        cfg = TrainConfig(data=data, out=str(tmp_path / out), batch_size=4, seq_len=16, max_steps=6, eval_every=3,
                          sample_chars=0, seed=3)
        result = runs.train(model, cfg, progress=False, say=lambda m: None)
        weights.append(runs.load_run(result.run_dir, "cpu", which="last").model.state_dict())
        assert runs.evaluate_run(result.run_dir, device="cpu").n_tokens == len(load_corpus(data).val) - 1
    for name in weights[0]:
        torch.testing.assert_close(weights[0][name], weights[1][name], rtol=0, atol=0)


def test_a_large_plain_file_is_prepared_into_the_run(text_file, tmp_path, monkeypatch):
    monkeypatch.setattr(prep, "AUTO_PREPARE_BYTES", 1000)
    cfg = TrainConfig(data=str(text_file), out=str(tmp_path / "r"), batch_size=4, seq_len=16, max_steps=4,
                      eval_every=2, sample_chars=0)
    runs.train(ModelConfig(hidden=16, layers=1, embed=8), cfg, progress=False, say=lambda m: None)
    manifest = json.loads((tmp_path / "r" / "corpus" / "prepared.json").read_text())
    assert manifest["source"] == str(text_file.resolve())
    result = runs.resume(tmp_path / "r", {"max_steps": 6}, progress=False, say=lambda m: None)
    assert result.steps == 6
    text_file.write_text(TEXT + "more\n", encoding="utf-8")     # the text changed: refused, not read stale
    with pytest.raises(RnnlabError, match="changed"):
        runs.resume(tmp_path / "r", {"max_steps": 8}, progress=False, say=lambda m: None)


def test_bad_input_is_refused(text_file, tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"ok\n\xff\xfe")
    with pytest.raises(RnnlabError, match="not valid UTF-8"):
        prep.prepare(str(tmp_path / "bad.txt"), tmp_path / "x", "char")
    assert not (tmp_path / "x").exists()                         # nothing half-written
    prep.prepare(str(text_file), tmp_path / "p", "char")
    with pytest.raises(RnnlabError, match="not empty"):
        prep.prepare(str(text_file), tmp_path / "p", "char")
    with pytest.raises(RnnlabError, match="--tokenizer char"):
        load_corpus(str(tmp_path / "p"), "word", 0.1)
    with pytest.raises(RnnlabError, match="--val-frac 0.1"):
        load_corpus(str(tmp_path / "p"), "char", 0.2)
    tokens = tmp_path / "p" / "tokens.bin"
    tokens.write_bytes(tokens.read_bytes()[:10])
    with pytest.raises(RnnlabError, match="truncated"):
        load_corpus(str(tmp_path / "p"), "char", 0.1)


def test_the_command(text_file, tmp_path, capsys):
    from rnnlab import cli
    assert cli.main(["prepare", str(text_file), "--out", str(tmp_path / "p"), "--json", "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_tokens"] == len(TEXT) and result["mb_per_s"] > 0
    assert cli.main(["prepare", str(text_file), "--out", str(tmp_path / "p")]) == 2
    assert cli.main(["prepare", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "q")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "not empty" in err[0] and "no such data file" in err[1]
