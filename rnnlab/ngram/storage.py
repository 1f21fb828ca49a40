"""An n-gram model on disk: ngram.npz (keys_k, counts_k per order, no pickle) and config.json, written atomically.

The totals and gammas of level.py are derived from the counts again on loading, so the file holds only
what cannot be recomputed. Loading trusts nothing: a foreign directory, another format, a damaged or
inconsistent array is an RnnlabError naming the fix.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import RnnlabError, require
from .level import Level
from .model import MAX_ORDER, KneserNey

FORMAT, FORMAT_VERSION = "rnnlab-ngram", 1
ARRAYS, CONFIG = "ngram.npz", "config.json"
RETRAIN = "train it again with rnnlab ngram train"


def is_ngram_run(run_dir: Path) -> bool:
    """True if run_dir holds the files of an n-gram run (not whether they are intact)."""
    return (run_dir / ARRAYS).is_file() and (run_dir / CONFIG).is_file()


def save_model(model: KneserNey, run_dir: Path, sections: dict) -> None:
    """config.json = format, version, the model's config and `sections` (vocab, data, metrics, ...)."""
    from ..checkpoint import write_atomically        # imports torch: only when a model is written
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "rnnlab_version": __version__,
            "model": model.config(), **sections}
    arrays = {}
    for k, level in enumerate(model.levels, 1):
        arrays[f"keys_{k}"], arrays[f"counts_{k}"] = level.keys, level.counts

    def write(tmp: Path) -> None:
        np.savez(tmp / ARRAYS, **arrays)
        (tmp / CONFIG).write_text(json.dumps(meta, indent=1) + "\n")
    write_atomically(run_dir, write)


def read_config(run_dir: Path) -> dict:
    """config.json of an n-gram run, checked for the format; RnnlabError if run_dir is something else."""
    require(run_dir.is_dir(), f"no such n-gram run: {run_dir}", "give the --out directory of rnnlab ngram train")
    if not is_ngram_run(run_dir):
        if any((run_dir / name).is_dir() for name in ("best", "last")) or (run_dir / "model.safetensors").exists():
            hint = "it is a recurrent run: use rnnlab eval / rnnlab sample for it"
        elif (run_dir / "hmm.npz").exists():
            hint = "it is an HMM run: use rnnlab hmm sample for it"
        else:
            hint = "give the --out directory of rnnlab ngram train"
        raise RnnlabError(f"{run_dir} is not an n-gram run (no {ARRAYS} and {CONFIG})", hint)
    try:
        meta = json.loads((run_dir / CONFIG).read_text())
    except (ValueError, UnicodeDecodeError):
        raise RnnlabError(f"{run_dir / CONFIG} is damaged (not JSON)", RETRAIN) from None
    require(isinstance(meta, dict) and meta.get("format") == FORMAT, f"{run_dir / CONFIG} is not an n-gram "
            "model's config", RETRAIN)
    require(meta.get("format_version") == FORMAT_VERSION, f"{run_dir} holds an n-gram model of format "
            f"{meta.get('format_version')!r}; this rnnlab reads format {FORMAT_VERSION}", RETRAIN)
    return meta


def load_model(run_dir: Path) -> tuple[KneserNey, dict]:
    """The model saved in run_dir and its config.json."""
    meta = read_config(run_dir)
    damaged = f"{run_dir} is damaged"
    try:
        cfg = meta["model"]
        order, vocab_size, modified, discount = int(cfg["order"]), int(cfg["vocab_size"]), bool(cfg["modified"]), \
            cfg["discount"]
        discounts = np.array(cfg["discounts"], dtype=np.float64).reshape(order, 3)
    except (KeyError, TypeError, ValueError):
        raise RnnlabError(f"{damaged}: its config.json lacks a valid model section", RETRAIN) from None
    require(1 <= order <= MAX_ORDER and vocab_size >= 1, f"{damaged}: order {order}, {vocab_size} symbols", RETRAIN)
    require(bool(np.all((discounts > 0) & (discounts <= [1, 2, 3]))), f"{damaged}: discounts outside (0, c]",
            RETRAIN)
    try:
        with np.load(run_dir / ARRAYS, allow_pickle=False) as arrays:
            tables = [(arrays[f"keys_{k}"], arrays[f"counts_{k}"]) for k in range(1, order + 1)]
    except Exception as exc:             # a torn zip, a missing member, a pickled object: all mean the same
        raise RnnlabError(f"{damaged}: {ARRAYS} cannot be read ({exc.__class__.__name__})", RETRAIN) from None
    levels, n_contexts = [], 1
    for k, (keys, counts) in enumerate(tables, 1):
        _check_table(keys, counts, n_contexts * vocab_size, f"{damaged}: order {k} of {ARRAYS}")
        levels.append(Level(keys.astype(np.int64), counts.astype(np.int32), np.concatenate(([0.0], discounts[k - 1])),
                            vocab_size, n_contexts))
        n_contexts = len(keys)
    return KneserNey(levels, vocab_size, modified, discount), meta


def _check_table(keys: np.ndarray, counts: np.ndarray, key_limit: int, where: str) -> None:
    """Keys strictly increasing in [0, key_limit), one non-negative integer count each."""
    require(keys.ndim == 1 and counts.shape == keys.shape and keys.dtype.kind in "iu" and counts.dtype.kind in "iu",
            f"{where} has arrays of the wrong shape or type", RETRAIN)
    if len(keys):
        require(int(keys[0]) >= 0 and int(keys[-1]) < key_limit and bool(np.all(np.diff(keys) > 0)),
                f"{where} has keys out of order or out of range", RETRAIN)
        require(int(counts.min()) >= 0 and int(counts.max()) < 1 << 31, f"{where} has impossible counts", RETRAIN)
