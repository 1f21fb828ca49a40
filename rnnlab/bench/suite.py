"""The suite `rnnlab bench` runs: one row per figure, the peer measured in the same process beside it."""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import torch

from . import speed


def _row(name: str, ours: float, peer: float, unit: str) -> dict:
    return {"name": name, "ours": round(ours, 1), "peer": round(peer, 1), "ratio": round(ours / peer, 3),
            "unit": unit}


def run_suite(quick: bool = False, say=lambda line: None) -> dict:
    """{"rows": [...], "peak_gflops": {"float32", "bfloat16"}, "trainer_peak_fraction": {...}} at one thread."""
    from ..text.corpus import load_corpus
    torch.set_num_threads(1)
    repeats, steps = (1, 4) if quick else (3, 20)
    corpus = load_corpus("tiny_shakespeare")
    peak = {name: round(speed.matmul_gflops(getattr(torch, name)), 1) for name in ("float32", "bfloat16")}
    say(f"matrix-multiply peak, one thread: {peak['float32']} GFLOP/s float32, {peak['bfloat16']} bfloat16")
    rows, fraction = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("float32", "bfloat16"):
            dtype = getattr(torch, name)
            bare = statistics.median(speed.bare_loop(corpus.train, corpus.vocab.size, steps, dtype)
                                     for _ in range(repeats))
            ours = statistics.median(speed.rnnlab_loop(corpus, steps, dtype, Path(tmp) / f"{name}-{r}")
                                     for r in range(repeats))
            rows.append(_row(f"train 2x512 LSTM {name} (vs bare nn.LSTM loop)", ours, bare, "chars/s"))
            fraction[name] = round(ours * speed.train_flops_per_char(corpus.vocab.size) / 1e9 / peak[name], 3)
            say(rows[-1])
    model = speed.generation_model()
    for batch, n in ((1, 40 if quick else 200), (64, 10 if quick else 50)):
        ours = statistics.median(speed.stepper_tokens_per_s(model, batch, n) for _ in range(repeats))
        eager = statistics.median(speed.eager_tokens_per_s(model, batch, n) for _ in range(repeats))
        rows.append(_row(f"generate 2x512 LSTM batch {batch} (vs eager nn.LSTM)", ours, eager, "tokens/s"))
        say(rows[-1])
    ours, in_memory = speed.prepare_mb_per_s(16 if quick else 100)
    rows.append(_row("rnnlab prepare (vs in-memory load_corpus)", ours, in_memory, "MB/s"))
    say(rows[-1])
    return {"rows": rows, "peak_gflops": peak, "trainer_peak_fraction": fraction}
