"""The measurements `rnnlab bench` and the scripts in benchmarks/ share: training throughput against a bare
nn.LSTM loop, generation against stepping the model eagerly, prepare against in-memory encoding, and the
machine's matrix-multiply peak."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig, TrainConfig
from ..device import autocast
from ..models.language_model import LanguageModel
from ..stepper import Stepper

B, T, H, E, LAYERS = 64, 100, 512, 256, 2       # the training benchmark's shapes


def bare_loop(tokens, vocab_size, steps, dtype) -> float:
    """The reference: what a user would write by hand around nn.LSTM; characters per second."""
    torch.manual_seed(0)
    emb, lstm, head = nn.Embedding(vocab_size, E), nn.LSTM(E, H, LAYERS, batch_first=True), nn.Linear(H, vocab_size)
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    data = torch.from_numpy(tokens[: len(tokens) // B * B].astype("int64")).view(B, -1)
    state = None
    start = None
    for step in range(steps + 2):          # two warm-up steps
        if step == 2:
            start = time.perf_counter()
        i = step * T
        x, y = data[:, i:i + T], data[:, i + 1:i + T + 1]
        with autocast(torch.device("cpu"), dtype):
            out, state = lstm(emb(x), state)
            logits = head(out)
        loss = F.cross_entropy(logits.float().reshape(-1, vocab_size), y.reshape(-1))
        state = tuple(s.detach() for s in state)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
    return steps * B * T / (time.perf_counter() - start)


def rnnlab_loop(corpus, steps, dtype, run_dir) -> float:
    """rnnlab's Trainer with its usual callbacks (no evaluation falls inside the timed steps)."""
    from .. import callbacks as cb
    from ..tasks.lm import LanguageModelTask
    from ..trainer import Trainer
    torch.manual_seed(0)
    cfg = TrainConfig(batch_size=B, seq_len=T, lr=2e-3, max_steps=steps + 2, max_minutes=None, eval_every=10**9,
                      sample_chars=0, lr_schedule="constant", warmup_steps=0, out=str(run_dir))
    model = LanguageModel(ModelConfig(vocab_size=corpus.vocab.size, embed=E, hidden=H, layers=LAYERS, dropout=0.0))
    callbacks = [cb.MetricsLog(run_dir), cb.LossCurve(run_dir), cb.ProgressBar(False)]
    trainer = Trainer(LanguageModelTask(model, corpus, B, T), cfg, torch.device("cpu"), dtype, callbacks)
    for _ in range(2):                     # the same two warm-up steps
        trainer.train_step()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
        if trainer.progress.step % cfg.log_every == 0:
            trainer.flush_loss()
            trainer.emit("log")
    return steps * B * T / (time.perf_counter() - start)


def train_flops_per_char(vocab_size: int) -> float:
    """About 6 multiply-adds' worth of FLOPs per weight per character (2 forward, 4 backward)."""
    weights = sum(4 * H * ((E if k == 0 else H) + H) for k in range(LAYERS)) + H * vocab_size
    return 6.0 * weights


def eager_tokens_per_s(model, batch: int, steps: int) -> float:
    """Stepping the model itself (nn.LSTM/GRU/RNN modules) one token at a time, argmax fed back."""
    tokens = torch.zeros(batch, 1, dtype=torch.long)
    state = None
    with torch.no_grad():
        start = time.perf_counter()
        for _ in range(steps):
            logits, state = model(tokens, state)                     # (B, 1, V)
            tokens = logits[:, -1].argmax(-1, keepdim=True)          # (B, 1)
        return batch * steps / (time.perf_counter() - start)


def stepper_tokens_per_s(model, batch: int, steps: int) -> float:
    stepper = Stepper(model, batch_size=batch)
    tokens = np.zeros(batch, dtype=np.int64)
    start = time.perf_counter()
    for _ in range(steps):
        tokens = stepper.step(tokens).argmax(-1)                     # (B,)
    return batch * steps / (time.perf_counter() - start)


def generation_model(kind: str = "lstm", layers: int = 2, hidden: int = 512) -> LanguageModel:
    torch.manual_seed(0)
    return LanguageModel(ModelConfig(model=kind, vocab_size=65, embed=256, hidden=hidden, layers=layers)).eval()


def matmul_gflops(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    """The best of `repeats` n x n x n products, in GFLOP/s: the machine's practical peak for that dtype."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n ** 3 / best / 1e9


def prepare_mb_per_s(mb: float) -> tuple[float, float]:
    """(rnnlab prepare's MB/s, load_corpus's in-memory MB/s) on the same text of about `mb` MB."""
    from ..text.corpus import load_corpus
    from ..text.datasets import find_bundled
    from ..text.prepare import prepare
    piece = find_bundled("tiny_shakespeare").path.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "text.txt"
        path.write_bytes(piece * max(1, int(mb * 1e6 / len(piece))))
        size = path.stat().st_size / 1e6
        start = time.perf_counter()
        prepare(str(path), Path(tmp) / "prep")
        ours = size / (time.perf_counter() - start)
        start = time.perf_counter()
        load_corpus(str(path))
        return ours, size / (time.perf_counter() - start)
