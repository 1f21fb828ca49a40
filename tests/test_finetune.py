"""Fine-tuning (`train --init-from RUN`): RUN's weights, its vocabulary extended for the new text's symbols."""
import json

import pytest
import torch

import rnnlab
from rnnlab import checkpoint, cli, finetune
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.models.language_model import LanguageModel

from .conftest import SHAKESPEARE

TINY = dict(seq_len=16, batch_size=4, max_steps=5, max_minutes=None, sample_chars=0)
FLAGS = ["--batch-size", 4, "--seq-len", 16, "--max-steps", 5, "--sample-chars", 0, "--no-progress"]


@pytest.fixture
def texts(tmp_path):
    old = SHAKESPEARE.read_text()[:4000]
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(old)
    b.write_text(old[:3000].replace("e", "é") + "\nÄÖÜ 123\n")        # 'é' 'Ä' 'Ö' 'Ü' '1' '2' '3' are new
    return a, b


def _base_run(tmp_path, text, embed=8, tokenizer="char"):
    out = tmp_path / f"base-{embed}-{tokenizer}"
    rnnlab.train(ModelConfig(hidden=16, layers=1, embed=embed, dropout=0.0),
                 TrainConfig(data=str(text), out=str(out), tokenizer=tokenizer, **TINY), progress=False)
    return out


@pytest.mark.parametrize("embed", [8, 0])     # 0: one-hot input, so the first layer's input columns grow too
def test_step_0_weights_are_runs_and_new_symbols_get_fresh_rows(tmp_path, texts, embed):
    run = _base_run(tmp_path, texts[0], embed)
    said = []
    base, model_cfg, cfg = finetune.prepare(None, TrainConfig(data=str(texts[1]), init_from=str(run), **TINY))
    corpus, model = finetune.corpus_and_model(base, model_cfg, cfg, said.append)
    V, V2 = base.vocab.size, corpus.vocab.size
    assert corpus.vocab.chars[:V] == base.vocab.chars and sorted(corpus.vocab.chars[V:]) == sorted("éÄÖÜ123")
    assert "7 new symbol(s)" in said[0]
    torch.manual_seed(cfg.seed)
    fresh = LanguageModel(model_cfg.replace(vocab_size=V2)).state_dict()
    old, new = base.model.state_dict(), model.state_dict()
    grown = 0
    for name, w in old.items():
        corner = tuple(slice(0, n) for n in w.shape)
        assert torch.equal(new[name][corner], w), name                     # every old symbol's weights are RUN's
        if new[name].shape != w.shape:
            grown += 1
            rest = torch.ones_like(new[name], dtype=torch.bool)
            rest[corner] = False
            assert torch.equal(new[name][rest], fresh[name][rest]), name    # new rows: a fresh model's init
    assert grown == 3      # head weight and bias, and the embedding (or, one-hot, the first layer's W_ih)


def test_fine_tuning_trains_and_records_its_origin(tmp_path, texts):
    run = _base_run(tmp_path, texts[0])
    out = tmp_path / "ft"
    result = rnnlab.train(None, TrainConfig(data=str(texts[1]), init_from=str(run), out=str(out), **TINY),
                          progress=False)
    assert result.steps == 5
    saved = json.loads((out / "best" / "config.json").read_text())
    assert saved["train"]["init_from"] == str((run / "best").resolve())
    assert saved["model"]["hidden"] == 16
    assert saved["model"]["vocab_size"] == checkpoint.load_checkpoint(run).vocab.size + 7
    assert rnnlab.sample_text(out, rnnlab.SampleConfig(prime="Ä", length=5, seed=1)).startswith("Ä")


def test_cli_refuses_another_tokenizer_or_model_and_takes_runs_by_default(tmp_path, texts, capsys):
    run = _base_run(tmp_path, texts[0], tokenizer="word")
    for bad, needle in ((["--tokenizer", "char"], "trained with --tokenizer word"), (["--hidden", 32], "--hidden 32")):
        capsys.readouterr()
        code = cli.main(["train", "--init-from", str(run), "--data", str(texts[1]), "--out", str(tmp_path / "x"),
                         *map(str, bad + FLAGS)])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "x").exists()
    code = cli.main(["train", "--init-from", str(run), "--data", str(texts[1]), "--out", str(tmp_path / "ok"),
                     "--dropout", "0.1", *map(str, FLAGS)])
    saved = json.loads((tmp_path / "ok" / "best" / "config.json").read_text())
    assert code == 0 and saved["train"]["tokenizer"] == "word" and saved["model"]["dropout"] == 0.1
