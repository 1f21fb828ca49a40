"""`rnnlab prepare`: encode a text once, in bounded memory, into a memory-mapped token file.

Two streaming passes over the file in blocks of BLOCK bytes: the first hashes it (sha256, the data
fingerprint runs record) and counts its symbols (code points, or words cut at line ends) to fit the
vocabulary; the second encodes each block into `tokens.bin`, a raw array of the vocabulary's compact dtype.
`prepared.json` records the vocabulary, the dtype, the token count, the train/validation split (the first
1 - val_frac of the tokens train, as load_corpus splits) and the source. `load_prepared` maps the file, so
training reads it without loading it.

    DIR/prepared.json   {"format", "tokenizer", "vocab", "dtype", "n_tokens", "n_train", "val_frac", "source", ...}
    DIR/tokens.bin      n_tokens tokens
"""
from __future__ import annotations

import codecs
import hashlib
import itertools
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import RnnlabError, require
from .vocab import ByteVocab, CharVocab, WordVocab, add_code_point_counts, vocab_from_dict

FORMAT = 1
BLOCK = 1 << 24                       # 16 MB of text per step: memory stays a small multiple of it
MANIFEST = "prepared.json"
TOKENS = "tokens.bin"


def is_prepared(path) -> bool:
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


def _not_utf8(path: Path, where: str) -> RnnlabError:
    return RnnlabError(f"{path} is not valid UTF-8 text ({where})",
                       "prepare it with --tokenizer byte, or convert it to UTF-8")


def _text_blocks(path: Path, on_bytes: Callable[[bytes], None] | None = None) -> Iterator[str]:
    """The file decoded as UTF-8 in blocks that end at a line break (never inside a character or a word)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    carry = ""
    offset = 0
    for raw in itertools.chain(_raw_blocks(path, on_bytes), [b""]):     # b"": the final, flushing decode
        try:
            text = carry + decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, f"bad byte near offset {offset + exc.start}") from None
        offset += len(raw)
        cut = len(text) if not raw else text.rfind("\n") + 1
        carry = text[cut:] if cut else text
        if cut:
            yield text[:cut]


def _code_point_blocks(path: Path, on_bytes: Callable[[bytes], None] | None = None) -> Iterator[np.ndarray]:
    """The file's Unicode code points, block by block. An ASCII block read at a character boundary is its
    own code points (no decoding); others go through an incremental UTF-8 decoder."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    for raw in _raw_blocks(path, on_bytes):
        if raw.isascii() and not decoder.getstate()[0]:
            yield np.frombuffer(raw, dtype=np.uint8)
        else:
            try:
                yield _code_points(decoder.decode(raw))
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, f"bad byte near offset {offset + exc.start}") from None
        offset += len(raw)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _not_utf8(path, "it ends inside a character") from None


