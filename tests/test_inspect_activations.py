"""rnnlab.inspect.activations against the fused forward pass and the written-out cells."""
import numpy as np
import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.errors import RnnlabError
from rnnlab.inspect.activations import collect, stream, tokenize
from rnnlab.models.cells import CELLS
from rnnlab.models.language_model import LanguageModel
from rnnlab.text.vocab import CharVocab, WordVocab, ByteVocab


def _model(kind, layers, embed=8, V=11, H=6):
    torch.manual_seed(0)
    model = LanguageModel(ModelConfig(model=kind, vocab_size=V, embed=embed, hidden=H, layers=layers, dropout=0.3))
    return model.train()          # collect must switch dropout off by itself


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 3])
def test_activations_agree_with_the_fused_forward_pass(kind, layers):
    model = _model(kind, layers)
    tokens = np.random.default_rng(0).integers(0, 11, 50)
    acts = collect(model, tokens, k=3, chunk=7)                   # chunks of 7: the state must be carried
    assert model.training                                          # dropout was off only while collecting
    model.eval()
    with torch.no_grad():
        logits, state = model(torch.from_numpy(tokens)[None])
    logp = torch.log_softmax(logits[0], -1).numpy()                # (T, V)
    assert acts.h.shape == (layers, 50, 6)
    np.testing.assert_allclose(acts.top_probs[:, 0], np.exp(logp.max(-1)), atol=1e-5)
    np.testing.assert_array_equal(acts.top_ids[:, 0], logp.argmax(-1))
    np.testing.assert_allclose(acts.next_logprob[:-1], logp[np.arange(49), tokens[1:]], atol=1e-5)
    assert np.isnan(acts.next_logprob[-1])
    np.testing.assert_allclose(acts.h[:, -1], state[0][:, 0].numpy(), atol=1e-5)
    if kind == "lstm":
        np.testing.assert_allclose(acts.c[:, -1], state[1][:, 0].numpy(), atol=1e-5)
        h_from_gates = acts.gates["o"] * np.tanh(acts.c)           # h_t = o_t * tanh(c_t)
        np.testing.assert_allclose(h_from_gates, acts.h, atol=1e-5)
    if kind == "gru":
        h_prev = np.concatenate([np.zeros((layers, 1, 6), np.float32), acts.h[:, :-1]], axis=1)
        z, n = acts.gates["z"], acts.gates["n"]
        np.testing.assert_allclose((1 - z) * n + z * h_prev, acts.h, atol=1e-5)   # h_t = (1-z) n + z h_{t-1}


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gates_equal_the_written_out_cells(kind):
    """Step the lecture's cell by hand and compare every gate at every step of the first layer."""
    model = _model(kind, 1, embed=5, V=7, H=4).eval()
    tokens = np.random.default_rng(1).integers(0, 7, 12)
    acts = collect(model, tokens, chunk=5)
    W_ih, W_hh, b_ih, b_hh = (w.detach() for w in model.recurrent.layer_weights(0))
    x = model.inputs(torch.from_numpy(tokens)[None])[0].detach()
    h = torch.zeros(1, 4)
    c = torch.zeros(1, 4)
    for t in range(12):
        if kind == "lstm":
            pre = x[t:t + 1] @ W_ih.T + b_ih + h @ W_hh.T + b_hh
            i, f, g, o = pre.chunk(4, 1)
            expected = {"i": torch.sigmoid(i), "f": torch.sigmoid(f), "g": torch.tanh(g), "o": torch.sigmoid(o)}
            h, (h, c) = CELLS["lstm"](x[t:t + 1], (h, c), (W_ih, W_hh, b_ih, b_hh))
            np.testing.assert_allclose(acts.c[0, t], c[0].numpy(), atol=1e-6)
        else:
            xr, xz, xn = (x[t:t + 1] @ W_ih.T + b_ih).chunk(3, 1)
            hr, hz, hn = (h @ W_hh.T + b_hh).chunk(3, 1)
            r = torch.sigmoid(xr + hr)
            expected = {"r": r, "z": torch.sigmoid(xz + hz), "n": torch.tanh(xn + r * hn)}
            h, _ = CELLS["gru"](x[t:t + 1], (h,), (W_ih, W_hh, b_ih, b_hh))
        for name, value in expected.items():
            np.testing.assert_allclose(acts.gates[name][0, t], value[0].numpy(), atol=1e-6)
        np.testing.assert_allclose(acts.h[0, t], h[0].numpy(), atol=1e-6)


def test_stream_chunks_join_to_collect():
    model = _model("lstm", 2)
    tokens = np.random.default_rng(2).integers(0, 11, 30)
    whole = collect(model, tokens, chunk=100)
    parts = list(stream(model, tokens, chunk=8))
    assert [p.start for p in parts] == [0, 8, 16, 24]
    np.testing.assert_allclose(np.concatenate([p.h for p in parts], 1), whole.h, atol=1e-6)
    np.testing.assert_allclose(np.concatenate([p.gates["f"] for p in parts], 1), whole.gates["f"], atol=1e-6)


def test_tokenize_aligns_tokens_to_characters():
    text = "héllo, wörld\nhi"
    chars = CharVocab.fit(text)
    tokens, offsets = tokenize(chars, text)
    assert list(offsets) == list(range(len(text)))
    tokens, offsets = tokenize(ByteVocab(), text)
    assert len(tokens) == len(text.encode()) and offsets[2] == 1 and offsets[3] == 2   # é is 2 bytes
    words = WordVocab.fit(text)
    tokens, offsets = tokenize(words, text)
    assert [text[o] for o in offsets] == ["h", ",", "w", "\n", "h"]
    with pytest.raises(RnnlabError, match="never saw"):
        tokenize(chars, "hello?")
    with pytest.raises(RnnlabError, match="empty"):
        tokenize(chars, "")
