"""Sentence pairs as ids: the two word vocabularies, encoding, and padded (source, target) batches.

    "Ein Mann fährt ."  ->  src ids (S,)                          source: tokens, no BOS/EOS
    "A man rides ."     ->  tgt_in  = BOS y_1 ... y_n   (n+1,)    what the decoder reads (teacher forcing)
                            tgt_out = y_1 ... y_n EOS   (n+1,)    what it must predict

Vocabularies come from the training split only (tokens seen at least --min-count times; the rest <unk>).
The target vocabulary holds <pad>=0, <unk>=1, <s>=2 (BOS), </s>=3 (EOS), then the tokens.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..text.label_vocab import TokenVocab
from .batches import Batch, pad_batch
from .translate_text import Parallel, tokenize

BOS, EOS = 2, 3
BOS_TOKEN, EOS_TOKEN = "<s>", "</s>"


def _with_specials(vocab: TokenVocab) -> TokenVocab:
    return TokenVocab(vocab.tokens[:2] + [BOS_TOKEN, EOS_TOKEN] + vocab.tokens[2:], "translate", False,
                      vocab.min_count)


@dataclass
class Vocabs:
    src: TokenVocab
    tgt: TokenVocab

    @classmethod
    def fit(cls, src_tokens: list[list[str]], tgt_tokens: list[list[str]], min_count: int) -> "Vocabs":
        return cls(_with_specials(TokenVocab.fit(src_tokens, min_count, "translate", False)),
                   _with_specials(TokenVocab.fit(tgt_tokens, min_count, "translate", False)))

    def to_dict(self) -> dict:
        return {"src": self.src.to_dict(), "tgt": self.tgt.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocabs":
        return cls(TokenVocab.from_dict(d.get("src")), TokenVocab.from_dict(d.get("tgt")))


@dataclass
class Encoded:
    """One split as id arrays, with the source tokens kept (to copy a word in place of an <unk> output)."""
    src: list[np.ndarray]             # each (S_i,)
    tgt: list[np.ndarray] | None      # each (n_i + 1,): the target ids followed by EOS
    src_tokens: list[list[str]]
    refs: list[str] | None            # the raw target sentences (BLEU references)

    def __len__(self) -> int:
        return len(self.src)

    @property
    def src_lengths(self) -> np.ndarray:
        return np.array([len(s) for s in self.src], dtype=np.int64)

    def subset(self, n: int) -> "Encoded":
        return Encoded(self.src[:n], None if self.tgt is None else self.tgt[:n], self.src_tokens[:n],
                       None if self.refs is None else self.refs[:n])


def encode_sources(sentences: list[str], vocabs: Vocabs) -> tuple[list[np.ndarray], list[list[str]]]:
    tokens = [tokenize(s) for s in sentences]
    return [vocabs.src.encode(t) for t in tokens], tokens


def encode(data: Parallel, vocabs: Vocabs) -> Encoded:
    src, src_tokens = encode_sources(data.src, vocabs)
    tgt = [np.append(vocabs.tgt.encode(tokenize(s)), EOS) for s in data.tgt]
    return Encoded(src, tgt, src_tokens, list(data.tgt))


@dataclass
class PairBatch:
    """A padded batch of pairs: the source, the decoder's input (BOS + target) and its targets (target + EOS)."""
    src: Batch          # tokens (B, S), lengths (B,), mask (B, S)
    tgt_in: torch.Tensor    # (B, T) int64, PAD after each target
    tgt_out: torch.Tensor   # (B, T) int64, PAD after each EOS
    index: np.ndarray

    def to(self, device) -> "PairBatch":
        return PairBatch(self.src.to(device), self.tgt_in.to(device), self.tgt_out.to(device), self.index)


def make_batch(data: Encoded, index: np.ndarray) -> PairBatch:
    src = pad_batch([data.src[i] for i in index], index)
    out = pad_batch([data.tgt[i] for i in index], index).tokens                     # (B, T)
    tgt_in = torch.cat([torch.full((len(index), 1), BOS, dtype=torch.int64), out[:, :-1]], dim=1)   # (B, T)
    tgt_in = tgt_in.masked_fill(tgt_in == EOS, 0)                                 # EOS is never read
    return PairBatch(src, tgt_in, out, np.asarray(index))
