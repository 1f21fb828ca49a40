"""The generation stepper gives the training model's next-token distribution."""
import numpy as np
import pytest
import torch

from rnnlab import stepper as stepper_module
from rnnlab.config import ModelConfig
from rnnlab.models.language_model import LanguageModel
from rnnlab.stepper import Stepper, primed_stepper


def _model(kind, layers, embed, V=13, H=10):
    torch.manual_seed(3)
    return LanguageModel(ModelConfig(model=kind, vocab_size=V, embed=embed, hidden=H, layers=layers)).eval()


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("table", [True, False])
def test_stepper_logits_equal_the_fused_forward(kind, layers, table, monkeypatch):
    if not table:
        monkeypatch.setattr(stepper_module, "LOOKUP_LIMIT", 0)     # embed, then multiply
    model = _model(kind, layers, embed=6)
    tokens = torch.randint(0, 13, (3, 40), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, _ = model(tokens)                                # (3, 40, V)
    s = Stepper(model, batch_size=3)
    assert (s.layers[0].table is not None) == table
    for t in range(40):
        np.testing.assert_allclose(s.step(tokens[:, t].numpy()), expected[:, t].numpy(), atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_one_hot_models_and_the_primed_state(kind):
    model = _model(kind, 2, embed=0)                              # one-hot inputs, as in the lectures
    tokens = torch.randint(0, 13, (2, 30), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, _ = model(tokens)
    s, logits = primed_stepper(model, tokens[:, :20].tolist())    # the prime in one fused pass
    np.testing.assert_allclose(logits, expected[:, 19].numpy(), atol=1e-5)
    for t in range(20, 30):
        np.testing.assert_allclose(s.step(tokens[:, t].numpy()), expected[:, t].numpy(), atol=1e-5)
    with torch.no_grad():
        _, state = model(tokens)
    for mine, theirs in zip(s.state(), state):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=1e-5)


def test_a_step_allocates_no_new_buffers():
    s = Stepper(_model("lstm", 2, embed=6), batch_size=1)
    first = s.step([1])
    ids = (id(first), id(s.layers[1].h), id(s.layers[1].c))
    second = s.step([2])
    assert (id(second), id(s.layers[1].h), id(s.layers[1].c)) == ids


def _model_path_sample(model, vocab, cfg):
    """The text of stepping the model itself token by token (the path the stepper replaces)."""
    from rnnlab.generate import encode_prime, next_token
    gen = torch.Generator().manual_seed(cfg.seed)
    decode = vocab.decoder()
    ids = encode_prime(vocab, cfg.prime)
    out = [cfg.prime]
    for t in ids:
        decode(t)
    with torch.no_grad():
        logits, state = model(torch.tensor([ids]))
        for _ in range(cfg.length):
            token = next_token(logits[0, -1], cfg, gen)
            out.append(decode(token))
            logits, state = model(torch.tensor([[token]]), state)
    return "".join(out)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_same_seed_same_text_as_stepping_the_model(kind):
    from rnnlab.config import SampleConfig
    from rnnlab.generate import generate_batch, sample_text
    from rnnlab.text.vocab import CharVocab
    vocab = CharVocab.fit("abcdefghijklm")
    model = _model(kind, 2, embed=6)
    cfg = SampleConfig(prime="abc", length=300, temperature=0.9, seed=5)
    assert sample_text(model, vocab, cfg) == _model_path_sample(model, vocab, cfg)
    batch = generate_batch(model, vocab, cfg.replace(num_samples=3))
    assert batch == [sample_text(model, vocab, cfg.replace(seed=5 + i)) for i in range(3)]
    assert len(set(batch)) == 3
