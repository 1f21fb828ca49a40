"""Vocabularies for labelled sequences: tokens (with <pad> = 0 and <unk> = 1) and label names.

Both are built from the training split only, so validation and test words the model never saw map to
<unk>, as they would for a user's sentence. Both serialise to plain dicts kept in a run's config.json.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from ..errors import RnnlabError, require

PAD, UNK = 0, 1
PAD_TOKEN, UNK_TOKEN = "<pad>", "<unk>"


class TokenVocab:
    """Token strings -> ids. Id 0 is <pad> (never a real token), 1 is <unk>; then tokens by falling count."""

    def __init__(self, tokens: Sequence[str], tokenizer: str = "word", lower: bool = True, min_count: int = 1):
        require(list(tokens[:2]) == [PAD_TOKEN, UNK_TOKEN], "a token vocabulary must start with <pad>, <unk>",
                "the run's config.json is damaged")
        self.tokens = list(tokens)
        self.tokenizer, self.lower, self.min_count = tokenizer, lower, min_count
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.size = len(self.tokens)

    @classmethod
    def fit(cls, sequences: Iterable[Sequence[str]], min_count: int = 1, tokenizer: str = "word",
            lower: bool = True) -> "TokenVocab":
        """From the training split's token lists: tokens seen at least `min_count` times, most frequent first
        (ties in string order, so the same data gives the same ids)."""
        counts = Counter(t for seq in sequences for t in seq)
        kept = sorted((t for t, c in counts.items() if c >= min_count and t not in (PAD_TOKEN, UNK_TOKEN)),
                      key=lambda t: (-counts[t], t))
        require(kept, f"no token occurs at least --min-count {min_count} times, so every token would be <unk>",
                f"lower --min-count; the most frequent token occurs {max(counts.values(), default=0)} times")
        return cls([PAD_TOKEN, UNK_TOKEN] + kept, tokenizer, lower, min_count)

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """(T,) int64 ids; unknown tokens -> UNK."""
        return np.fromiter((self.index.get(t, UNK) for t in tokens), dtype=np.int64, count=len(tokens))

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[int(i)] for i in ids]

    def to_dict(self) -> dict:
        return {"kind": "tokens", "tokenizer": self.tokenizer, "lower": self.lower, "min_count": self.min_count,
                "tokens": self.tokens}

    @classmethod
    def from_dict(cls, d: dict) -> "TokenVocab":
        require(isinstance(d, dict) and d.get("kind") == "tokens" and isinstance(d.get("tokens"), list),
                "the run's token vocabulary is missing or damaged", "use a run written by rnnlab classify/tag train")
        return cls(d["tokens"], d.get("tokenizer", "word"), d.get("lower", True), d.get("min_count", 1))


class LabelSet:
    """Label names -> class ids 0..C-1, in sorted order (so the same labels give the same ids)."""

    def __init__(self, names: Sequence[str]):
        self.names = list(names)
        self.index = {n: i for i, n in enumerate(self.names)}

    @classmethod
    def fit(cls, labels: Iterable[str]) -> "LabelSet":
        return cls(sorted(set(labels)))

    def __len__(self) -> int:
        return len(self.names)

    def encode(self, labels: Sequence[str], source: str = "the data") -> np.ndarray:
        """(N,) int64 class ids; a label the model never saw is refused, naming it."""
        unseen = sorted(set(labels) - self.index.keys())
        if unseen:
            shown = ", ".join(map(repr, unseen[:5])) + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else "")
            raise RnnlabError(f"{source} has labels the model never saw: {shown} (it knows "
                              f"{', '.join(map(repr, self.names))})", "evaluate on data with the training labels")
        return np.array([self.index[x] for x in labels], dtype=np.int64)

    def to_dict(self) -> dict:
        return {"names": self.names}

    @classmethod
    def from_dict(cls, d: dict) -> "LabelSet":
        require(isinstance(d, dict) and isinstance(d.get("names"), list) and d["names"],
                "the run's label names are missing or damaged", "use a run written by rnnlab classify train")
        return cls(d["names"])
