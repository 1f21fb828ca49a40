"""rnnlab translate: attention masking, the packed encoder, greedy/beam search against enumeration, a reverse
task learned, sacrebleu on known strings, exact resume, the CLI's outputs and its bad-input errors."""
import itertools
import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rnnlab.cli import main
from rnnlab.models.attention import LuongAttention
from rnnlab.models.beam import beam_search, greedy
from rnnlab.models.encoder import Encoder, EncoderConfig
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig, token_losses
from rnnlab.tasks.translate_decode import bleu_chrf
from rnnlab.tasks.translate_text import JOIN, detokenize, tokenize



@pytest.fixture(autouse=True)
def _one_thread():
    """These models are tiny: a second thread only waits for a shared core."""
    torch.set_num_threads(1)


# ---------------------------------------------------------------------------- the model's parts


def test_attention_sums_to_one_over_words_and_is_zero_on_padding():
    torch.manual_seed(0)
    att = LuongAttention(6, 8, 5)
    memory, queries = torch.randn(3, 7, 8), torch.randn(3, 4, 6)
    lengths = torch.tensor([7, 3, 1])
    mask = torch.arange(7)[None] < lengths[:, None]
    h_tilde, a = att(queries, memory, att.keys(memory), mask)
    assert a.shape == (3, 4, 7) and h_tilde.shape == (3, 4, 5)
    torch.testing.assert_close(a.sum(-1), torch.ones(3, 4))
    assert (a[~mask[:, None, :].expand_as(a)] == 0).all()
    assert (a[2, :, 0] == 1).all()
    # the weights are the softmax of h_t^T W_a h̄_s over the real positions
    s = queries[1] @ att.W_a.weight @ memory[1, :3].T                          # (4, 3)
    torch.testing.assert_close(a[1, :, :3], torch.softmax(s, -1))


def test_packed_encoder_equals_unpacked_on_unpadded_rows():
    torch.manual_seed(0)
    cfg = EncoderConfig(kind="gru", vocab_size=20, embed=8, hidden=5, layers=2, input_dropout=0, dropout=0)
    packed = Encoder(cfg).eval()
    plain = Encoder(EncoderConfig(**{**cfg.to_dict(), "packed": False})).eval()
    plain.load_state_dict(packed.state_dict())
    lengths = torch.tensor([6, 3, 6, 1])
    tokens = torch.randint(2, 20, (4, 6)) * (torch.arange(6)[None] < lengths[:, None])
    a, b = packed(tokens, lengths), plain(tokens, lengths)
    full = lengths == 6
    torch.testing.assert_close(a.outputs[full], b.outputs[full])
    torch.testing.assert_close(a.last[full], b.last[full])
    for i in (1, 3):          # a padded row, packed, is that row run alone without its padding
        alone = plain(tokens[i:i + 1, :lengths[i]], lengths[i:i + 1])
        torch.testing.assert_close(a.outputs[i, :lengths[i]], alone.outputs[0])
        assert (a.outputs[i, lengths[i]:] == 0).all()
        torch.testing.assert_close(a.last[i], alone.last[0])


