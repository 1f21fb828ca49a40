"""Exact evaluation and the LR schedule."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.evaluation import evaluate, plan_rows
from rnnlab.models.language_model import LanguageModel
from rnnlab.schedule import lr_factor


def _model_and_tokens(layers: int, n: int, seed: int):
    """A float64 model in eval mode and n random tokens (as uint8 and as an int64 tensor)."""
    torch.manual_seed(0)
    model = LanguageModel(ModelConfig(vocab_size=20, hidden=12, layers=layers, embed=6)).double().eval()
    tokens = np.random.default_rng(seed).integers(0, 20, n).astype(np.uint8)
    return model, tokens, torch.from_numpy(tokens.astype(np.int64))


def test_chunked_evaluation_equals_one_pass():
    model, tokens, x = _model_and_tokens(layers=2, n=1001, seed=0)
    logits, _ = model(x[None, :-1])
    expected = F.cross_entropy(logits[0], x[1:]).item()
    score = evaluate(model, tokens, torch.device("cpu"), torch.float32, chunk=64)
    assert score.n_tokens == 1000
    assert score.nats == pytest.approx(expected, rel=1e-12)
    assert score.bits == pytest.approx(expected / math.log(2))
    assert score.perplexity == pytest.approx(math.exp(expected))


def test_zero_output_model_scores_log_vocab():
    model = LanguageModel(ModelConfig(vocab_size=32, hidden=4, layers=1, embed=4))
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)
    score = evaluate(model, np.arange(100, dtype=np.uint8) % 32, torch.device("cpu"))
    assert score.nats == pytest.approx(math.log(32), rel=1e-6)


def test_warmup_then_cosine_to_floor():
    cfg = TrainConfig(warmup_steps=10, max_steps=110, lr_decay_steps=110, min_lr_frac=0.1)
    assert lr_factor(cfg, 0) == pytest.approx(0.1)
    assert lr_factor(cfg, 9) == pytest.approx(1.0)
    assert lr_factor(cfg, 10) == pytest.approx(1.0)
    assert lr_factor(cfg, 60) == pytest.approx(0.55)
    assert lr_factor(cfg, 110) == pytest.approx(0.1)
    assert lr_factor(cfg.replace(lr_schedule="constant"), 80) == 1.0


def test_short_runs_share_the_default_horizon():
    a, b = TrainConfig(max_steps=50), TrainConfig(max_steps=100)
    assert [lr_factor(a, s) for s in range(50)] == [lr_factor(b, s) for s in range(50)]


def test_rows_with_burn_in_score_every_token_once():
    model, tokens, x = _model_and_tokens(layers=1, n=1003, seed=1)
    score = evaluate(model, tokens, torch.device("cpu"), chunk=64, rows=4, burn_in=50)
    plan = plan_rows(1002, rows=4, burn_in=50)
    expected = 0.0
    for s, length, k in zip(plan.starts, plan.lengths, plan.burn_in):   # each row from a fresh state
        logits, _ = model(x[None, s - k:s + length])
        expected += F.cross_entropy(logits[0, k:], x[s + 1:s + length + 1], reduction="sum").item()
    assert score.n_tokens == 1002
    assert score.nats == pytest.approx(expected / 1002, rel=1e-12)


@pytest.mark.parametrize("n, rows, burn_in", [(1002, 4, 50), (111_539, 64, 512), (5000, 64, 512), (70_000, 7, 0),
                                              (2049, 2, 5000), (999, 64, 512)])
def test_row_plan_covers_each_prediction_once_with_context(n, rows, burn_in):
    plan = plan_rows(n, rows, burn_in, min_row=1)
    covered = np.zeros(n, dtype=int)
    for s, length, k in zip(plan.starts, plan.lengths, plan.burn_in):
        covered[s:s + length] += 1
        assert k == min(s, burn_in, n // len(plan.starts))           # context before the span, never past the start
    assert (covered == 1).all() and len(plan.starts) <= rows
    widths = plan.burn_in + plan.lengths
    assert widths.max() - widths.min() <= plan.burn_in.max() + 1    # rows read about the same number of tokens
