"""Shared pieces for labelled sequences: readers, vocabularies, batches, encoder, pooling, vectors, neighbours."""
import json

import numpy as np
import pytest
import torch
from torch import nn

from rnnlab.embed import load_table, neighbors
from rnnlab.errors import RnnlabError
from rnnlab.models.encoder import Encoder, EncoderConfig
from rnnlab.models.pooling import Pooling, masked_max, masked_mean
from rnnlab.models.pretrained import load_pretrained, read_vectors
from rnnlab.tasks.batches import EpochPlan, eval_batches, pad_batch
from rnnlab.text.label_vocab import PAD, UNK, LabelSet, TokenVocab
from rnnlab.text.labelled import clean_str, load_labelled, tokenize


def _batch(lengths, V=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    seqs = [torch.randint(2, V, (n,), generator=g).numpy() for n in lengths]
    return seqs, pad_batch(seqs)


def _encoder(**kw):
    torch.manual_seed(0)
    cfg = dict(vocab_size=30, embed=6, hidden=5, layers=2, input_dropout=0.0, dropout=0.0)
    cfg.update(kw)
    return Encoder(EncoderConfig(**cfg)).eval()


# --- text ---------------------------------------------------------------------------------------------------

def test_tokenizers():
    assert tokenize("It's a GREAT film, isn't it?") == ["it's", "a", "great", "film", ",", "isn't", "it", "?"]
    assert clean_str("It's a film (really)!") == "it 's a film ( really ) !"
    assert tokenize("don't go", "kim") == ["do", "n't", "go"]
    assert tokenize("a  b", "char") == ["a", " ", "b"]


def test_readers(tmp_path):
    csv = tmp_path / "r.csv"
    csv.write_text('label,text\npos,"good, really"\nneg,bad\n')
    d = load_labelled(str(csv))
    assert d.texts == ["good, really", "bad"] and d.labels == ["pos", "neg"]
    with pytest.raises(RnnlabError, match="no column 'review'.*'label', 'text'"):
        load_labelled(str(csv), text_col="review")
    tab = tmp_path / "r.txt"
    tab.write_text("1\tfine\n\n0\tpoor film\n")
    assert load_labelled(str(tab)).labels == ["1", "0"]
    tab.write_text("1\tfine\n1\tgood\n")
    with pytest.raises(RnnlabError, match="one class"):
        load_labelled(str(tab))
    tab.write_text("  \n")
    with pytest.raises(RnnlabError, match="empty"):
        load_labelled(str(tab))
    tab.write_text("1 fine\n")
    with pytest.raises(RnnlabError, match="line 1 has no tab"):
        load_labelled(str(tab))


def test_rt_polarity_reads_every_line():
    from rnnlab.text.shared_data import find_folder
    if find_folder("rt-polarity") is None:
        pytest.skip("the shared rt-polarity folder is not here")
    d = load_labelled("rt-polarity")
    assert len(d) == 10662 and d.labels.count("pos") == 5331


def test_vocabularies_from_training_tokens_only():
    v = TokenVocab.fit([["a", "b", "a"], ["c", "a", "b"]], min_count=2)
    assert v.tokens == ["<pad>", "<unk>", "a", "b"] and (PAD, UNK) == (0, 1)
    assert v.encode(["b", "zzz", "a"]).tolist() == [3, UNK, 2]
    assert TokenVocab.from_dict(v.to_dict()).tokens == v.tokens
    labels = LabelSet.fit(["pos", "neg", "pos"])
    assert labels.names == ["neg", "pos"] and labels.encode(["pos"]).tolist() == [1]
    with pytest.raises(RnnlabError, match="never saw: 'neutral'"):
        labels.encode(["neutral", "pos"])


# --- batches ------------------------------------------------------------------------------------------------

def test_pad_batch_lengths_and_mask():
    b = pad_batch([np.array([5, 6, 7]), np.array([8])])
    assert b.tokens.tolist() == [[5, 6, 7], [8, 0, 0]] and b.lengths.tolist() == [3, 1]
    assert b.mask.tolist() == [[True, True, True], [True, False, False]]
    assert pad_batch([np.array([5])], width=4).tokens.shape == (1, 4)


def test_bucketing_covers_every_example_once_per_epoch():
    lengths = np.random.default_rng(0).integers(1, 60, size=1003)
    plan = EpochPlan(lengths, 32, seed=7)
    for epoch in range(3):
        seen = np.concatenate([plan.indices(epoch * plan.steps_per_epoch + k) for k in range(plan.steps_per_epoch)])
        assert np.array_equal(np.sort(seen), np.arange(1003))
    again = EpochPlan(lengths, 32, seed=7)
    assert np.array_equal(again.indices(40), plan.indices(40))          # a pure function of (seed, step)
    assert not np.array_equal(plan.indices(0), plan.indices(plan.steps_per_epoch))   # epochs differ
    shuffled = EpochPlan(lengths, 32, seed=7, mode="shuffle")
    pad = lambda p: sum(lengths[p.indices(k)].max() * len(p.indices(k)) - lengths[p.indices(k)].sum()   # noqa: E731
                        for k in range(p.steps_per_epoch))
    assert pad(plan) < 0.1 * pad(shuffled)                               # buckets hold similar lengths
    assert sorted(np.concatenate(eval_batches(lengths, 100)).tolist()) == list(range(1003))


# --- encoder --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_packed_equals_each_sentence_alone(kind):
    enc = _encoder(kind=kind)
    seqs, b = _batch([7, 3, 5, 1])
    out = enc(b.tokens, b.lengths)
    for i, s in enumerate(seqs):
        alone = enc(torch.from_numpy(s)[None], torch.tensor([len(s)]))
        torch.testing.assert_close(out.outputs[i, :len(s)], alone.outputs[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(out.last[i], alone.last[0], rtol=1e-5, atol=1e-6)
        assert out.outputs[i, len(s):].abs().sum() == 0                  # padding is never computed
    one = _encoder(kind=kind, layers=1)(b.tokens, b.lengths)
    padded = _encoder(kind=kind, layers=1, packed=False)(b.tokens, b.lengths)   # padding computed too:
    H = enc.cfg.hidden                                                  # the forward direction still agrees
    for i, s in enumerate(seqs):
        torch.testing.assert_close(padded.outputs[i, :len(s), :H], one.outputs[i, :len(s), :H], rtol=1e-5, atol=1e-6)
    assert (padded.outputs[0, :, H:] - one.outputs[0, :, H:]).abs().max() < 1e-6    # the longest row has no padding
    assert (padded.outputs[1, :3, H:] - one.outputs[1, :3, H:]).abs().max() > 1e-4  # the backward one read padding


def test_bidirectional_encoder_equals_nn_lstm_with_copied_weights():
    enc = _encoder(layers=2)
    ref = nn.LSTM(6, 5, num_layers=2, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for k in range(2):
            for reverse in (False, True):
                for name, p in enc.recurrent_parameters(k, reverse).items():
                    getattr(ref, f"{name}_l{k}{'_reverse' if reverse else ''}").copy_(p)
    tokens = torch.randint(2, 30, (3, 8))
    out = enc(tokens, torch.tensor([8, 8, 8]))
    y, (h, _) = ref(enc.embed(tokens))
    torch.testing.assert_close(out.outputs, y, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.last, torch.cat([h[2], h[3]], -1), rtol=1e-5, atol=1e-6)


def test_weight_drop_is_recurrent_dropout_only_in_training():
    enc = _encoder(weight_drop=0.5)
    _, b = _batch([6, 4])
    torch.manual_seed(1)
    enc.train()
    train_out = enc(b.tokens, b.lengths).outputs
    train_out.sum().backward()
    assert enc.layers[0].weight_hh_l0.grad.abs().sum() > 0                # the raw W_hh learns
    enc.eval()
    eval_out = enc(b.tokens, b.lengths).outputs
    torch.testing.assert_close(eval_out, _encoder()(b.tokens, b.lengths).outputs)   # eval: no dropout at all
    assert (train_out - eval_out).abs().max() > 1e-3


def test_word_and_embedding_dropout_change_training_only():
    enc = _encoder(word_dropout=0.5, embed_dropout=0.5)
    tokens = torch.randint(2, 30, (4, 9))
    enc.train()
    torch.manual_seed(0)
    assert not torch.equal(enc.embed_tokens(tokens), enc.embed.weight[tokens])
    enc.eval()
    assert torch.equal(enc.embed_tokens(tokens), enc.embed.weight[tokens])


# --- pooling --------------------------------------------------------------------------------------------------

def test_pooling_ignores_padding():
    x = torch.randn(2, 5, 3)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    noisy = x.clone()
    noisy[0, 3:] = 100.0                                                 # garbage where there is padding
    torch.testing.assert_close(masked_mean(noisy, mask)[0], x[0, :3].mean(0))
    torch.testing.assert_close(masked_max(noisy, mask)[0], x[0, :3].amax(0))
    pool = Pooling(("max", "mean", "attention", "last"), 3)
    last = torch.randn(2, 3)
    a, b = pool(x, mask, last), pool(noisy, mask, last)
    torch.testing.assert_close(a, b)
    assert a.shape == (2, 12)
    w = pool.attention.weights(noisy, mask)
    torch.testing.assert_close(w.sum(1), torch.ones(2))
    assert w[0, 3:].abs().sum() == 0
    with pytest.raises(RnnlabError, match="unknown pooling median"):
        Pooling(("median",), 3)


# --- vectors and neighbours -----------------------------------------------------------------------------------

def _vectors(tmp_path, header=True):
    f = tmp_path / "vec.txt"
    rows = ["frog 1 0 0", "toad 0.9 0.1 0", "frogs 0.95 0 0.05", "car 0 0 1", "bus 0.1 0 0.9"]
    f.write_text(("5 3\n" if header else "") + "\n".join(rows) + "\n")
    return f


def test_neighbors_on_a_hand_made_vectors_file(tmp_path):
    tokens, table = load_table(_vectors(tmp_path))
    assert tokens == ["frog", "toad", "frogs", "car", "bus"] and table.shape == (5, 3)
    found = neighbors(tokens, table, "frog", k=2)
    assert [t for t, _ in found] == ["frogs", "toad"]
    assert found[0][1] == pytest.approx(0.95 / np.sqrt(0.95 ** 2 + 0.05 ** 2), rel=1e-6)
    with pytest.raises(RnnlabError, match="did you mean 'frog'"):
        neighbors(tokens, table, "frig")


def test_vectors_file_rows_of_different_widths_are_refused(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("a 1 2 3\nb 1 2\n")
    with pytest.raises(RnnlabError, match="line 2 has 2 numbers, the first row 3"):
        read_vectors(f)


def test_pretrained_rows_copied_by_token_and_counted(tmp_path):
    emb = nn.Embedding(5, 3)
    before = emb.weight.detach().clone()
    said = []
    info = load_pretrained(emb, ["<pad>", "<unk>", "toad", "Frog", "zebra"], _vectors(tmp_path, header=False),
                           freeze=True, say=said.append)
    assert info["found"] == 2 and info["missing"] == 1 and not emb.weight.requires_grad
    assert emb.weight[2].tolist() == pytest.approx([0.9, 0.1, 0.0]) and emb.weight[3].tolist() == [1, 0, 0]
    assert torch.equal(emb.weight[4], before[4]) and "2 of 3 words found" in said[0]


# --- --encoder-from and neighbours of a language-model run ----------------------------------------------------

def _lm_run(tmp_path):
    from rnnlab.checkpoint import save_checkpoint
    from rnnlab.config import ModelConfig
    from rnnlab.models.language_model import LanguageModel
    from rnnlab.text.vocab import WordVocab
    vocab = WordVocab(["<unk>", "\n", "bad", "film", "good"])
    torch.manual_seed(0)
    lm = LanguageModel(ModelConfig(vocab_size=vocab.size, embed=6, hidden=5, layers=2, dropout=0.0)).eval()
    save_checkpoint(tmp_path / "lm" / "best", lm, {"task": "lm", "model": lm.cfg.to_dict(), "vocab": vocab.to_dict(),
                                                   "train": {}, "data": {}}, {"step": 0})
    return tmp_path / "lm", lm


def test_encoder_from_language_model_copies_rows_and_forward_layers(tmp_path):
    from rnnlab.tasks.encoder_from import init_encoder_from, lm_encoder_settings
    run, lm = _lm_run(tmp_path)
    s = lm_encoder_settings(run)
    assert (s["kind"], s["embed"], s["hidden"], s["layers"]) == ("lstm", 6, 5, 2)
    tokens = ["<pad>", "<unk>", "good", "film", "zebra"]
    enc = Encoder(EncoderConfig(vocab_size=5, embed=6, hidden=5, layers=2, input_dropout=0.0, dropout=0.0)).eval()
    zebra = enc.embed.weight[4].detach().clone()
    said = []
    info = init_encoder_from(enc, tokens, "word", run, say=said.append)
    assert info["rows_matched"] == 3 and "3 of 4 embedding rows matched" in said[0]
    assert torch.equal(enc.embed.weight[2], lm.embed.weight[4]) and torch.equal(enc.embed.weight[4], zebra)
    ids = torch.tensor([[2, 3, 1]])                                     # good film <unk>
    lm_out, _ = lm.recurrent(lm.embed(torch.tensor([[4, 3, 0]])))       # the same words in the LM's ids
    ours = enc(ids, torch.tensor([3])).outputs[..., :5]                # the forward direction computes what it did
    torch.testing.assert_close(ours, lm_out, rtol=1e-5, atol=1e-6)
    with pytest.raises(RnnlabError, match="needs a char one"):
        init_encoder_from(enc, tokens, "char", run)
    with pytest.raises(RnnlabError, match="--hidden 5"):
        init_encoder_from(Encoder(EncoderConfig(vocab_size=5, embed=6, hidden=7)), tokens, "word", run)


def test_neighbors_from_a_language_model_run(tmp_path):
    run, lm = _lm_run(tmp_path)
    tokens, table = load_table(run)
    assert tokens[4] == "good" and np.allclose(table, lm.embed.weight.detach().numpy())
    found = neighbors(tokens, table, "good", k=4)
    w = table / np.linalg.norm(table, axis=1, keepdims=True)
    expect = sorted(((float(w[4] @ w[i]), tokens[i]) for i in range(4)), reverse=True)
    assert [t for t, _ in found] == [t for _, t in expect]


def test_embed_neighbors_command(tmp_path, capsys):
    from rnnlab.cli import main
    assert main(["embed", "neighbors", str(_vectors(tmp_path)), "car", "-k", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["word"] == "car" and [t for t, _ in out["neighbors"]] == ["bus"]
    assert main(["embed", "neighbors", str(_vectors(tmp_path)), "tram"]) == 2
    assert "not in the table" in capsys.readouterr().err