def _tiny(words=2, seed=0, scale=3.0, **kw) -> Seq2Seq:
    """A random model over <pad> <unk> <s> </s> + `words` tokens, weights scaled up so its distributions are peaked."""
    torch.manual_seed(seed)
    cfg = Seq2SeqConfig(src_vocab=4 + words, tgt_vocab=4 + words, embed=6, enc_hidden=5, dec_hidden=7, dropout=0.0,
                        **kw)
    model = Seq2Seq(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model


def _source(model, B=3, S=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([S, 2, 3][:B])
    src = torch.randint(4, model.cfg.src_vocab, (B, S), generator=g) * (torch.arange(S)[None] < lengths[:, None])
    return model.encode(src, lengths), lengths


def test_beam_of_one_is_greedy():
    for seed in range(4):
        model = _tiny(words=5, seed=seed, scale=1.5)
        memory, lengths = _source(model, seed=seed)
        limit = lengths + 3
        g, b = greedy(model, memory, limit), beam_search(model, memory, limit, beam=1)
        assert g.tokens == b.tokens
        for tokens, sg, sb in zip(g.tokens, g.scores, b.scores):
            assert sb == pytest.approx(sg / len(tokens), abs=1e-5)     # beam's score: normalised by |y|
        for x, y in zip(g.attention, b.attention):
            torch.testing.assert_close(x, y)


@torch.no_grad()
def _sequence_logp(model, memory, row, seq):
    """Σ log p of seq + EOS for one sentence, stepping the decoder as the searches do."""
    mem = memory.select(torch.tensor([row]))
    y, state, total = torch.tensor([model.cfg.bos]), mem.state, 0.0
    for tok in list(seq) + [model.cfg.eos]:
        logp, state, _ = model.step(y, state, mem)
        total += float(logp[0, tok])
        y = torch.tensor([tok])
    return total


def test_beam_search_finds_the_best_length_normalised_sequence():
    """score(y) = Σ log p(y_t) / |y| (EOS counted); with a beam wider than the number of hypotheses the search
    is exhaustive, so it must return the maximum over every sequence of up to max_len tokens."""
    model = _tiny(words=2, seed=4)
    memory, lengths = _source(model)
    max_len = 3
    first = greedy(model, memory, torch.full((3,), max_len))
    emit = [t for t in range(model.cfg.tgt_vocab) if t not in model.cfg.no_emit and t != model.cfg.eos]
    found = beam_search(model, memory, torch.full((3,), max_len), beam=64)
    narrow = beam_search(model, memory, torch.full((3,), max_len), beam=2)
    for row in range(3):
        scored = {seq: _sequence_logp(model, memory, row, seq) / (len(seq) + 1)
                  for n in range(max_len + 1) for seq in itertools.product(emit, repeat=n)}
        best = max(scored, key=scored.get)
        assert found.tokens[row] == list(best) + [model.cfg.eos]
        assert found.scores[row] == pytest.approx(scored[best], abs=1e-4)
        assert narrow.scores[row] <= scored[best] + 1e-6        # a narrow beam can only do as well
    assert first.tokens != found.tokens                         # (this model's greedy paths are not the best)


def test_a_reverse_task_is_learned_in_a_few_hundred_steps():
    torch.manual_seed(0)
    V, n = 10, 256
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(2, 6, (n,), generator=g)
    src = torch.randint(4, V, (n, 5), generator=g) * (torch.arange(5)[None] < lengths[:, None])
    tgt_out = torch.zeros(n, 6, dtype=torch.int64)
    for i in range(n):
        tgt_out[i, :lengths[i]] = src[i, :lengths[i]].flip(0)
        tgt_out[i, lengths[i]] = 3
    tgt_in = torch.cat([torch.full((n, 1), 2), tgt_out[:, :-1]], 1).masked_fill(
        torch.cat([torch.full((n, 1), 2), tgt_out[:, :-1]], 1) == 3, 0)
    model = Seq2Seq(Seq2SeqConfig(src_vocab=V, tgt_vocab=V, embed=16, enc_hidden=24, dec_hidden=32, dropout=0.0))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for step in range(150):
        idx = torch.randint(0, n, (32,), generator=g)
        logits, _ = model(src[idx], lengths[idx], tgt_in[idx])
        losses = token_losses(logits, tgt_out[idx])
        loss = losses.sum() / (tgt_out[idx] != 0).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    out = greedy(model, model.encode(src[:64], lengths[:64]), lengths[:64] + 2)
    right = sum(out.tokens[i] == tgt_out[i, :lengths[i] + 1].tolist() for i in range(64))
    assert right >= 58, f"{right}/64 reversed exactly"


# ---------------------------------------------------------------------------- text and scores


def test_tokenize_marks_joined_tokens_and_detokenize_restores_the_text():
    s = "A woman's hat, (red) and 3.5 saftig-grünes Gras."
    tokens = tokenize(s)
    assert tokens[:4] == ["A", "woman", JOIN + "'s", "hat"] and tokens[-1] == JOIN + "."
    assert "saftig-grünes" in tokens
    assert detokenize(tokens) == s
    assert detokenize(tokenize("  two   spaces ")) == "two spaces"


def test_bleu_by_sacrebleu_on_known_strings():
    assert bleu_chrf(["the cat sat on the mat"], ["the cat sat on the mat"])["bleu"] == pytest.approx(100.0)
    # one substitution in six words: p_n = 5/6, 4/5, 3/4, 2/3, BP = 1, BLEU = 100 (Π p_n)^(1/4)
    s = bleu_chrf(["a b c d e f"], ["a b c d e g"])
    assert s["bleu"] == pytest.approx(100 * (5 / 6 * 4 / 5 * 3 / 4 * 2 / 3) ** 0.25, abs=1e-6)
    # shorter hypothesis: BP = exp(1 - r/c) with r = 7, c = 6
    s = bleu_chrf(["a b c d e f"], ["a b c d e f g"])
    assert s["bleu"] == pytest.approx(100 * math.exp(1 - 7 / 6), abs=1e-6)
    assert "13a" in s["signature"]["bleu"] and "case:mixed" in s["signature"]["bleu"]
    assert 0 < bleu_chrf(["a man rides a bike ."], ["A man is riding a bicycle."])["chrf"] < 100


def test_token_losses_are_zero_on_padding():
    logits = torch.randn(2, 3, 7)
    targets = torch.tensor([[4, 3, 0], [5, 6, 3]])
    ce = token_losses(logits, targets, 0.1)
    assert (ce[0, 2] == 0) and (ce[:, :2] > 0).all()


# ---------------------------------------------------------------------------- end to end, on a fake Multi30k

DE = ["hund", "katze", "mann", "frau", "kind", "läuft", "sitzt", "rot", "blau", "groß"]
EN = ["dog", "cat", "man", "woman", "child", "runs", "sits", "red", "blue", "big"]


def _pairs(n, seed):
    rng = np.random.default_rng(seed)
    src, tgt = [], []
    for _ in range(n):
        ids = rng.integers(0, len(DE), rng.integers(2, 6))
        src.append(" ".join(DE[i] for i in ids) + " .")
        words = [EN[i] for i in ids[::-1]]
        tgt.append(" ".join([words[0].capitalize()] + words[1:]) + ".")
    return src, tgt


@pytest.fixture(scope="module")
def multi30k(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    folder = root / "multi30k"
    folder.mkdir()
    for stem, n, seed in (("train", 300, 0), ("val", 30, 1), ("test_2016_flickr", 20, 2)):
        src, tgt = _pairs(n, seed)
        (folder / f"{stem}.de").write_text("\n".join(src) + "\n")
        (folder / f"{stem}.en").write_text("\n".join(tgt) + "\n")
    return root


SMALL = ["--embed", "16", "--hidden", "16", "--dec-hidden", "32", "--batch-size", "32", "--lr", "0.01",
         "--warmup-steps", "1", "--eval-every", "10", "--no-progress", "--min-count", "1", "--device", "cpu"]


@pytest.fixture
def data_env(multi30k, monkeypatch):
    monkeypatch.setenv("RNNLAB_DATA", str(multi30k))
    return multi30k


@pytest.fixture(scope="module")
def run(multi30k, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNLAB_DATA", str(multi30k))
        out = str(tmp_path_factory.mktemp("runs") / "de-en")
        assert main(["translate", "train", "--data", "multi30k", "--src", "de", "--tgt", "en", "--out", out,
                     "--max-steps", "60", *SMALL]) == 0
    return out


def test_train_writes_a_run_with_bleu_rows(run):
    rows = [json.loads(x) for x in open(f"{run}/metrics.jsonl")]
    assert [r["step"] for r in rows] == [10, 20, 30, 40, 50, 60]
    assert all({"val_bleu", "val_chrf", "val_loss", "elapsed_s"} <= set(r) for r in rows)
    meta = json.load(open(f"{run}/best/config.json"))
    assert meta["task"] == "translate" and meta["data"]["test_name"] == "test_2016_flickr"
    assert (tmp := __import__("pathlib").Path(run)) and (tmp / "loss.png").exists() and (tmp / "last").is_dir()


def test_eval_json_keys(run, data_env, capsys):
    assert main(["translate", "eval", run, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"bleu", "chrf", "n", "test"} <= set(out)
    assert out["n"] == 20 and out["test"] == "test_2016_flickr" and out["beam"] == 5
    assert 0 <= out["bleu"] <= 100 and 0 <= out["chrf"] <= 100


def test_run_and_attention(run, data_env, tmp_path, capsys):
    assert main(["translate", "run", run, "hund läuft .", "--beam", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out["translation"], str) and out["tokens"]
    png = tmp_path / "attn.png"
    assert main(["translate", "attention", run, "hund läuft .", "--out", str(png), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    a = np.array(out["attention"])
    assert png.stat().st_size > 0 and a.shape == (len(out["tokens"]) + 1, 3)
    np.testing.assert_allclose(a.sum(1), 1, atol=1e-3)


def test_resume_equals_one_run(data_env, tmp_path):
    common = ["--data", "multi30k", *SMALL, "--seed", "3", "--lr-decay-steps", "20"]
    assert main(["translate", "train", *common, "--out", str(tmp_path / "one"), "--max-steps", "20"]) == 0
    assert main(["translate", "train", *common, "--out", str(tmp_path / "two"), "--max-steps", "10"]) == 0
    assert main(["translate", "train", "--resume", str(tmp_path / "two"), "--max-steps", "20", "--no-progress"]) == 0
    a, b = (load_file(str(tmp_path / r / "last" / "model.safetensors")) for r in ("one", "two"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_bad_input_is_one_line_exit_2(run, data_env, tmp_path, capsys):
    a, b = tmp_path / "a.de", tmp_path / "b.en"
    a.write_text("eins\nzwei\ndrei\n")
    b.write_text("one\ntwo\n")
    err = _error(capsys, ["translate", "train", "--src-file", str(a), "--tgt-file", str(b),
                          "--out", str(tmp_path / "x")])
    assert "3 lines" in err and "2" in err
    b.write_text("one\n\nthree\n")
    assert "line 2 is empty" in _error(capsys, ["translate", "train", "--src-file", str(a), "--tgt-file", str(b),
                                                "--out", str(tmp_path / "y")])
    err = _error(capsys, ["translate", "train", "--data", "multi30k", "--src", "xx", "--out", str(tmp_path / "z")])
    assert "'xx'" in err and "de, en" in err
    assert "empty" in _error(capsys, ["translate", "run", run, "   "])
    assert "--beam" in _error(capsys, ["translate", "run", run, "hund", "--beam", "0"])
    assert "cannot change --hidden" in _error(capsys, ["translate", "train", "--resume", run, "--hidden", "32"])
    assert not any((tmp_path / d).exists() for d in ("x", "y", "z"))
