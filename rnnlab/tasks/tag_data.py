"""Tagged sentences as the tagger reads them: word, shape and character ids, tag ids, padded batches.

Each word is seen three ways:
  word   its normalised form (lower case, digits -> 0, URLs -> <url>, @user -> @user) in the training
         split's vocabulary (<pad> 0, <unk> 1; words rarer than min_count are <unk>)
  shape  one of SHAPES (lower, Title, UPPER, mixed, number, ...): the case the normalised word lost
  chars  its characters, as written, in the training split's character vocabulary
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..text.conll import Tagged
from ..text.label_vocab import PAD, LabelSet, TokenVocab
from .batches import pad_batch

SHAPES = ("<pad>", "lower", "title", "upper", "mixed", "number", "alnum", "punct", "mention", "hashtag", "url",
          "other")
_URL = re.compile(r"^(https?://|www\.)\S+$", re.I)


def normalise(word: str) -> str:
    """The word-vocabulary key: lower case, digits as 0, any URL as <url>, any @mention as @user."""
    if _URL.match(word):
        return "<url>"
    if len(word) > 1 and word[0] == "@":
        return "@user"
    return re.sub(r"\d", "0", word.lower())


def shape(word: str) -> int:
    """Index in SHAPES of the word's orthographic class."""
    if _URL.match(word):
        return SHAPES.index("url")
    if len(word) > 1 and word[0] == "@":
        return SHAPES.index("mention")
    if len(word) > 1 and word[0] == "#":
        return SHAPES.index("hashtag")
    letters = [c for c in word if c.isalpha()]
    if not letters:
        if any(c.isdigit() for c in word):
            return SHAPES.index("number")
        return SHAPES.index("punct") if all(not c.isalnum() for c in word) else SHAPES.index("other")
    if any(c.isdigit() for c in word):
        return SHAPES.index("alnum")
    if all(c.islower() for c in letters):
        return SHAPES.index("lower")
    if all(c.isupper() for c in letters):
        return SHAPES.index("upper") if len(letters) > 1 else SHAPES.index("title")
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return SHAPES.index("title")
    return SHAPES.index("mixed")


@dataclass
class Vocabs:
    words: TokenVocab
    chars: TokenVocab
    tags: LabelSet

    @classmethod
    def fit(cls, train: Tagged, min_count: int = 1) -> "Vocabs":
        words = TokenVocab.fit([[normalise(w) for w in s] for s in train.tokens], min_count, "word", lower=True)
        chars = TokenVocab.fit([list(w) for s in train.tokens for w in s], 1, "char", lower=False)
        return cls(words, chars, LabelSet.fit(t for s in train.tags for t in s))

    def to_dict(self) -> dict:
        return {"words": self.words.to_dict(), "chars": self.chars.to_dict(), "tags": self.tags.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocabs":
        return cls(TokenVocab.from_dict(d["words"]), TokenVocab.from_dict(d["chars"]), LabelSet.from_dict(d["tags"]))


@dataclass
class Encoded:
    """One split as arrays: per sentence word ids (T,), shape ids (T,), char ids (T, L) and tag ids (T,)."""
    words: list[np.ndarray]
    shapes: list[np.ndarray]
    chars: list[np.ndarray]
    char_lengths: list[np.ndarray]
    tags: list[np.ndarray] | None
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.words)


def encode(tokens: list[list[str]], vocabs: Vocabs, max_chars: int, tags: list[list[str]] | None = None,
           source: str = "the data") -> Encoded:
    """Arrays of sentences; tags the model never saw are refused (LabelSet.encode names them)."""
    words, shapes, chars, char_lengths = [], [], [], []
    for sent in tokens:
        words.append(vocabs.words.encode([normalise(w) for w in sent]))
        shapes.append(np.array([shape(w) for w in sent], dtype=np.int64))
        cut = [w if len(w) <= max_chars else w[:max_chars - 1] + w[-1] for w in sent]
        c = np.full((len(sent), max(map(len, cut))), PAD, dtype=np.int64)     # (T, L)
        for i, w in enumerate(cut):
            c[i, :len(w)] = vocabs.chars.encode(list(w))
        chars.append(c)
        char_lengths.append(np.array([len(w) for w in cut], dtype=np.int64))
    tag_ids = None
    if tags is not None:
        flat = [t for s in tags for t in s]
        ids = vocabs.tags.encode(flat, source)
        cuts = np.cumsum([0] + [len(s) for s in tags])
        tag_ids = [ids[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    return Encoded(words, shapes, chars, char_lengths, tag_ids, np.array([len(s) for s in tokens], dtype=np.int64))


@dataclass
class TagBatch:
    words: Tensor          # (B, T)
    shapes: Tensor         # (B, T)
    chars: Tensor          # (B, T, L)
    char_lengths: Tensor   # (B, T), 1 at padding
    tags: Tensor | None    # (B, T), 0 at padding (masked out)
    lengths: Tensor        # (B,)
    mask: Tensor           # (B, T)
    index: np.ndarray      # (B,) sentences of the split

    def to(self, device) -> "TagBatch":
        move = lambda t: None if t is None else t.to(device)          # noqa: E731
        return TagBatch(move(self.words), move(self.shapes), move(self.chars), move(self.char_lengths),
                        move(self.tags), self.lengths, move(self.mask), self.index)


def make_batch(data: Encoded, index: np.ndarray) -> TagBatch:
    """Sentences `index` of a split, padded to the longest sentence and the longest word."""
    base = pad_batch([data.words[i] for i in index], index)                   # words, lengths, mask
    B, T = base.tokens.shape
    L = max(data.chars[i].shape[1] for i in index)
    chars = np.full((B, T, L), PAD, dtype=np.int64)                           # (B, T, L)
    char_lengths = np.ones((B, T), dtype=np.int64)                            # (B, T)
    shapes = np.zeros((B, T), dtype=np.int64)
    tags = np.zeros((B, T), dtype=np.int64) if data.tags is not None else None
    for r, i in enumerate(index):
        n, c = data.chars[i].shape
        chars[r, :n, :c] = data.chars[i]
        char_lengths[r, :n] = data.char_lengths[i]
        shapes[r, :n] = data.shapes[i]
        if tags is not None:
            tags[r, :n] = data.tags[i]
    return TagBatch(base.tokens, torch.from_numpy(shapes), torch.from_numpy(chars), torch.from_numpy(char_lengths),
                    None if tags is None else torch.from_numpy(tags), base.lengths, base.mask, np.asarray(index))
