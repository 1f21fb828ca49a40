"""Translating encoded sentences with a Seq2Seq model and scoring the output with sacrebleu.

    source ids ──encode──▶ Memory ──greedy / beam_search──▶ target ids + attention
      ──ids to tokens (an <unk> becomes the source token it attends to most)──▶ detokenize ──▶ text
    texts vs the raw references ──sacrebleu──▶ BLEU (13a tokenizer, cased) and chrF
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..device import autocast
from ..models.beam import beam_search, greedy
from ..models.seq2seq import Seq2Seq
from ..text.label_vocab import UNK
from .batches import eval_batches, pad_batch
from .translate_data import EOS, Encoded, Vocabs
from .translate_text import JOIN, detokenize, strip_join

DECODE_BATCH = 128


@dataclass
class Translation:
    tokens: list[str]          # output tokens (joiner marks kept), EOS dropped
    text: str                  # detokenized
    attention: np.ndarray      # (len(tokens) + 1, S): each output token's weights over the source, EOS last
    score: float


def max_lengths(src_lengths: torch.Tensor, ratio: float) -> torch.Tensor:
    """The most tokens a translation may have before EOS: ratio x source length + 5."""
    return (src_lengths.float() * ratio).ceil().long() + 5


def to_tokens(ids: list[int], attention: torch.Tensor, src_tokens: list[str], vocabs: Vocabs) -> list[str]:
    """Output ids -> tokens; an <unk> is replaced by the source token of the largest attention weight."""
    out = []
    for t, i in enumerate(ids):
        if i == EOS:
            break
        if i == UNK and src_tokens:
            s = int(attention[t, :len(src_tokens)].argmax())
            word = strip_join(src_tokens[s])
            out.append(JOIN + word if out and src_tokens[s].startswith(JOIN) else word)
        else:
            out.append(vocabs.tgt.tokens[i])
    return out


@torch.no_grad()
def translate_encoded(model: Seq2Seq, data: Encoded, vocabs: Vocabs, device: torch.device, beam: int = 1,
                      ratio: float = 2.0, dtype: torch.dtype = torch.float32, alpha: float = 1.0,
                      batch_size: int = DECODE_BATCH, on_progress: Callable[[float], None] | None = None
                      ) -> list[Translation]:
    """Translations of every sentence of `data`, in order (model in eval mode; restored after)."""
    was_training = model.training
    model.eval()
    out: list = [None] * len(data)
    batches = eval_batches(data.src_lengths, max(1, batch_size // beam))
    for k, index in enumerate(batches):
        src = pad_batch([data.src[i] for i in index], index).to(device)
        with autocast(device, dtype):
            memory = model.encode(src.tokens, src.lengths)
            limit = max_lengths(src.lengths, ratio)
            found = greedy(model, memory, limit) if beam == 1 else beam_search(model, memory, limit, beam, alpha)
        for j, i in enumerate(index):
            tokens = to_tokens(found.tokens[j], found.attention[j], data.src_tokens[i], vocabs)
            attn = found.attention[j][:, :len(data.src_tokens[i])].numpy()
            out[i] = Translation(tokens, detokenize(tokens), attn, found.scores[j])
        if on_progress is not None:
            on_progress((k + 1) / len(batches))
    model.train(was_training)
    return out


def bleu_chrf(hypotheses: list[str], references: list[str]) -> dict:
    """sacrebleu's corpus BLEU (13a tokenizer, cased: its standard signature) and chrF, both 0-100."""
    from sacrebleu.metrics import BLEU, CHRF
    bleu_metric, chrf_metric = BLEU(), CHRF()
    bleu = bleu_metric.corpus_score(hypotheses, [references])
    chrf = chrf_metric.corpus_score(hypotheses, [references])
    return {"bleu": bleu.score, "chrf": chrf.score, "brevity_penalty": bleu.bp,
            "signature": {"bleu": str(bleu_metric.get_signature()), "chrf": str(chrf_metric.get_signature())}}
