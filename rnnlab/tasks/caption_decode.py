"""Captioning images with a Captioner and scoring the captions.

    uint8 images ──encode──▶ Memory ──models/beam.py greedy / beam_search──▶ word ids + attention (T, S)
    captions vs the scenes ──▶ exact match (any valid caption), attribute accuracy (caption_grammar's rule),
                               BLEU-4 (sacrebleu, every valid caption a reference), held-out pair accuracy
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..device import autocast
from ..models.beam import beam_search, greedy
from ..models.caption_decoder import Captioner
from .caption_data import Split, Vocab
from .caption_grammar import attribute_slots, pair_hits
from .caption_scenes import HELDOUT_PAIRS

DECODE_BATCH = 256


@dataclass
class Caption:
    text: str
    words: list[str]
    attention: np.ndarray        # (len(words) + 1, S): each word's weights over the grid, </s> last
    score: float


@torch.no_grad()
def describe_images(model: Captioner, images: np.ndarray, vocab: Vocab, device: torch.device, beam: int = 1,
                    max_len: int = 30, dtype: torch.dtype = torch.float32, batch_size: int = DECODE_BATCH,
                    on_progress: Callable[[float], None] | None = None) -> list[Caption]:
    """A caption for each uint8 image (N, H, W, 3), greedy (beam 1) or by beam search; the model's mode is restored."""
    was_training = model.training
    model.eval()
    out = []
    step = max(1, batch_size // beam)
    for start in range(0, len(images), step):
        x = torch.from_numpy(np.ascontiguousarray(images[start:start + step])).to(device)   # (b, H, W, 3)
        limit = torch.full((len(x),), max_len, dtype=torch.int64)
        with autocast(device, dtype):
            memory = model.encode(x)
            found = greedy(model, memory, limit) if beam == 1 else beam_search(model, memory, limit, beam)
        for ids, attn, score in zip(found.tokens, found.attention, found.scores):
            words = vocab.decode(ids).split()
            out.append(Caption(" ".join(words), words, attn.numpy(), float(score)))
        if on_progress is not None:
            on_progress(min(1.0, (start + step) / len(images)))
    model.train(was_training)
    return out


def bleu4(hypotheses: list[str], references: list[list[str]]) -> float:
    """Corpus BLEU-4 (sacrebleu, 13a tokens) against every valid caption of each image."""
    import sacrebleu
    width = max(len(r) for r in references)
    streams = [[r[k] if k < len(r) else r[0] for r in references] for k in range(width)]   # a repeat adds nothing
    return float(sacrebleu.corpus_bleu(hypotheses, streams).score)


def score_captions(texts: list[str], split: Split, pairs=HELDOUT_PAIRS) -> dict:
    """exact_match, attribute_accuracy (fractions), bleu4 (0-100), n; pair_accuracy where the split shows `pairs`."""
    exact = sum(t in set(c) for t, c in zip(texts, split.captions))
    slots = [attribute_slots(s, t) for s, t in zip(split.scenes, texts)]
    hits = [pair_hits(s, t, pairs) for s, t in zip(split.scenes, texts)]
    out = {"exact_match": exact / max(len(texts), 1),
           "attribute_accuracy": sum(r for r, _ in slots) / max(sum(n for _, n in slots), 1),
           "bleu4": bleu4(texts, split.captions), "n": len(texts)}
    if sum(n for _, n in hits):
        out["pair_accuracy"] = sum(h for h, _ in hits) / sum(n for _, n in hits)
    return out
