"""`rnnlab tag train|eval|predict` end to end on small files: outputs, resume, and bad input (exit 2, one line)."""
import json

import pytest
from safetensors.torch import load_file

from rnnlab.cli import main
from tests.test_tag_model import CITIES, synthetic

SMALL = ["--embed", "16", "--hidden", "16", "--char-embed", "8", "--char-features", "16", "--batch-size", "16",
         "--lr", "0.01", "--warmup-steps", "1", "--eval-every", "10", "--no-progress"]


def _write(path, tagged):
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(ws, ts))
                                for ws, ts in zip(tagged.tokens, tagged.tags)) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("conll")
    return {"train": _write(d / "train.conll", synthetic(160, 1)),
            "val": _write(d / "dev.conll", synthetic(40, 2, names=["Marta", "Nils", "Olga", "Pavel"])),
            "test": _write(d / "test.conll", synthetic(40, 3, names=["Quinn", "Rosa", "Sven"], cities=CITIES)),
            "dir": d}


@pytest.fixture(scope="module")
def run(files):
    out = str(files["dir"] / "run")
    code = main(["tag", "train", "--data", files["train"], "--val", files["val"], "--test", files["test"],
                 "--out", out, "--max-steps", "40", "--crf", *SMALL])
    assert code == 0
    return out


def test_train_writes_a_run_and_scores_best(run, capsys):
    rows = [json.loads(x) for x in open(f"{run}/metrics.jsonl")]
    assert [r["step"] for r in rows] == [10, 20, 30, 40] and all("val_f1" in r for r in rows)
    meta = json.load(open(f"{run}/best/config.json"))
    assert meta["task"] == "tag" and meta["model"]["crf"] is True and meta["train"]["max_steps"] == 40


