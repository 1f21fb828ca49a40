"""An HMM as a character language model: fit on the training split, score the validation split in bits/char.

A run directory holds hmm.npz (startprob, transmat, emissionprob) and config.json
(vocabulary, data fingerprint, metrics), written atomically like the RNN checkpoints.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..checkpoint import write_atomically
from ..errors import RnnlabError, require
from ..text.corpus import load_corpus
from ..text.vocab import CharVocab, vocab_from_dict
from .alphabet import LETTERS, letters_only
from .model import DiscreteHMM

HMM_FORMAT = 1


def fit_language_model(data: str, states: int, letters: bool = False, val_frac: float = 0.1, n_iter: int = 100,
                       tol: float = 1e-3, seed: int = 0, out: str | None = None, progress=None) -> dict:
    """Baum-Welch on the training split; validation bits per symbol on the split the RNNs use.

    With `out`, the fitted model is written there (hmm.npz, config.json); `out` must be new or empty,
    and is checked before any fitting. progress(iteration, loglik, model) is called after every EM step."""
    if out is not None:
        _check_out(Path(out))
    corpus = load_corpus(data, "char", val_frac)
    if letters:
        text = corpus.vocab.decode(np.concatenate([corpus.train, corpus.val]))
        tokens = letters_only(text)
        n_train = int(len(tokens) * (1 - val_frac))
        train, val, vocab = tokens[:n_train], tokens[n_train:], CharVocab(sorted(LETTERS))
        remap = np.array([vocab.chars.index(c) for c in LETTERS])
        train, val = remap[train], remap[val]
    else:
        train, val, vocab = corpus.train.astype(np.int64), corpus.val.astype(np.int64), corpus.vocab
    require(len(train) >= 2 and len(val) >= 1, f"{data} is too short to fit an HMM on "
            f"({len(train)} training and {len(val)} validation symbols)", "give a longer text")
    hmm = DiscreteHMM(states, vocab.size, n_iter=n_iter, tol=tol, init="random", pseudocount=1e-6, seed=seed)
    hmm.fit(train, callback=progress)
    val_nats = -hmm.score(val) / len(val)
    result = {"val_bits_per_char": val_nats / math.log(2), "val_nats_per_char": val_nats,
              "train_bits_per_char": -hmm.history_[-1] / len(train) / math.log(2), "iterations": hmm.n_iter_,
              "converged": hmm.converged_, "states": states, "n_symbols": vocab.size, "n_train": int(len(train)),
              "n_val": int(len(val))}
    if out is not None:
        save(Path(out), hmm, vocab, {"data": data, "letters": letters, "fingerprint": corpus.fingerprint}, result)
        result["run_dir"] = str(out)
    return result


def _check_out(run_dir: Path) -> None:
    """--out must be new or an empty directory: an HMM run, a training run or other files are never replaced."""
    require(str(run_dir).strip() not in ("", "."), "--out is empty or the current directory",
            "give --out a new directory name, e.g. --out runs/hmm16")
    require(not run_dir.exists() or run_dir.is_dir(), f"--out {run_dir} is a file, not a directory",
            "give --out a directory")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        meta = run_dir / "config.json"
        earlier = meta.exists() and '"rnnlab-hmm"' in meta.read_text(errors="replace")
        what = "already holds an HMM run" if earlier else "is not empty and is not an HMM run"
        require(False, f"--out {run_dir} {what}", "choose a new --out directory; runs are never overwritten")


def save(run_dir: Path, hmm: DiscreteHMM, vocab, data: dict, metrics: dict) -> None:
    meta = {"format": "rnnlab-hmm", "format_version": HMM_FORMAT, "vocab": vocab.to_dict(), "data": data,
            "metrics": metrics, "loglik_history": hmm.history_}

    def write(tmp: Path) -> None:
        np.savez(tmp / "hmm.npz", startprob=hmm.startprob, transmat=hmm.transmat, emissionprob=hmm.emissionprob)
        (tmp / "config.json").write_text(json.dumps(meta, indent=1) + "\n")
    write_atomically(run_dir, write)


def load(run_dir: str | Path) -> tuple[DiscreteHMM, object]:
    """The fitted HMM and its vocabulary."""
    run_dir = Path(run_dir)
    require((run_dir / "hmm.npz").exists() and (run_dir / "config.json").exists(),
            f"{run_dir} is not an rnnlab HMM run (no hmm.npz and config.json)", "give the --out of `rnnlab hmm train`")
    try:
        meta = json.loads((run_dir / "config.json").read_text())
    except ValueError:
        raise RnnlabError(f"{run_dir / 'config.json'} is damaged", "retrain the HMM") from None
    require(isinstance(meta, dict) and meta.get("format") == "rnnlab-hmm" and meta.get("format_version") == HMM_FORMAT,
            f"{run_dir} holds an HMM of another format", "retrain it with this rnnlab")
    try:
        arrays = np.load(run_dir / "hmm.npz")
        start, trans, emis = arrays["startprob"], arrays["transmat"], arrays["emissionprob"]
        vocab = vocab_from_dict(meta["vocab"])
    except Exception as exc:
        raise RnnlabError(f"{run_dir} is damaged ({exc.__class__.__name__})", "retrain the HMM") from None
    K, V = emis.shape if emis.ndim == 2 else (0, 0)
    require(K > 0 and start.shape == (K,) and trans.shape == (K, K) and V == vocab.size,
            f"{run_dir} is damaged: its arrays do not fit together or the {vocab.size}-symbol vocabulary",
            "retrain the HMM")
    require(all(a.dtype.kind in "fiu" for a in (start, trans, emis)), f"{run_dir / 'hmm.npz'} is damaged: "
            "its arrays are not numbers", "retrain the HMM")
    hmm = DiscreteHMM(K, V)
    hmm.startprob, hmm.transmat, hmm.emissionprob = (a.astype(np.float64) for a in (start, trans, emis))
    hmm.check_parameters(f"{run_dir / 'hmm.npz'} is damaged")
    return hmm, vocab


def sample_text(run_dir: str | Path, n: int, seed=None) -> str:
    hmm, vocab = load(run_dir)
    symbols, _ = hmm.sample(n, seed=seed)
    return vocab.decode(symbols)
