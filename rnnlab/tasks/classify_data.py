"""Data of a classification run: seeded splits and folds, token ids from the training split's vocabulary.

    Labelled texts --tokenize--> token lists --TokenVocab.fit(train only)--> id arrays  (Split)
    labels         --LabelSet.fit(train)---> class ids
    token lists    --word 1..n-grams, TokenVocab.fit(train)--> n-gram ids (for the bag-of-n-grams term; unknown dropped)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import require
from ..text.label_vocab import LabelSet, TokenVocab
from ..text.labelled import Labelled, tokenize


@dataclass
class Split:
    """Encoded sentences of one split: ids[i] (T_i,) int64, y (N,) class ids, lengths (N,)."""
    ids: list[np.ndarray]
    y: np.ndarray
    index: np.ndarray          # positions in the Labelled data they came from
    grams: list[np.ndarray] | None = None   # grams[i]: ids of sentence i's known word n-grams (or None)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(s) for s in self.ids], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)


def holdout(n: int, val_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) positions: a seeded shuffle, the first val_frac of it held out (at least one each)."""
    require(0.0 < val_frac < 1.0, f"--val-frac must be between 0 and 1, got {val_frac}", "pass e.g. --val-frac 0.1")
    require(n >= 2, f"{n} labelled sentence(s) cannot be split into training and validation", "give more data")
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(max(1, round(n * val_frac)), n - 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def kfold(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K (train, test) position pairs: a seeded shuffle cut into K near-equal test folds; each sentence is
    in exactly one test fold. The benchmark gives the same folds to its TF-IDF peer."""
    require(isinstance(k, int) and 2 <= k <= n, f"--folds must be between 2 and the {n} sentences, got {k}",
            "pass e.g. --folds 10")
    parts = np.array_split(np.random.default_rng(seed).permutation(n), k)
    return [(np.sort(np.concatenate(parts[:i] + parts[i + 1:])), np.sort(parts[i])) for i in range(k)]


def tokenize_all(data: Labelled, tokenizer: str, lower: bool) -> list[list[str]]:
    return [tokenize(t, tokenizer, lower) for t in data.texts]


def word_ngrams(tokens: list[str], n: int) -> list[str]:
    """The 1..n-grams of a token list, each joined by a space: ["a", "b"] -> ["a", "b", "a b"] for n = 2."""
    return [" ".join(tokens[i:i + k]) for k in range(1, n + 1) for i in range(len(tokens) - k + 1)]


def encode(tokens: list[list[str]], labels: list[str], index: np.ndarray, vocab: TokenVocab, label_set: LabelSet,
           source: str = "the data", max_len: int | None = None, gram_vocab: TokenVocab | None = None,
           n: int = 0) -> Split:
    """The sentences at `index` as ids (truncated to max_len tokens), class ids, and (with gram_vocab) the ids
    of their known 1..n-grams."""
    cut = [tokens[i][:max_len] if max_len else tokens[i] for i in index]
    grams = None
    if gram_vocab is not None:
        grams = [g[g > 1] for g in (gram_vocab.encode(word_ngrams(t, n)) for t in cut)]   # unknown n-grams dropped
    return Split([vocab.encode(t) for t in cut], label_set.encode([labels[i] for i in index], source),
                 np.asarray(index), grams)


def prepare(data: Labelled, train_idx: np.ndarray, val_idx: np.ndarray, tokenizer: str = "word", lower: bool = True,
            min_count: int = 1, max_len: int | None = None, tokens: list[list[str]] | None = None, ngrams: int = 0):
    """(vocab, label_set, train Split, val Split, gram_vocab): vocabularies and labels from the training
    positions only (gram_vocab: their 1..ngrams-grams, None when ngrams is 0). Validation labels the training
    split lacks are refused (they could never be predicted)."""
    tokens = tokens if tokens is not None else tokenize_all(data, tokenizer, lower)
    vocab = TokenVocab.fit((tokens[i] for i in train_idx), min_count, tokenizer, lower)
    gram_vocab = None
    if ngrams:
        cut = (tokens[i][:max_len] if max_len else tokens[i] for i in train_idx)
        gram_vocab = TokenVocab.fit((word_ngrams(t, ngrams) for t in cut), 1, f"{ngrams}-grams", lower)
    label_set = LabelSet.fit(data.labels[i] for i in train_idx)
    require(len(label_set) >= 2, f"the training split of {data.source} has one class only", "give more varied data")
    train = encode(tokens, data.labels, train_idx, vocab, label_set, data.source, max_len, gram_vocab, ngrams)
    val = encode(tokens, data.labels, val_idx, vocab, label_set, f"the held-out split of {data.source}", max_len,
                 gram_vocab, ngrams)
    return vocab, label_set, train, val, gram_vocab
