"""Vocabularies: characters (Unicode code points), bytes, and words.

Every vocabulary maps text to a compact unsigned-integer NumPy array and back,
and serialises to a plain dict stored in a checkpoint's config.json.
"""
from __future__ import annotations

import codecs
import re
from collections import Counter
from typing import Iterable

import numpy as np

from ..errors import RnnlabError, require

_CHUNK_CHARS = 1 << 22  # encode big texts in 4M-character pieces to bound temporary memory


def compact_dtype(size: int) -> np.dtype:
    """Smallest unsigned dtype that holds ids 0..size-1."""
    if size <= 1 << 8:
        return np.dtype(np.uint8)
    if size <= 1 << 16:
        return np.dtype(np.uint16)
    return np.dtype(np.int32)


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _describe(chars: Iterable[str], limit: int = 10) -> str:
    chars = sorted(chars)
    shown = " ".join(repr(c) for c in chars[:limit])
    return shown + (f" and {len(chars) - limit} more" if len(chars) > limit else "")


def add_code_point_counts(counts: np.ndarray, points: np.ndarray) -> np.ndarray:
    """counts (indexed by code point) plus the occurrences of `points`, grown as far as the largest one."""
    found = np.bincount(points)
    if len(found) > len(counts):
        found[: len(counts)] += counts
        return found
    counts[: len(found)] += found
    return counts


class CharVocab:
    """One token per Unicode code point seen in the training text, sorted by code point."""
    kind = "char"

    def __init__(self, chars: list[str]):
        self.chars = list(chars)
        self.size = len(self.chars)
        self.dtype = compact_dtype(self.size)
        points = np.array([ord(c) for c in self.chars], dtype=np.int64)
        self._lut = np.full(int(points.max(initial=0)) + 1, -1, dtype=np.int64)  # code point -> id
        self._lut[points] = np.arange(self.size)

    @classmethod
    def fit(cls, text: str) -> "CharVocab":
        counts = np.zeros(0, dtype=np.int64)
        for start in range(0, len(text), _CHUNK_CHARS):
            counts = add_code_point_counts(counts, _code_points(text[start:start + _CHUNK_CHARS]))
        return cls.from_counts(counts)

    @classmethod
    def from_counts(cls, counts: np.ndarray) -> "CharVocab":
        """The vocabulary of the code points whose count (counts[code point]) is not zero."""
        return cls([chr(int(p)) for p in np.flatnonzero(counts)])

    def unknown(self, text: str) -> set[str]:
        """Characters of `text` that this vocabulary lacks."""
        return {c for c in set(text) if ord(c) >= len(self._lut) or self._lut[ord(c)] < 0}

    def encode(self, text: str) -> np.ndarray:
        missing = self.unknown(text)
        if missing:
            raise RnnlabError(f"characters not in the model's vocabulary: {_describe(missing)}",
                              "remove them or train on text that contains them")
        out = np.empty(len(text), dtype=self.dtype)
        for start in range(0, len(text), _CHUNK_CHARS):
            piece = _code_points(text[start:start + _CHUNK_CHARS])
            out[start:start + len(piece)] = self._lut[piece]
        return out

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def decoder(self):
        """A streaming decoder: feed(id) -> text to print now."""
        return lambda i: self.chars[int(i)]

    def start_token(self) -> int:
        return self._lut[10] if len(self._lut) > 10 and self._lut[10] >= 0 else 0

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": "".join(self.chars)}


class ByteVocab:
    """256 symbols: the raw bytes of any file, UTF-8 or not."""
    kind = "byte"
    size = 256
    dtype = np.dtype(np.uint8)

    def unknown(self, text: str) -> set[str]:
        return set()

    def encode(self, text: str | bytes) -> np.ndarray:
        data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text  # raw argv bytes survive
        return np.frombuffer(data, dtype=np.uint8).copy()

    def decode(self, ids: Iterable[int]) -> str:
        return bytes(int(i) for i in ids).decode("utf-8", errors="replace")

    def decoder(self):
        incremental = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return lambda i: incremental.decode(bytes([int(i)]))

    def start_token(self) -> int:
        return 10

    def to_dict(self) -> dict:
        return {"kind": self.kind}


WORD_PATTERN = re.compile(r"\w+(?:'\w+)*|[^\w\s]|\n")
_NO_SPACE_BEFORE = set(".,;:!?)]}'\"\n")
_NO_SPACE_AFTER = set("([{\n")


class WordVocab:
    """Words, punctuation marks and newlines; words seen fewer than `min_count` times become <unk>."""
    kind = "word"
    UNK = "<unk>"

    def __init__(self, words: list[str]):
        self.words = list(words)
        self.size = len(self.words)
        self.dtype = compact_dtype(self.size)
        self._index = {w: i for i, w in enumerate(self.words)}
        self._unk = self._index[self.UNK]

    @staticmethod
    def tokenize(text: str) -> list[str]:
        return WORD_PATTERN.findall(text)

    @classmethod
    def fit(cls, text: str, min_count: int = 1) -> "WordVocab":
        counts: Counter = Counter()
        for piece in _line_chunks(text):
            counts.update(cls.tokenize(piece))
        return cls.from_counts(counts, min_count)

    @classmethod
    def from_counts(cls, counts: Counter, min_count: int = 1) -> "WordVocab":
        """The words counted at least min_count times, plus <unk>."""
        kept = sorted(w for w, c in counts.items() if c >= min_count and w != cls.UNK)
        require(kept, f"no word occurs at least --min-count {min_count} times, so every word would be <unk>",
                f"lower --min-count; the most frequent word occurs {max(counts.values(), default=0)} times")
        return cls([cls.UNK] + kept)

    def unknown(self, text: str) -> set[str]:
        return {w for w in self.tokenize(text) if w not in self._index}

    def encode(self, text: str) -> np.ndarray:
        pieces = []
        for piece in _line_chunks(text):
            tokens = self.tokenize(piece)
            pieces.append(np.fromiter((self._index.get(w, self._unk) for w in tokens), dtype=self.dtype, count=len(tokens)))
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=self.dtype)

    def decode(self, ids: Iterable[int]) -> str:
        step = self.decoder()
        return "".join(step(i) for i in ids)

    def decoder(self):
        previous = ["\n"]

        def step(i) -> str:
            word = self.words[int(i)]
            joined = previous[0] in _NO_SPACE_AFTER or word[0] in _NO_SPACE_BEFORE
            previous[0] = word[-1]
            return word if joined else " " + word
        return step

    def start_token(self) -> int:
        return self._index.get("\n", 0)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "words": self.words}


def _line_chunks(text: str):
    """Consecutive pieces of about _CHUNK_CHARS characters, each cut just after a newline (never inside a word)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _CHUNK_CHARS)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def build_vocab(tokenizer: str, text: str, min_count: int = 1):
    """Fit a vocabulary of the given kind to training text."""
    if tokenizer == "char":
        return CharVocab.fit(text)
    if tokenizer == "byte":
        return ByteVocab()
    if tokenizer == "word":
        return WordVocab.fit(text, min_count)
    raise RnnlabError(f"unknown tokenizer {tokenizer!r}", "use --tokenizer char, byte or word")


def vocab_from_dict(d: dict):
    """Rebuild a vocabulary saved with to_dict()."""
    kind = d.get("kind")
    if kind == "char":
        return CharVocab(list(d["chars"]))
    if kind == "byte":
        return ByteVocab()
    if kind == "word":
        return WordVocab(d["words"])
    raise RnnlabError(f"unknown vocabulary kind {kind!r} in checkpoint", "the checkpoint is damaged or from another tool")
