"""`--encoder-from RUN`: start a classifier's or tagger's Encoder from a trained language-model run.

What is copied (the language model reads left to right, so it fills the forward direction):
  embedding rows    matched by token string (the LM's "<unk>" row goes to <unk>); unmatched rows stay random
  layer k < L_lm    forward direction: W_ih, W_hh, b_ih, b_hh. Where our W_ih reads more than the LM's did
                    (above layer 0 a bidirectional encoder reads [forward; backward] outputs, 2H wide; at
                    layer 0 a tagger appends its character and shape features to the embedding), the LM's
                    matrix fills the first columns and the others are zeroed, so at the start the forward
                    direction computes what the LM did (the zeroed weights still get gradients and learn).
  reverse direction and layers above the LM's: their own random initialisation
The cell kind, embedding width and hidden size must equal the run's (lm_encoder_settings gives them), and the
vocabularies must be of the same kind: a word LM for word-like tokenizers, a character LM for --tokenizer char.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from ..errors import require
from ..models.encoder import Encoder
from ..text.label_vocab import PAD


def _lm(run: str | Path):
    from ..checkpoint import read_meta, resolve_checkpoint, task_of
    ckpt = resolve_checkpoint(run)
    meta = read_meta(ckpt)
    require(task_of(meta) == "lm", f"--encoder-from {run} is a {task_of(meta)} run, not a language model",
            "give the --out directory of an rnnlab train run")
    model, vocab = meta.get("model"), meta.get("vocab")
    require(isinstance(model, dict) and isinstance(vocab, dict), f"{ckpt}/config.json is damaged",
            "use the run's other checkpoint")
    require(model.get("embed", 0) > 0, f"--encoder-from {run} feeds one-hot vectors (--embed 0): it has no "
            "embedding table to start from", "pretrain the language model with --embed > 0")
    return ckpt, meta


def lm_encoder_settings(run: str | Path) -> dict:
    """The Encoder settings a run forces: {"kind", "embed", "hidden", "layers", "vocab_kind"}."""
    _, meta = _lm(run)
    m = meta["model"]
    return {"kind": m["model"], "embed": m["embed"], "hidden": m["hidden"], "layers": m["layers"],
            "vocab_kind": meta["vocab"].get("kind")}


@torch.no_grad()
def init_encoder_from(encoder: Encoder, tokens: list[str], tokenizer: str, run: str | Path,
                      say: Callable[[str], None] = print, key: Callable[[str], str] | None = None) -> dict:
    """Copy the LM run's embedding rows (by token string; else by key(LM token), the first in the LM's
    order, when `key` is given) and forward recurrent layers into `encoder`.
    Returns {"run", "rows_matched", "rows", "layers_copied"} and says it in one line."""
    from ..checkpoint import read_weights
    from ..embed import run_tokens
    from ..models.pretrained import keyed_index
    ckpt, meta = _lm(run)
    weights = read_weights(ckpt)
    m, cfg = meta["model"], encoder.cfg
    kind = meta["vocab"].get("kind")
    want = "char" if tokenizer == "char" else "word"
    require(kind == want, f"--encoder-from {run} has a {kind} vocabulary, this run's --tokenizer {tokenizer} "
            f"needs a {want} one", f"pretrain with rnnlab train --tokenizer {want}, or change --tokenizer")
    for ours, theirs, flag in ((cfg.kind, m["model"], "--model"), (cfg.embed, m["embed"], "--embed"),
                               (cfg.hidden, m["hidden"], "--hidden")):
        require(ours == theirs, f"--encoder-from {run} has {flag} {theirs}, this run {ours}",
                f"leave {flag} out (it is taken from the run) or pass {flag} {theirs}")
    lm_index = keyed_index(run_tokens(meta["vocab"]), key)
    table, lm_table = encoder.embed.weight, weights["embed.weight"]
    matched = 0
    for row, token in enumerate(tokens):
        i = lm_index.get(token)                                         # "<unk>" matches the LM's <unk>
        if i is not None and row != PAD:
            table[row] = lm_table[i].to(table.dtype)
            matched += 1
    copied = min(cfg.layers, m["layers"])
    H = cfg.hidden
    for k in range(copied):
        ours = encoder.recurrent_parameters(k)
        for name, p in ours.items():
            src = weights[f"recurrent.layers.{k}.{name}_l0"].to(p.dtype)
            if name == "weight_ih" and p.shape != src.shape:             # (G*H, 2H) or (G*H, E + F + S)
                require(p.shape[0] == src.shape[0] and p.shape[1] > src.shape[1], f"--encoder-from {run}: "
                        f"layer {k + 1} reads {src.shape[1]} inputs, this encoder {p.shape[1]}",
                        "pretrain the language model with this run's --embed and --hidden")
                p.zero_()
                p[:, :src.shape[1]] = src
            else:
                p.copy_(src)
    say(f"encoder from {ckpt}: {matched:,} of {len(tokens) - 1:,} embedding rows matched by token, "
        f"forward direction of layer{'s 1-' if copied > 1 else ' '}{copied} copied")
    return {"run": str(ckpt), "rows_matched": matched, "rows": len(tokens) - 1, "layers_copied": copied}

