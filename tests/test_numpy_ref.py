"""The NumPy models equal PyTorch (forward and autograd gradients) and pass finite-difference checks."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlab.config import ModelConfig
from rnnlab.models.language_model import LanguageModel
from rnnlab.numpy_ref.gradcheck import gradcheck
from rnnlab.numpy_ref.model import NumpyLM


def _pair(kind, embed, layers=2, seed=0):
    torch.manual_seed(seed)
    model = LanguageModel(ModelConfig(model=kind, vocab_size=11, embed=embed, hidden=6, layers=layers, dropout=0.0))
    model.double()
    return model, NumpyLM.from_torch(model, np.float64)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("embed", [0, 5])
def test_forward_and_gradients_equal_pytorch(kind, embed):
    model, np_model = _pair(kind, embed)
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 11, (4, 7)), rng.integers(0, 11, (4, 7))
    state = tuple(rng.normal(size=s.shape) for s in np_model.init_state(4))

    loss_np, grads_np, state_np = np_model.loss_and_grads(x, y, state)
    logits_np, _, _ = np_model.forward(x, state)

    logits, state_t = model(torch.from_numpy(x), tuple(torch.from_numpy(s) for s in state))
    loss = F.cross_entropy(logits.reshape(-1, 11), torch.from_numpy(y).reshape(-1))
    loss.backward()

    np.testing.assert_allclose(logits_np, logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert float(loss_np) == pytest.approx(loss.item(), rel=1e-12)
    for a, b in zip(state_np, state_t):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(grads_np[name], p.grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_finite_differences(kind):
    errors = gradcheck(kind)
    assert len(errors) == 2 * 4 + 2          # two layers of W_ih, W_hh, b_ih, b_hh, and the head
    assert max(errors.values()) < 1e-6, errors


def test_hello_worked_example():
    """The lectures' example: vocabulary h, e, l, o; input "hell", targets "ello"; 3 hidden units.

    Numbers checked by hand with W_hh = 0 so each step stands alone:
    h_t = tanh(W_xh[:, x_t]) with W_xh columns (0.1, 0.2, 0.3, 0.4) * (1, -1, 0.5),
    logits y_t = W_hy h_t with W_hy = [[1,0,0],[0,1,0],[0,0,1],[1,1,1]].
    """
    cfg = ModelConfig(model="rnn", vocab_size=4, embed=0, hidden=3, layers=1, dropout=0.0)
    col = np.array([1.0, -1.0, 0.5])
    params = {
        "recurrent.layers.0.weight_ih_l0": np.stack([s * col for s in (0.1, 0.2, 0.3, 0.4)], axis=1),   # (3, 4)
        "recurrent.layers.0.weight_hh_l0": np.zeros((3, 3)),
        "recurrent.layers.0.bias_ih_l0": np.zeros(3), "recurrent.layers.0.bias_hh_l0": np.zeros(3),
        "head.weight": np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 1.0]]),
        "head.bias": np.zeros(4),
    }
    model = NumpyLM(cfg, params)
    h, e, l, o = 0, 1, 2, 3
    x, y = np.array([[h, e, l, l]]), np.array([[e, l, l, o]])
    loss, grads, _ = model.loss_and_grads(x, y)

    # step 1 reads 'h' (scale 0.1): h_1 = tanh(0.1, -0.1, 0.05) = (0.0996680, -0.0996680, 0.0499584)
    # logits = (0.0996680, -0.0996680, 0.0499584, 0.0499584); target 'e' has logit -0.0996680
    h1 = np.tanh(0.1 * col)
    np.testing.assert_allclose(h1, [0.09966799, -0.09966799, 0.04995837], rtol=1e-6)
    logits1 = np.array([h1[0], h1[1], h1[2], h1.sum()])
    nll1 = -logits1[e] + math.log(np.exp(logits1).sum())
    assert nll1 == pytest.approx(1.513674, abs=1e-6)  # = 0.0996680 + ln(1.104804 + 0.905138 + 1.051227 + 1.051227)
    expected = []
    for xt, yt in zip(x[0], y[0]):
        ht = np.tanh((0.1 * (xt + 1)) * col)
        lg = np.array([ht[0], ht[1], ht[2], ht.sum()])
        expected.append(-lg[yt] + math.log(np.exp(lg).sum()))
    assert float(loss) == pytest.approx(np.mean(expected), rel=1e-12)

    # backward of step 1 alone: dlogits = softmax - onehot(e), divided by the 4 steps
    p1 = np.exp(logits1) / np.exp(logits1).sum()
    np.testing.assert_allclose(p1, [0.268652, 0.220100, 0.255624, 0.255624], atol=1e-6)
    d1 = (p1 - np.eye(4)[e]) / 4
    # 'h' appears only at step 1, so column h of dW_xh is that step's signal through W_hy and tanh
    dh1 = params["head.weight"].T @ d1
    np.testing.assert_allclose(grads["recurrent.layers.0.weight_ih_l0"][:, h], dh1 * (1 - h1 ** 2), rtol=1e-12)
    # 'o' is never an input, so its column gets no gradient
    assert np.all(grads["recurrent.layers.0.weight_ih_l0"][:, o] == 0)
