"""N-gram runs: fit on the recurrent runs' training split, score their validation split, sample, read back.

The corpus comes from text.corpus.load_corpus with the same tokenizer and --val-frac as `rnnlab train`, so
the validation tokens are exactly those `rnnlab eval RUN` scores, and scored the same way: every token but
the first, each from the tokens before it within the split (n = len(val) - 1), in nats and bits per token.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import NotUTF8Error, RnnlabError, rehint, require
from ..text.corpus import encode_file, fingerprint, load_corpus, resolve_source
from ..text.vocab import vocab_from_dict
from .model import KneserNey
from .storage import is_ngram_run, load_model


@dataclass
class NgramRun:
    """A fitted model read back from its run directory, with the vocabulary and config.json it was saved with."""
    path: Path
    model: KneserNey
    vocab: object
    meta: dict

    @property
    def unit(self) -> str:
        return self.meta["data"]["tokenizer"]


def score(model: KneserNey, tokens: np.ndarray, unit: str = "char"):
    """evaluation.Score of tokens[1:], each given the tokens before it in `tokens` (as `rnnlab eval` scores)."""
    from ..evaluation import Score      # `rnnlab eval`'s; it imports torch, which sampling does without
    require(len(tokens) >= 2, f"there are {len(tokens)} token(s) to score; at least 2 are needed", "give a longer text")
    nats = -float(np.sum(model.logprob(tokens)[1:], dtype=np.float64)) / (len(tokens) - 1)
    return Score(nats=nats, n_tokens=len(tokens) - 1, unit=unit)


def check_new_out(out: str | Path) -> Path:
    """--out must be a new or empty directory we can create or write; nothing is ever overwritten."""
    run_dir = Path(out)
    require(str(out).strip() not in ("", "."), "--out is empty or the current directory",
            "give --out a new directory name, e.g. --out runs/ng5")
    require(not run_dir.exists() or run_dir.is_dir(), f"--out {run_dir} is a file, not a directory",
            "give --out a directory")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        what = "already holds an n-gram run" if is_ngram_run(run_dir) else "is not empty"
        raise RnnlabError(f"--out {run_dir} {what}", "choose a new --out directory; runs are never overwritten")
    base = next(p for p in [run_dir.absolute(), *run_dir.absolute().parents] if p.exists())
    require(base.is_dir() and os.access(base, os.W_OK | os.X_OK), f"--out {run_dir} cannot be created: {base} is "
            f"{'not a directory' if not base.is_dir() else 'not writable'}", "choose a directory you can write")
    return run_dir


def train(data: str = "tiny_shakespeare", tokenizer: str = "char", order: int = 5, val_frac: float = 0.1,
          discount: float | None = None, modified: bool = True, out: str | Path | None = None,
          on_level: Callable[[int], None] | None = None) -> dict:
    """Fit on the training split, score the validation split; with `out`, save the run there (checked first).

    Returns the validation score (Score.to_dict's keys: nats_per_<unit>, bits_per_<unit>, perplexity,
    n_<unit>s) with order, discounts, n-grams per order, train_seconds and eval_seconds (and run_dir)."""
    require(0 < val_frac < 1, f"--val-frac must lie strictly between 0 and 1, got {val_frac}",
            "pass e.g. --val-frac 0.1")
    run_dir = check_new_out(out) if out is not None else None
    corpus = load_corpus(data, tokenizer, val_frac)
    import rnnlab.evaluation  # noqa: F401  (torch's import, before the clock starts: it is not counting or scoring)
    started = time.perf_counter()
    model = KneserNey.fit(corpus.train, corpus.vocab.size, order, discount, modified, on_level)
    fitted = time.perf_counter()
    val = score(model, corpus.val, tokenizer)
    result = {**val.to_dict(), "order": order, "tokenizer": tokenizer, "vocab_size": corpus.vocab.size,
              "n_train": int(len(corpus.train)), "modified": model.modified, "discounts": model.config()["discounts"],
              "ngrams": model.config()["ngrams"], "train_seconds": round(fitted - started, 3),
              "eval_seconds": round(time.perf_counter() - fitted, 3)}
    if run_dir is not None:
        data_info = {"source": data, "path": corpus.path, "tokenizer": tokenizer, "val_frac": val_frac,
                     "fingerprint": corpus.fingerprint, "n_train": int(len(corpus.train)),
                     "n_val": int(len(corpus.val))}
        model.save(run_dir, {"vocab": corpus.vocab.to_dict(), "data": data_info, "metrics": result})
        result["run_dir"] = str(run_dir)
    return result


def load(run_dir: str | Path) -> NgramRun:
    """The model, vocabulary and config of an `rnnlab ngram train` run."""
    model, meta = load_model(Path(run_dir))
    try:
        vocab = vocab_from_dict(meta["vocab"])
        unit = meta["data"]["tokenizer"]
    except (KeyError, TypeError, ValueError):
        raise RnnlabError(f"{run_dir} is damaged: config.json lacks its vocabulary or data section",
                          "train it again with rnnlab ngram train") from None
    require(vocab.size == model.vocab_size and unit in ("char", "byte", "word"), f"{run_dir} is damaged: its "
            f"vocabulary has {vocab.size} symbols, its model {model.vocab_size}",
            "train it again with rnnlab ngram train")
    return NgramRun(Path(run_dir), model, vocab, meta)


def evaluate(run: NgramRun | str | Path, data: str | None = None):
    """Score of a run (or its directory) on its validation split (re-read from its data, checked by
    fingerprint), or on all of `data`."""
    run = run if isinstance(run, NgramRun) else load(run)
    info = run.meta["data"]
    if data is None:
        source = info["path"] if os.path.isfile(info["path"]) else info["source"]    # a relative --data from elsewhere
        require(fingerprint(resolve_source(source)) == info["fingerprint"], f"{source} has changed since the run "
                "was trained, so its validation split is not the one the model was scored on",
                "pass --data with the text to score")
        tokens = load_corpus(source, info["tokenizer"], info["val_frac"], vocab=run.vocab).val
    else:
        try:
            tokens = encode_file(resolve_source(data), data, run.vocab)
        except NotUTF8Error as exc:      # the run's tokenizer is fixed: there is no --tokenizer to suggest
            raise rehint(exc, f"this run reads {run.unit}s of UTF-8 text: convert {data} to UTF-8") from None
    return score(run.model, np.asarray(tokens), run.unit)


def generate_text(run_dir: str | Path, length: int, prime: str = "", seed: int | None = None,
                  temperature: float = 1.0) -> Iterator[str]:
    """Yield the prime, then `length` sampled tokens as text pieces. Without a prime the chain starts after
    the vocabulary's start token (a newline), as `rnnlab sample` does."""
    run = load(run_dir)
    missing = run.vocab.unknown(prime)
    what = "words" if run.vocab.kind == "word" else "characters"
    require(not missing, f"--prime has {what} the model never saw: {' '.join(repr(c) for c in sorted(missing)[:10])}",
            f"use only {what} from the training text")
    prime_ids = [int(t) for t in run.vocab.encode(prime)] if prime else []
    decode = run.vocab.decoder()
    if prime:
        yield prime
        for t in prime_ids:
            decode(t)                    # keep a stateful decoder (word spacing) in step with the prime
    generator = np.random.default_rng(seed)
    for token in run.model.generate(length, prime_ids or [run.vocab.start_token()], generator, temperature):
        yield decode(token)