def _code_points(block: str) -> np.ndarray:
    if block.isascii():
        return np.frombuffer(block.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(block.encode("utf-32-le"), dtype=np.uint32)


def _first_pass(path: Path, tokenizer: str, on_progress) -> tuple[str, object, int]:
    """sha256 of the file, the fitted vocabulary (None for bytes) and the token count."""
    digest = hashlib.sha256()
    size = max(path.stat().st_size, 1)
    done = [0]

    def seen(raw: bytes) -> None:
        digest.update(raw)
        done[0] += len(raw)
        if on_progress:
            on_progress(0.5 * done[0] / size)
    if tokenizer == "byte":
        for _ in _raw_blocks(path, seen):
            pass
        return digest.hexdigest(), ByteVocab(), path.stat().st_size
    if tokenizer == "char":
        counts = np.zeros(128, dtype=np.int64)
        for points in _code_point_blocks(path, seen):
            counts = add_code_point_counts(counts, points)
        return digest.hexdigest(), CharVocab.from_counts(counts), int(counts.sum())
    words: Counter = Counter()
    for block in _text_blocks(path, seen):
        words.update(WordVocab.tokenize(block))
    return digest.hexdigest(), words, sum(words.values())


def _encode_into(path: Path, vocab, out, on_progress) -> int:
    """Second pass: every block's tokens appended to the open file `out`; returns the count written. Plain
    writes, not a writable memory map: the written pages are the kernel's cache, not this process's memory."""
    size = max(path.stat().st_size, 1)
    done, count = 0, 0

    def measured(raw: bytes) -> None:
        nonlocal done
        done += len(raw)
    if vocab.kind == "byte":
        blocks = (np.frombuffer(raw, dtype=np.uint8) for raw in _raw_blocks(path, measured))
    elif vocab.kind == "char":                     # code point -> id by one gather per block
        lut = np.maximum(vocab._lut, 0).astype(vocab.dtype)
        blocks = (np.take(lut, points) for points in _code_point_blocks(path, measured))
    else:
        blocks = (vocab.encode(block) for block in _text_blocks(path, measured))
    for ids in blocks:
        out.write(np.ascontiguousarray(ids, dtype=vocab.dtype).data)
        count += len(ids)
        if on_progress:
            on_progress(0.5 + 0.5 * done / size)
    return count


def _raw_blocks(path: Path, on_bytes: Callable[[bytes], None] | None = None) -> Iterator[bytes]:
    with open(path, "rb") as f:
        for raw in iter(lambda: f.read(BLOCK), b""):
            if on_bytes is not None:
                on_bytes(raw)
            yield raw


def check_request(source: str, out, tokenizer: str, val_frac: float) -> tuple[Path, Path]:
    """The source file and the output directory of a prepare request, or a one-line error."""
    from .corpus import resolve_source
    require(tokenizer in ("char", "byte", "word"), f"unknown tokenizer {tokenizer!r}", "use char, byte or word")
    require(0.0 < val_frac < 1.0, f"--val-frac must be between 0 and 1, got {val_frac}", "pass e.g. --val-frac 0.1")
    path = resolve_source(source)
    out = Path(out)
    require(not out.exists() or (out.is_dir() and not any(out.iterdir())), f"--out {out} already exists and is "
            "not empty", "give a new directory")
    return path, out


def prepare(source: str, out, tokenizer: str = "char", val_frac: float = 0.1, min_count: int = 1,
            on_progress: Callable[[float], None] | None = None) -> dict:
    """Encode `source` into the directory `out` (created atomically; it must not exist or be empty)."""
    path, out = check_request(source, out, tokenizer, val_frac)
    fingerprint, fitted, n_tokens = _first_pass(path, tokenizer, on_progress)
    vocab = WordVocab.from_counts(fitted, min_count) if tokenizer == "word" else fitted
    n_train = int(n_tokens * (1.0 - val_frac))
    require(n_tokens - n_train >= 2, f"{source} leaves fewer than 2 validation tokens at --val-frac {val_frac}",
            "use a longer text or a larger --val-frac")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with open(tmp / TOKENS, "wb") as f:
            written = _encode_into(path, vocab, f, on_progress)
            f.flush()
            os.fsync(f.fileno())
        require(written == n_tokens, f"{source} changed while it was being prepared", "prepare it again")
        manifest = {"format": FORMAT, "tokenizer": tokenizer, "vocab": vocab.to_dict(), "dtype": np.dtype(vocab.dtype).name,
                    "n_tokens": n_tokens, "n_train": n_train, "val_frac": val_frac, "min_count": min_count,
                    "source": str(path.resolve()), "source_bytes": path.stat().st_size, "fingerprint": fingerprint}
        (tmp / MANIFEST).write_text(json.dumps(manifest) + "\n")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dict(manifest, out=str(out), vocab_size=vocab.size)


def read_manifest(directory) -> dict:
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        raise RnnlabError(f"{path} is not a readable prepared-corpus manifest", "prepare the text again") from None
    require(manifest.get("format") == FORMAT, f"{directory} was prepared by another format version "
            f"({manifest.get('format')})", "prepare the text again with this rnnlab")
    return manifest


def load_prepared(directory) -> tuple[dict, object, np.ndarray]:
    """(manifest, vocabulary, the memory-mapped tokens) of a prepared directory, checked."""
    manifest = read_manifest(directory)
    dtype = np.dtype(manifest["dtype"])
    file = Path(directory) / TOKENS
    expected = manifest["n_tokens"] * dtype.itemsize
    require(file.is_file() and file.stat().st_size >= expected, f"{file} is missing or truncated "
            f"(expected {expected:,} bytes)", "prepare the text again")
    tokens = np.memmap(file, dtype=dtype, mode="r", shape=(manifest["n_tokens"],))
    return manifest, vocab_from_dict(manifest["vocab"]), tokens


AUTO_PREPARE_BYTES = 256 << 20        # a plain text file larger than this is prepared into the run's cache
CACHE_NAME = "corpus"


def cached_corpus(source: str, tokenizer: str, val_frac: float, min_count: int, cache_dir, progress: bool = False,
                  vocab=None):
    """A text file above AUTO_PREPARE_BYTES, prepared once into `cache_dir` (a run's RUN/corpus) and
    memory-mapped from there; None for smaller files, prepared directories and byte tokens (those are
    memory-mapped already). A cache whose source changed (sha256) is prepared again."""
    from ..callbacks import fraction_bar
    from .corpus import fingerprint, load_prepared_corpus, resolve_source
    if tokenizer == "byte" or is_prepared(source):
        return None
    path = resolve_source(source)
    if path.stat().st_size <= AUTO_PREPARE_BYTES:
        return None
    cache_dir = Path(cache_dir)
    if is_prepared(cache_dir):
        manifest = read_manifest(cache_dir)
        if manifest["source"] == str(path.resolve()) and manifest["fingerprint"] == fingerprint(path):
            return load_prepared_corpus(str(cache_dir), tokenizer, val_frac, vocab)
        shutil.rmtree(cache_dir)
    with fraction_bar(progress, f"preparing {path.name} ({path.stat().st_size / 1e6:,.0f} MB) once") as bar:
        prepare(source, cache_dir, tokenizer, val_frac, min_count, on_progress=bar)
    corpus = load_prepared_corpus(str(cache_dir), tokenizer, val_frac, vocab)
    corpus.source = source
    return corpus
