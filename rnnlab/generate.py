"""Sampling text from a language model: prime, temperature, top-k, top-p, greedy, seeded, streamed."""
from __future__ import annotations

from typing import Iterator

import torch

from .config import SampleConfig
from .errors import RnnlabError


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """(V,) logits -> (V,) logits scaled by 1/temperature with everything outside top-k / the top-p nucleus at -inf."""
    scaled = logits.double() / temperature   # float64: a tiny temperature must not overflow to inf
    if not bool(torch.isfinite(scaled).all()):  # it did: shift the largest to 0 first, the rest go to -inf, not NaN
        scaled = (logits.double() - logits.double().max()) / temperature
    logits = scaled
    if top_k and top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(-1)          # (V,)
        outside = cumulative - torch.softmax(sorted_logits, dim=-1) >= top_p  # mass before this token already >= p
        logits = logits.clone()
        logits[order[outside]] = float("-inf")
    return logits


def next_token(logits: torch.Tensor, cfg: SampleConfig, generator: torch.Generator | None) -> int:
    """Pick the next token id from (V,) logits."""
    if not bool(torch.isfinite(logits).all()):
        raise RnnlabError("the model's output is not a finite number (its weights overflow or are NaN)",
                          "use the run's other checkpoint, RUN/last or RUN/best, or train again")
    if cfg.greedy:
        return int(torch.argmax(logits))
    probs = torch.softmax(filter_logits(logits, cfg.temperature, cfg.top_k, cfg.top_p), dim=-1)
    return int(torch.multinomial(probs.cpu(), 1, generator=generator))


def encode_prime(vocab, prime: str):
    missing = vocab.unknown(prime)
    if missing:
        shown = " ".join(repr(c) for c in sorted(missing)[:10])
        what = "words" if vocab.kind == "word" else "characters"
        raise RnnlabError(f"--prime has {what} the model never saw: {shown}", f"use only {what} from the training text")
    return [int(t) for t in vocab.encode(prime)]


@torch.no_grad()
def generate(model, vocab, cfg: SampleConfig, device: torch.device | str = "cpu") -> Iterator[str]:
    """Yield the prime, then `cfg.length` sampled tokens as text pieces, as they are produced."""
    device = torch.device(device)
    prime_ids = encode_prime(vocab, cfg.prime)
    generator = torch.Generator().manual_seed(cfg.seed) if cfg.seed is not None else None
    was_training = model.training
    model.eval()
    decode = vocab.decoder()
    if cfg.prime:
        yield cfg.prime
        for t in prime_ids[:-1]:
            decode(t)  # keep stateful decoders (word spacing) in step with the prime
    inputs = prime_ids or [vocab.start_token()]
    x = torch.tensor([inputs], dtype=torch.long, device=device)           # (1, P)
    logits, state = model(x)                                             # (1, P, V)
    if prime_ids:
        decode(prime_ids[-1])
    for _ in range(cfg.length):
        token = next_token(logits[0, -1], cfg, generator)
        yield decode(token)
        logits, state = model(torch.tensor([[token]], device=device), state)  # (1, 1, V)
    model.train(was_training)


def sample_text(model, vocab, cfg: SampleConfig, device="cpu") -> str:
    """The whole sample as one string."""
    return "".join(generate(model, vocab, cfg, device))
