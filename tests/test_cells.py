"""The written-out cells equal PyTorch's fused nn.RNN / nn.LSTM / nn.GRU for the same weights."""
import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.models.cells import lstm_cell, rnn_cell
from rnnlab.models.language_model import LanguageModel
from rnnlab.models.recurrent import Recurrent


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 3])
def test_cells_match_fused_outputs_and_gradients(kind, layers):
    torch.manual_seed(0)
    rec = Recurrent(kind, input_size=7, hidden=11, layers=layers).double()
    x = torch.randn(4, 9, 7, dtype=torch.float64, requires_grad=True)
    state = tuple(torch.randn_like(s) for s in rec.init_state(4))

    y_fast, s_fast = rec(x, state)
    loss_fast = y_fast.pow(2).sum() + sum(s.sum() for s in s_fast)
    grads_fast = torch.autograd.grad(loss_fast, [x, *rec.parameters()])

    y_cell, s_cell = rec(x, state, use_cells=True)
    loss_cell = y_cell.pow(2).sum() + sum(s.sum() for s in s_cell)
    grads_cell = torch.autograd.grad(loss_cell, [x, *rec.parameters()])

    torch.testing.assert_close(y_cell, y_fast, rtol=1e-10, atol=1e-12)
    for a, b in zip(s_cell, s_fast):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(grads_cell, grads_fast):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_rnn_cell_is_the_lecture_equation():
    torch.manual_seed(1)
    W_ih, W_hh, b_ih, b_hh = torch.randn(3, 2), torch.randn(3, 3), torch.randn(3), torch.randn(3)
    x, h = torch.randn(1, 2), torch.randn(1, 3)
    expected = torch.tanh(W_hh @ h[0] + W_ih @ x[0] + b_ih + b_hh)
    out, _ = rnn_cell(x, (h,), (W_ih, W_hh, b_ih, b_hh))
    torch.testing.assert_close(out[0], expected)


def test_lstm_cell_with_open_forget_gate_and_closed_input_keeps_memory():
    H = 4
    W_ih, W_hh = torch.zeros(4 * H, 2), torch.zeros(4 * H, H)
    b = torch.zeros(4 * H)
    b[:H] = -50.0        # input gate shut
    b[H:2 * H] = 50.0    # forget gate open
    c = torch.randn(1, H)
    _, (h, c_new) = lstm_cell(torch.randn(1, 2), (torch.zeros(1, H), c), (W_ih, W_hh, b, torch.zeros(4 * H)))
    torch.testing.assert_close(c_new, c)


def test_lstm_forget_bias_starts_where_asked():
    model = LanguageModel(ModelConfig(vocab_size=10, hidden=8, layers=2, forget_bias=1.0))
    for k in range(2):
        _, _, b_ih, b_hh = model.recurrent.layer_weights(k)
        assert torch.all((b_ih + b_hh)[8:16] == 1.0)


@pytest.mark.parametrize("embed", [0, 16])
def test_language_model_contract(embed):
    model = LanguageModel(ModelConfig(model="gru", vocab_size=13, embed=embed, hidden=8, layers=2, dropout=0.0))
    tokens = torch.randint(0, 13, (3, 5))
    logits, state = model(tokens)
    assert logits.shape == (3, 5, 13)
    assert state[0].shape == (2, 3, 8)
    # feeding the sequence in two pieces with the carried state gives the same logits
    a, s = model(tokens[:, :2])
    b, _ = model(tokens[:, 2:], s)
    torch.testing.assert_close(torch.cat([a, b], dim=1), logits)
