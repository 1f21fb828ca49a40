"""Sampling filters, determinism, priming."""
import math

import pytest
import torch

from rnnlab.config import ModelConfig, SampleConfig
from rnnlab.errors import RnnlabError
from rnnlab.generate import filter_logits, sample_text
from rnnlab.models.language_model import LanguageModel
from rnnlab.text.vocab import CharVocab


def test_top_k_keeps_k_largest_and_renormalises():
    logits = torch.tensor([1.0, 3.0, 2.0, 0.0])
    p = torch.softmax(filter_logits(logits, top_k=2), -1)
    e3, e2 = math.exp(3), math.exp(2)
    torch.testing.assert_close(p, torch.tensor([0.0, e3 / (e3 + e2), e2 / (e3 + e2), 0.0]), check_dtype=False)


def test_top_p_keeps_smallest_set_reaching_p():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    p = torch.softmax(filter_logits(probs.log(), top_p=0.8), -1)
    torch.testing.assert_close(p, torch.tensor([0.625, 0.375, 0.0, 0.0]), check_dtype=False)
    p = torch.softmax(filter_logits(probs.log(), top_p=0.81), -1)
    assert (p > 0).tolist() == [True, True, True, False]


def test_temperature_scales_logits():
    logits = torch.tensor([1.0, 2.0])
    torch.testing.assert_close(filter_logits(logits, temperature=0.5), torch.tensor([2.0, 4.0]), check_dtype=False)


@pytest.fixture
def model_and_vocab():
    torch.manual_seed(0)
    vocab = CharVocab.fit("abcdefgh \n")
    return LanguageModel(ModelConfig(vocab_size=vocab.size, hidden=16, layers=1, embed=8)), vocab


def test_same_seed_same_text_and_prime_first(model_and_vocab):
    model, vocab = model_and_vocab
    cfg = SampleConfig(prime="abc", length=50, seed=7)
    a, b = sample_text(model, vocab, cfg), sample_text(model, vocab, cfg)
    assert a == b and a.startswith("abc") and len(a) == 53
    assert sample_text(model, vocab, cfg.replace(seed=8)) != a


def test_greedy_is_argmax(model_and_vocab):
    model, vocab = model_and_vocab
    text = sample_text(model, vocab, SampleConfig(prime="a", length=5, greedy=True))
    logits, _ = model(torch.tensor([vocab.encode("a").tolist()]))
    assert text[1] == vocab.chars[int(logits[0, -1].argmax())]


def test_unknown_prime_characters_are_named(model_and_vocab):
    model, vocab = model_and_vocab
    with pytest.raises(RnnlabError, match="'§'"):
        sample_text(model, vocab, SampleConfig(prime="a§", length=5))


def test_tiny_temperature_is_greedy_not_nan(model_and_vocab):
    model, vocab = model_and_vocab
    cold = sample_text(model, vocab, SampleConfig(prime="a", length=20, temperature=1e-30, seed=1))
    assert cold == sample_text(model, vocab, SampleConfig(prime="a", length=20, greedy=True))
