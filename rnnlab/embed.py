"""Embedding tables of runs and vectors files, and their cosine nearest neighbours (`rnnlab embed neighbors`).

A table is (tokens, (V, D) matrix): from a vectors file (models/pretrained.py), or from any run or
checkpoint whose weights hold an embedding: language-model runs (`embed.weight`, tokens from the
run's char or word vocabulary), classify and tag runs (`encoder.embed.weight`, their token vocabulary).
"""
from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np

from .errors import RnnlabError, require
from .models.pretrained import read_vectors

EMBED_KEYS = ("embed.weight", "encoder.embed.weight")


def run_tokens(vocab: dict) -> list[str]:
    """The token strings of a run's saved vocabulary, in id order."""
    kind = vocab.get("kind") if isinstance(vocab, dict) else None
    if kind == "tokens":
        return list(vocab["tokens"])
    if kind == "word":
        return list(vocab["words"])
    if kind == "char":
        return list(vocab["chars"])
    if kind == "byte":
        return [bytes([b]).decode("latin-1") for b in range(256)]
    raise RnnlabError(f"unknown vocabulary kind {kind!r} in the run", "give a run written by rnnlab")


def load_run_table(path: str | Path) -> tuple[list[str], np.ndarray]:
    """(tokens, (V, D) float32) of a run's (best/) or a checkpoint's embedding table."""
    from .checkpoint import read_meta, read_weights, resolve_checkpoint
    ckpt = resolve_checkpoint(path)
    meta, weights = read_meta(ckpt), read_weights(ckpt)
    key = next((k for k in EMBED_KEYS if k in weights), None)
    require(key is not None, f"{ckpt} has no embedding table (a model fed one-hot vectors, --embed 0?)",
            "give a run trained with an embedding, or a vectors file")
    table = weights[key].float().numpy()
    tokens = run_tokens(meta.get("vocab"))
    require(len(tokens) == table.shape[0], f"{ckpt}: {len(tokens)} tokens but {table.shape[0]} embedding rows",
            "the checkpoint is damaged")
    return tokens, table


def load_table(source: str | Path) -> tuple[list[str], np.ndarray]:
    """A run or checkpoint directory, else a vectors file."""
    return load_run_table(source) if Path(source).is_dir() else read_vectors(source)


def neighbors(tokens: list[str], table: np.ndarray, word: str, k: int = 10) -> list[tuple[str, float]]:
    """The k tokens whose vectors have the highest cosine similarity with `word`'s (itself excluded;
    <pad> and rows of zeros never count)."""
    require(isinstance(k, int) and k > 0, f"-k must be a positive whole number, got {k}", "pass e.g. -k 10")
    index = {t: i for i, t in enumerate(tokens)}
    if word not in index:
        close = difflib.get_close_matches(word, tokens, n=3)
        hint = f"did you mean {', '.join(map(repr, close))}?" if close else "give a word of the table"
        raise RnnlabError(f"{word!r} is not in the table ({len(tokens):,} tokens)", hint)
    norms = np.linalg.norm(table, axis=1)                                  # (V,)
    q = index[word]
    require(norms[q] > 0, f"{word!r} has a zero vector", "give another word")
    sims = table @ table[q] / np.maximum(norms * norms[q], 1e-12)            # (V,) cosine
    sims[q] = -np.inf
    sims[norms == 0] = -np.inf
    for i, t in enumerate(tokens[:2]):
        if t == "<pad>":
            sims[i] = -np.inf
    order = np.argsort(-sims, kind="stable")[:k]
    return [(tokens[i], float(sims[i])) for i in order if np.isfinite(sims[i])]
