"""rnnlab's NumPy vanilla RNN vs a faithful min-char-rnn loop, same process, same data.

    python benchmarks/numpy_vs_minchar.py [--chars 300000]

min-char-rnn (written out below in its own style: dicts of time steps, column vectors,
one sequence at a time, Adagrad lr 0.1, clipping to +-5, hidden 100, sequence 25,
weights ~ N(0, 0.01^2)) against rnnlab.numpy_ref at batch 1 (same recipe) and batch 32
(parallel streams, Adam). Each reads the same number of training characters of tiny
Shakespeare; then each is scored exactly on the first 20,000 validation characters.
Prints characters per second, the speed ratios and the validation loss per character.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rnnlab.config import ModelConfig  # noqa: E402
from rnnlab.models.language_model import LanguageModel  # noqa: E402
from rnnlab.numpy_ref.model import NumpyLM  # noqa: E402
from rnnlab.numpy_ref.optim import Adagrad, Adam, clip_elementwise  # noqa: E402
from rnnlab.text.corpus import load_corpus  # noqa: E402
from rnnlab.text.stream import TokenStream  # noqa: E402

H, T = 100, 25


def minchar_train(data: np.ndarray, V: int, n_chars: int, seed: int = 0) -> tuple[dict, float]:
    """The min-char-rnn loop: returns its parameters and characters per second."""
    rng = np.random.default_rng(seed)
    Wxh, Whh, Why = rng.normal(size=(H, V)) * 0.01, rng.normal(size=(H, H)) * 0.01, rng.normal(size=(V, H)) * 0.01
    bh, by = np.zeros((H, 1)), np.zeros((V, 1))
    mem = [np.zeros_like(p) for p in (Wxh, Whh, Why, bh, by)]
    hprev, p, seen = np.zeros((H, 1)), 0, 0
    start = time.perf_counter()
    while seen < n_chars:
        if p + T + 1 >= len(data):
            hprev, p = np.zeros((H, 1)), 0
        inputs, targets = data[p:p + T], data[p + 1:p + T + 1]
        xs, hs, ps = {}, {-1: hprev}, {}
        for t in range(T):                                       # forward, one column vector per step
            xs[t] = np.zeros((V, 1))
            xs[t][inputs[t]] = 1
            hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)
            ys = Why @ hs[t] + by
            ps[t] = np.exp(ys) / np.sum(np.exp(ys))
        dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
        dbh, dby, dhnext = np.zeros_like(bh), np.zeros_like(by), np.zeros_like(hs[0])
        for t in reversed(range(T)):                             # backward through time
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1
            dWhy += dy @ hs[t].T
            dby += dy
            dh = Why.T @ dy + dhnext
            dhraw = (1 - hs[t] * hs[t]) * dh
            dbh += dhraw
            dWxh += dhraw @ xs[t].T
            dWhh += dhraw @ hs[t - 1].T
            dhnext = Whh.T @ dhraw
        for d in (dWxh, dWhh, dWhy, dbh, dby):
            np.clip(d, -5, 5, out=d)
        for param, dparam, m in zip((Wxh, Whh, Why, bh, by), (dWxh, dWhh, dWhy, dbh, dby), mem):
            m += dparam * dparam
            param += -0.1 * dparam / np.sqrt(m + 1e-8)
        hprev, p, seen = hs[T - 1], p + T, seen + T
    speed = seen / (time.perf_counter() - start)
    params = {"recurrent.layers.0.weight_ih_l0": Wxh, "recurrent.layers.0.weight_hh_l0": Whh,
              "recurrent.layers.0.bias_ih_l0": bh[:, 0], "recurrent.layers.0.bias_hh_l0": np.zeros(H),
              "head.weight": Why, "head.bias": by[:, 0]}
    return params, speed


def rnnlab_train(data: np.ndarray, V: int, n_chars: int, batch: int, seed: int = 0) -> tuple[NumpyLM, float]:
    torch.manual_seed(seed)
    cfg = ModelConfig(model="rnn", vocab_size=V, embed=0, hidden=H, layers=1, dropout=0.0)
    model = NumpyLM.from_torch(LanguageModel(cfg), np.float64)
    opt = Adagrad(model.params, 0.1) if batch == 1 else Adam(model.params, 1e-2)
    stream = TokenStream(data, batch, T)
    state, step, seen = None, 0, 0
    start = time.perf_counter()
    while seen < n_chars:
        if stream.starts_epoch(step):
            state = None
        window = stream.window(step)
        _, grads, state = model.loss_and_grads(window[:, :-1], window[:, 1:], state)
        clip_elementwise(grads, 5.0)
        opt.step(model.params, grads)
        step, seen = step + 1, seen + batch * T
    return model, seen / (time.perf_counter() - start)


def val_loss(model: NumpyLM, val: np.ndarray) -> float:
    """Exact nats per character over `val`, one stream, state carried in chunks of 1,000."""
    total, state = 0.0, None
    for i in range(0, len(val) - 1, 1000):
        x, y = val[None, i:i + 1000][:, :len(val) - 1 - i], val[None, i + 1:i + 1001]
        loss, _, state = model.loss_and_grads(x, y, state)
        total += float(loss) * y.shape[1]
    return total / (len(val) - 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chars", type=int, default=300_000, help="training characters each model reads")
    args = ap.parse_args()
    corpus = load_corpus("tiny_shakespeare")
    data, V, val = corpus.train.astype(np.int64), corpus.vocab.size, corpus.val[:20_000].astype(np.int64)
    torch.set_num_threads(1)
    cfg = ModelConfig(model="rnn", vocab_size=V, embed=0, hidden=H, layers=1, dropout=0.0)
    mc_params, mc_speed = minchar_train(data, V, args.chars)
    mc_loss = val_loss(NumpyLM(cfg, mc_params), val)
    print(f"{args.chars:,} training characters each; hidden {H}, sequence {T}")
    print(f"min-char-rnn          {mc_speed:9,.0f} chars/s            val {mc_loss:.3f} nats/char")
    for batch in (1, 32):
        model, speed = rnnlab_train(data, V, args.chars, batch)
        loss = val_loss(model, val)
        print(f"rnnlab numpy batch {batch:<2d} {speed:9,.0f} chars/s  x{speed / mc_speed:5.1f}  val {loss:.3f} nats/char "
              f"({'no worse' if loss <= mc_loss else 'WORSE'})")


if __name__ == "__main__":
    main()
