"""Training throughput: rnnlab's trainer vs a bare hand-written nn.LSTM loop, same shapes, same process.

    python benchmarks/train_throughput.py [--steps 30] [--repeats 3] [--dtype float32 bfloat16]

Prints characters per second (median of repeats, alternating the two) and the ratio rnnlab / bare.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import rnnlab  # noqa: E402
from rnnlab import callbacks as cb  # noqa: E402
from rnnlab.device import autocast  # noqa: E402
from rnnlab.tasks.lm import LanguageModelTask  # noqa: E402
from rnnlab.text.corpus import load_corpus  # noqa: E402
from rnnlab.trainer import Trainer  # noqa: E402

B, T, H, E, LAYERS = 64, 100, 512, 256, 2


def bare_loop(tokens, vocab_size, steps, dtype) -> float:
    """The reference: what a user would write by hand around nn.LSTM."""
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
    torch.manual_seed(0)
    cfg = rnnlab.TrainConfig(batch_size=B, seq_len=T, lr=2e-3, max_steps=steps + 2, max_minutes=None,
                             eval_every=10**9, sample_chars=0, lr_schedule="constant", warmup_steps=0, out=str(run_dir))
    model = rnnlab.LanguageModel(rnnlab.ModelConfig(vocab_size=corpus.vocab.size, embed=E, hidden=H, layers=LAYERS,
                                                    dropout=0.0))
    callbacks = [cb.MetricsLog(run_dir), cb.LossCurve(run_dir), cb.ProgressBar(False)]
    task = LanguageModelTask(model, corpus, B, T)
    trainer = Trainer(task, cfg, torch.device("cpu"), dtype, callbacks)
    for _ in range(2):                     # the same two warm-up steps
        trainer.train_step()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
        if trainer.progress.step % cfg.log_every == 0:
            trainer.flush_loss()
            trainer.emit("log")
    return steps * B * T / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", nargs="+", default=["float32", "bfloat16"])
    args = ap.parse_args()
    corpus = load_corpus("tiny_shakespeare")
    print(f"LSTM {LAYERS}x{H}, embed {E}, batch {B}, seq {T}, {args.steps} steps x {args.repeats} repeats, "
          f"{torch.get_num_threads()} threads")
    for name in args.dtype:
        dtype = getattr(torch, name)
        bare, ours = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.repeats):
                bare.append(bare_loop(corpus.train, corpus.vocab.size, args.steps, dtype))
                ours.append(rnnlab_loop(corpus, args.steps, dtype, Path(tmp) / f"r{r}"))
        b, o = statistics.median(bare), statistics.median(ours)
        print(f"{name:9s} bare nn.LSTM {b:9,.0f} chars/s   rnnlab {o:9,.0f} chars/s   ratio {o / b:.3f}")


if __name__ == "__main__":
    main()