def test_eval_json_is_the_test_split(run, files, capsys):
    assert main(["tag", "eval", run, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"accuracy", "precision", "recall", "f1", "per_type", "n_sentences"} <= set(out)
    assert out["n_sentences"] == 40 and out["split"] == "test" and set(out["per_type"]) == {"person", "location"}
    assert out["f1"] > 0.8
    assert main(["tag", "eval", run, "--json", "--data", files["val"]]) == 0
    assert json.loads(capsys.readouterr().out)["split"] == files["val"]


def test_predict_lists_tags_and_entities(run, capsys):
    assert main(["tag", "predict", run, "i met Quinn Rosa in Lima today", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tokens"] == ["i", "met", "Quinn", "Rosa", "in", "Lima", "today"]
    assert {"text": "Lima", "type": "location", "start": 5, "end": 6} in out["entities"]
    assert main(["tag", "predict", run, "i met Quinn in Lima today"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("i/O met/O Quinn/B-person") and "entities: " in text


def test_resume_equals_one_run(files, tmp_path):
    common = ["--data", files["train"], "--val", files["val"], *SMALL, "--seed", "3"]
    assert main(["tag", "train", *common, "--out", str(tmp_path / "one"), "--max-steps", "20",
                 "--lr-decay-steps", "20"]) == 0
    assert main(["tag", "train", *common, "--out", str(tmp_path / "two"), "--max-steps", "10",
                 "--lr-decay-steps", "20"]) == 0
    assert main(["tag", "train", "--resume", str(tmp_path / "two"), "--max-steps", "20", "--no-progress"]) == 0
    a, b = (load_file(str(tmp_path / r / "last" / "model.safetensors")) for r in ("one", "two"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_bad_input_is_one_line_exit_2(run, files, tmp_path, capsys):
    bad = tmp_path / "bad.conll"
    bad.write_text("a\tO\nb\n")
    assert "line 2" in _error(capsys, ["tag", "train", "--data", str(bad), "--out", str(tmp_path / "x")])
    (tmp_path / "empty.conll").write_text("")
    assert "empty" in _error(capsys, ["tag", "train", "--data", str(tmp_path / "empty.conll"),
                                      "--out", str(tmp_path / "y")])
    other = tmp_path / "other.conll"
    other.write_text("Anna\tB-PER\nsings\tO\n")
    assert "never saw: 'B-PER'" in _error(capsys, ["tag", "eval", run, "--data", str(other)])
    assert "empty" in _error(capsys, ["tag", "predict", run, "   "])
    assert "not an rnnlab run" in _error(capsys, ["tag", "eval", str(tmp_path)])
    assert "--char" in _error(capsys, ["tag", "train", "--data", files["train"], "--char", "rnn",
                                       "--out", str(tmp_path / "z")])
    assert not (tmp_path / "z").exists()
    assert "cannot change --hidden" in _error(capsys, ["tag", "train", "--resume", run, "--hidden", "32"])


def test_plain_tags_train_and_eval(files, tmp_path, capsys):
    d = synthetic(60, 5)
    pos = _write(tmp_path / "pos.conll", type(d)(d.tokens, [["PRP", "VBD"] + ["NNP"] * (len(s) - 5) + ["IN", "NNP", "NN"]
                                                            for s in d.tokens]))
    assert main(["tag", "train", "--data", pos, "--out", str(tmp_path / "pos"), "--max-steps", "20", *SMALL]) == 0
    assert main(["tag", "eval", str(tmp_path / "pos"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scheme"] == "plain" and out["split"] == "val" and out["n_sentences"] == 6 and out["accuracy"] > 0.5
    assert main(["tag", "predict", str(tmp_path / "pos"), "i met Anna in Oslo"]) == 0
    assert "entities" not in capsys.readouterr().out


def _word_lm(tmp_path, words, embed, hidden):
    """A saved word language model over `words` (cased spellings, as rnnlab train --tokenizer word keeps them)."""
    import torch
    from rnnlab.checkpoint import save_checkpoint
    from rnnlab.config import ModelConfig
    from rnnlab.models.language_model import LanguageModel
    from rnnlab.text.vocab import WordVocab
    vocab = WordVocab(["<unk>", "\n", *sorted(words)])
    torch.manual_seed(0)
    lm = LanguageModel(ModelConfig(vocab_size=vocab.size, embed=embed, hidden=hidden, layers=1, dropout=0.0)).eval()
    save_checkpoint(tmp_path / "lm" / "best", lm, {"task": "lm", "model": lm.cfg.to_dict(), "vocab": vocab.to_dict(),
                                                   "train": {}, "data": {}}, {"step": 0})
    return tmp_path / "lm", lm, vocab


def test_encoder_from_a_word_language_model_starts_the_tagger(files, tmp_path, capsys):
    """Rows matched by the tagger's normalised form ("Met" -> "met"), the LM's W_ih in the embedding's columns
    and zeros in the character and shape columns: at step 0 the forward direction computes what the LM did."""
    import torch
    from rnnlab.tasks.tag import TagTask
    from rnnlab.tasks.tag_config import TagConfig
    from rnnlab.tasks.tag_data import Vocabs, normalise
    from rnnlab.text.conll import read_conll
    run, lm, lm_vocab = _word_lm(tmp_path, ["Met", "in", "today", "zzz"], embed=16, hidden=16)
    train = read_conll(files["train"])
    cfg = TagConfig(encoder_from=str(run), char_embed=8, char_features=16, max_steps=1)
    vocabs = Vocabs.fit(train, 1)
    task = TagTask(cfg, vocabs, train, train)
    said = []
    cfg.start_encoder(task.model.encoder, vocabs.words.tokens, "word", said.append, key=normalise)
    enc = task.model.encoder.eval()
    assert (enc.cfg.embed, enc.cfg.hidden) == (16, 16) and "4 of" in said[0]         # met, in, today and <unk>
    met = vocabs.words.index["met"]
    assert torch.equal(enc.embed.weight[met], lm.embed.weight[lm_vocab.words.index("Met")])
    w_ih = enc.recurrent_parameters(0)["weight_ih"]                      # (4H, E + F + S)
    assert torch.equal(w_ih[:, :16], lm.recurrent.layers[0].weight_ih_l0) and not w_ih[:, 16:].any()
    ids = torch.tensor([[met, vocabs.words.index["in"], vocabs.words.index["today"]]])
    extra = torch.randn(1, 3, w_ih.shape[1] - 16)                       # any character / shape features
    lm_out, _ = lm.recurrent(lm.embed(torch.tensor([[lm_vocab.words.index(w) for w in ("Met", "in", "today")]])))
    torch.testing.assert_close(enc(ids, torch.tensor([3]), extra).outputs[..., :16], lm_out, rtol=1e-5, atol=1e-6)


def test_tag_train_with_embeddings_and_encoder_from(files, tmp_path, capsys):
    vec = tmp_path / "vec.txt"
    vec.write_text("Lima 1 0 0 0\nin 0 1 0 0\n2017 0 0 1 0\n")
    small = SMALL[2:]                                                   # without --embed 16: the vectors' width
    out = str(tmp_path / "emb")
    assert main(["tag", "train", "--data", files["train"], "--val", files["val"], "--out", out, "--max-steps", "2",
                 "--embeddings", str(vec), "--freeze-embeddings", *small]) == 0
    assert "embeddings: 2 of" in capsys.readouterr().err                # Lima -> lima and in; 2017 is not a word here
    weights = load_file(f"{out}/last/model.safetensors")
    assert weights["encoder.embed.weight"].shape[1] == 4
    run, _, _ = _word_lm(tmp_path, ["Met", "in"], embed=16, hidden=16)
    assert main(["tag", "train", "--data", files["train"], "--val", files["val"], "--out", str(tmp_path / "lm-run"),
                 "--max-steps", "2", "--encoder-from", str(run), *SMALL]) == 0
    assert "encoder from" in capsys.readouterr().err
    assert main(["tag", "train", "--data", files["train"], "--out", str(tmp_path / "bad"), "--encoder-from", str(run),
                 "--hidden", "32", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--hidden 32 differs from --encoder-from's 16" in err and len(err.splitlines()) == 1
