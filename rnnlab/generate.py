"""Sampling text from a language model: prime, temperature, top-k, top-p, greedy, seeded, streamed."""
from __future__ import annotations

from typing import Iterator

import torch

from .config import SampleConfig
from .errors import RnnlabError
from .stepper import primed_stepper


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


def _steps(model, inputs: list[list[int]], device: torch.device):
    """(first logits (B, V), step(tokens) -> logits (B, V)): the NumPy stepper on a CPU (the prime in one fused
    pass, then one prepared gate product per layer and token), the model itself elsewhere."""
    if device.type == "cpu" and next(model.parameters()).dtype == torch.float32:
        stepper, logits = primed_stepper(model, inputs)
        return torch.from_numpy(logits), lambda tokens: torch.from_numpy(stepper.step(tokens))
    x = torch.tensor(inputs, dtype=torch.long, device=device)              # (B, P)
    logits, state = model(x)                                               # (B, P, V)
    box = [state]

    def step(tokens):
        out, box[0] = model(torch.tensor(tokens, device=device)[:, None], box[0])   # (B, 1, V)
        return out[:, -1]
    return logits[:, -1], step


def _generators(cfg: SampleConfig, n: int) -> list:
    """Sample i draws from its own generator seeded seed + i, so a batch gives the texts one at a time gives."""
    if cfg.seed is None:
        return [None] * n
    return [torch.Generator().manual_seed((cfg.seed + i) % 2 ** 32) for i in range(n)]


@torch.no_grad()
def generate(model, vocab, cfg: SampleConfig, device: torch.device | str = "cpu") -> Iterator[str]:
    """Yield the prime, then `cfg.length` sampled tokens as text pieces, as they are produced."""
    device = torch.device(device)
    prime_ids = encode_prime(vocab, cfg.prime)
    (generator,) = _generators(cfg, 1)
    was_training = model.training
    model.eval()
    decode = vocab.decoder()
    if cfg.prime:
        yield cfg.prime
        for t in prime_ids[:-1]:
            decode(t)  # keep stateful decoders (word spacing) in step with the prime
    try:
        logits, step = _steps(model, [prime_ids or [vocab.start_token()]], device)
        if prime_ids:
            decode(prime_ids[-1])
        for _ in range(cfg.length):
            token = next_token(logits[0], cfg, generator)
            yield decode(token)
            logits = step([token])
    finally:
        model.train(was_training)


@torch.no_grad()
def generate_batch(model, vocab, cfg: SampleConfig, device: torch.device | str = "cpu") -> list[str]:
    """cfg.num_samples samples drawn side by side as one batch (sample i is the text of seed + i)."""
    device = torch.device(device)
    n = cfg.num_samples
    prime_ids = encode_prime(vocab, cfg.prime)
    generators = _generators(cfg, n)
    decoders = [vocab.decoder() for _ in range(n)]
    for decode in decoders:
        for t in prime_ids:
            decode(t)
    was_training = model.training
    model.eval()
    texts = [[cfg.prime] for _ in range(n)]
    try:
        logits, step = _steps(model, [prime_ids or [vocab.start_token()]] * n, device)
        for _ in range(cfg.length):
            tokens = [next_token(logits[i], cfg, generators[i]) for i in range(n)]
            for text, decode, token in zip(texts, decoders, tokens):
                text.append(decode(token))
            logits = step(tokens)
    finally:
        model.train(was_training)
    return ["".join(text) for text in texts]


def sample_text(model, vocab, cfg: SampleConfig, device="cpu") -> str:
    """The whole sample as one string."""
    return "".join(generate(model, vocab, cfg, device))
