"""Figures of a translation run: the attention heat map of one sentence and validation BLEU against minutes."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..reports import pyplot, save_figure
from ..rundir import read_metrics
from .translate_text import strip_join


def attention_map(src_tokens: list[str], out_tokens: list[str], weights: np.ndarray, path: str | Path) -> Path:
    """Heat map of weights (output tokens + EOS, source tokens): row t is where output token t looked."""
    plt = pyplot()
    rows = [strip_join(t) for t in out_tokens] + ["</s>"]
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * len(src_tokens), 1.0 + 0.4 * len(rows)))
    im = ax.imshow(weights[:len(rows)], cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(src_tokens)), [strip_join(t) for t in src_tokens], rotation=60, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("source")
    ax.set_ylabel("translation")
    fig.colorbar(im, ax=ax, fraction=0.04)
    return save_figure(fig, path)


def bleu_curve(runs: dict[str, Path], path: str | Path, title: str = "") -> Path:
    """Validation BLEU (greedy) against wall-clock minutes of training, one line per run directory."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.4))
    for label, run in runs.items():
        rows, _ = read_metrics(Path(run) / "metrics.jsonl")
        rows = [r for r in rows if r.get("val_bleu") is not None]
        ax.plot([r["elapsed_s"] / 60 for r in rows], [r["val_bleu"] for r in rows], "o-", label=label)
    ax.set_xlabel("minutes trained (evaluations included)")
    ax.set_ylabel("validation BLEU (greedy, sacrebleu)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, path)
