"""Load a corpus (bundled name or path), check it, split it 90/10 and encode it to a compact token array."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import NotUTF8Error, RnnlabError, require
from .datasets import BUNDLED, find_bundled
from .vocab import ByteVocab, build_vocab

_HASH_BLOCK = 1 << 24


@dataclass
class Corpus:
    """Encoded training and validation tokens plus what identifies the text they came from."""
    source: str            # the --data value as given
    path: str              # resolved file path
    vocab: object
    train: np.ndarray      # (N_train,) compact unsigned ints
    val: np.ndarray        # (N_val,)
    fingerprint: str       # sha256 of the file's bytes


def resolve_source(source: str) -> Path:
    """A bundled corpus name or a file path -> an existing, non-empty file, else a one-line error."""
    bundled = find_bundled(source)
    path = bundled.path if bundled and not os.path.exists(source) else Path(source).expanduser()
    if not path.exists():
        names = ", ".join(BUNDLED)
        raise RnnlabError(f"no such data file: {source}", f"give a path to a text file or a bundled corpus name ({names})")
    require(path.is_file(), f"--data {source} is not a file", "give a path to a text file")
    require(path.stat().st_size > 0, f"data file {source} is empty", "give a file with some text in it")
    return path


def fingerprint(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_text(path: Path, source: str) -> str:
    """Decode a file as UTF-8, naming the byte offset and suggesting byte tokens when it is not."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUTF8Error(f"{source} is not valid UTF-8 text (bad byte at offset {exc.start})",
                          "use --tokenizer byte to model raw bytes, or convert the file to UTF-8") from None


def encode_file(path: Path, source: str, vocab) -> np.ndarray:
    """Encode a whole file with an existing vocabulary (bytes are memory-mapped, not copied)."""
    if isinstance(vocab, ByteVocab):
        return np.memmap(path, dtype=np.uint8, mode="r")
    return vocab.encode(read_text(path, source))


def split_tokens(tokens: np.ndarray, val_frac: float) -> tuple[np.ndarray, np.ndarray]:
    """First (1 - val_frac) of the tokens train, the rest validate (nanoGPT's split)."""
    n_train = int(len(tokens) * (1.0 - val_frac))
    return tokens[:n_train], tokens[n_train:]


def load_prepared_corpus(source: str, tokenizer: str, val_frac: float, vocab=None) -> Corpus:
    """A directory written by `rnnlab prepare`: its tokens memory-mapped, split where it recorded."""
    from .prepare import load_prepared
    manifest, prepared_vocab, tokens = load_prepared(source)
    require(manifest["tokenizer"] == tokenizer, f"{source} was prepared with --tokenizer {manifest['tokenizer']}, "
            f"not {tokenizer}", f"pass --tokenizer {manifest['tokenizer']}, or prepare the text again")
    require(abs(manifest["val_frac"] - val_frac) < 1e-12, f"{source} was prepared with --val-frac "
            f"{manifest['val_frac']}, not {val_frac}", f"pass --val-frac {manifest['val_frac']}, or prepare again")
    if vocab is not None:
        require(vocab.to_dict() == prepared_vocab.to_dict(), f"{source} has another vocabulary than this run",
                "use the prepared corpus the run was trained on")
    n = manifest["n_train"]
    return Corpus(source=source, path=str(Path(source).resolve()), vocab=vocab or prepared_vocab, train=tokens[:n],
                  val=tokens[n:], fingerprint=manifest["fingerprint"])


def load_corpus(source: str, tokenizer: str = "char", val_frac: float = 0.1, min_count: int = 1, vocab=None) -> Corpus:
    """Read, fingerprint, fit (or reuse) a vocabulary, encode, and split a corpus; a prepared directory is
    memory-mapped instead."""
    from .prepare import is_prepared
    if is_prepared(source):
        return load_prepared_corpus(source, tokenizer, val_frac, vocab)
    path = resolve_source(source)
    if tokenizer == "byte" or isinstance(vocab, ByteVocab):
        vocab = vocab or ByteVocab()
        tokens = encode_file(path, source, vocab)
    else:
        text = read_text(path, source)
        if vocab is None:  # fitted on the whole text so that every validation symbol is encodable
            vocab = build_vocab(tokenizer, text, min_count)
        tokens = vocab.encode(text)
        del text
    train, val = split_tokens(tokens, val_frac)
    require(len(val) >= 2, f"{source} leaves only {len(val)} validation token(s) at --val-frac {val_frac}",
            "use a longer text or a larger --val-frac")
    return Corpus(source=source, path=str(path.resolve()), vocab=vocab, train=train, val=val, fingerprint=fingerprint(path))
