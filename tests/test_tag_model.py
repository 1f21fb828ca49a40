"""The tagger's pieces: word shapes, character features, batches, losses and decoding, a task that learns."""
import numpy as np
import pytest
import torch

from rnnlab.models.char_features import CharConfig, CharFeatures, word_features
from rnnlab.tasks.tag import TagTask, evaluate_split
from rnnlab.tasks.tag_config import TagConfig
from rnnlab.tasks.tag_data import SHAPES, Vocabs, encode, make_batch, normalise, shape
from rnnlab.text.conll import Tagged

NAMES = ["Anna", "Boris", "Chen", "Dora", "Emil", "Fatou", "Goran", "Hana", "Ivo", "Jun", "Kemal", "Lena"]
CITIES = ["Paris", "Oslo", "Lima", "Kyoto", "Accra", "Quito", "Hanoi", "Sofia"]


def synthetic(n, seed, names=NAMES, cities=CITIES) -> Tagged:
    """'i met NAME [NAME] in CITY today' with person and location tags."""
    rng = np.random.default_rng(seed)
    tokens, tags = [], []
    for _ in range(n):
        first, last = rng.choice(names, 2)
        two = rng.random() < 0.5
        person = [first, last] if two else [first]
        words = ["i", "met"] + person + ["in", rng.choice(cities), rng.choice(["today", "again", "!"])]
        labels = ["O", "O", "B-person"] + ["I-person"] * (len(person) - 1) + ["O", "B-location", "O"]
        tokens.append([str(w) for w in words])
        tags.append(labels)
    return Tagged(tokens, tags, "synthetic")


def test_shapes_and_normalisation():
    assert [SHAPES[shape(w)] for w in ["taylor", "Taylor", "NASA", "iPhone", "2017", "B2B", "!!", "@bob", "#tbt",
                                       "http://x.co", "I"]] == \
        ["lower", "title", "upper", "mixed", "number", "alnum", "punct", "mention", "hashtag", "url", "title"]
    assert normalise("Taylor2017") == "taylor0000" and normalise("@Bob") == "@user" and normalise("www.x.org") == "<url>"


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_char_features_spell_unseen_words_and_skip_padding(kind):
    torch.manual_seed(0)
    m = CharFeatures(CharConfig(kind=kind, vocab_size=10, embed=4, features=6, dropout=0.0))
    chars = torch.tensor([[[2, 3, 4], [5, 0, 0]], [[6, 7, 0], [0, 0, 0]]])        # (B=2, T=2, L=3)
    lengths = torch.tensor([[3, 1], [2, 1]])
    mask = torch.tensor([[True, True], [True, False]])
    f = word_features(m, chars, lengths, mask)                                   # (2, 2, 6)
    assert f.shape == (2, 2, 6) and torch.all(f[1, 1] == 0) and f[0, 0].abs().sum() > 0
    alone = m(torch.tensor([[5, 0, 0]]), torch.tensor([1]))                      # the same word on its own
    assert torch.allclose(alone[0], f[0, 1], atol=1e-6)
    if kind == "cnn":   # max-pooling ignores the padding: a longer pad gives the same features
        assert torch.allclose(m(torch.tensor([[5, 0, 0, 0, 0]]), torch.tensor([1])), alone, atol=1e-6)


def _task(crf, steps=0, **kw):
    cfg = TagConfig(crf=crf, embed=16, hidden=16, char_embed=8, char_features=16, batch_size=16, lr=1e-2,
                    warmup_steps=1, max_steps=100, **kw)
    train, val = synthetic(160, 1), synthetic(40, 2, names=["Marta", "Nils", "Olga", "Pavel"], cities=CITIES)
    vocabs = Vocabs.fit(train)
    torch.manual_seed(0)
    task = TagTask(cfg, vocabs, train, val)
    opt = torch.optim.Adam(task.model.parameters(), lr=cfg.lr)
    for step in range(steps):
        loss, n = task.train_loss(step, torch.device("cpu"), torch.float32)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return task


def test_batches_are_a_pure_function_of_seed_and_step():
    a, b = _task(False), _task(False)
    for step in (0, 7, 31):
        x, y = a.batch(step), b.batch(step)
        assert np.array_equal(x.index, y.index) and torch.equal(x.chars, y.chars) and torch.equal(x.tags, y.tags)
    assert a.steps_per_epoch == 10
    seen = np.concatenate([a.plan.indices(k) for k in range(10)])
    assert sorted(seen) == list(range(160))        # one epoch holds every sentence once


def test_batch_padding_and_masks():
    d = synthetic(3, 0)
    vocabs = Vocabs.fit(d)
    enc = encode(d.tokens, vocabs, 24, d.tags)
    batch = make_batch(enc, np.array([0, 1, 2]))
    B, T, L = batch.chars.shape
    assert (B, T) == batch.words.shape == batch.shapes.shape == batch.tags.shape == batch.mask.shape
    assert batch.mask.sum().item() == d.n_tokens and L == max(len(w) for s in d.tokens for w in s)
    assert torch.equal(batch.lengths, torch.tensor([len(s) for s in d.tokens]))


@pytest.mark.parametrize("crf", [False, True])
def test_tagger_learns_names_it_never_saw(crf):
    task = _task(crf, steps=60)
    ev = task.evaluate(torch.device("cpu"), torch.float32)
    assert ev.chunked and ev.metrics["f1"] > 0.8, ev.summary()     # validation names are all unseen words
    assert ev.objective == pytest.approx(1 - ev.metrics["f1"])
    assert np.isfinite(ev.loss) and ev.n == 40


def test_plain_tag_sets_select_by_loss():
    d = synthetic(60, 3)
    pos = Tagged(d.tokens, [["PRP", "VBD"] + ["NNP"] * (len(s) - 5) + ["IN", "NNP", "NN"] for s in d.tokens], "pos")
    vocabs = Vocabs.fit(pos)
    torch.manual_seed(0)
    task = TagTask(TagConfig(embed=8, hidden=8, char_features=8, max_steps=10), vocabs, pos, pos)
    ev = task.evaluate(torch.device("cpu"), torch.float32)
    assert not ev.chunked and ev.objective == ev.loss and set(ev.per_type) <= {"PRP", "VBD", "NNP", "IN", "NN"}
    pred_ev = evaluate_split(task.model, task.val_data, pos.tags, vocabs.tags.names, torch.device("cpu"))
    assert pred_ev.metrics == ev.metrics


def test_weight_average_is_used_for_evaluation_and_restored():
    task = _task(False, average=0.9)
    m = task.model
    w0 = m.head.weight.detach().clone()
    a = m.averaged.head__weight
    assert torch.equal(a, w0)
    with torch.no_grad():
        m.head.weight.add_(1.0)
    m.update_average(100)                                   # d = min(0.9, 101/110) = 0.9
    assert torch.allclose(a, w0 + 0.1, atol=1e-6)
    with m.averaged_weights():
        assert torch.allclose(m.head.weight, w0 + 0.1, atol=1e-6)
    assert torch.allclose(m.head.weight, w0 + 1.0)         # the trained weights are back
    assert "averaged.head__weight" in m.state_dict()
