"""Decoding a Seq2Seq model: greedy and length-normalised beam search, both batched over sentences.

Every hypothesis ends with EOS. Sentence b may emit at most max_len[b] tokens before it (the caller sets
max_len from the source length); at that point only EOS is allowed, in both searches alike.

Beam search (K beams per sentence) scores a finished hypothesis y (EOS included, |y| tokens) by

    score(y) = Σ_t log p(y_t | y_<t, x) / |y|^alpha          alpha = 1: the mean log-probability per token

Each step ranks the K·V extensions of the live beams by their summed log-probability; the EOS
extensions among the first K ranks are finished, the first K that are not EOS live on. A sentence is
done when K hypotheses have finished, or when no live one can still win: log-probabilities are <= 0,
so a live sum s can at best reach s / (max_len + 1)^alpha. With K = 1 this is exactly greedy decoding;
with K at least the number of hypotheses it never prunes, so it returns the best-scoring sequence.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .seq2seq import reorder_state


@dataclass
class Decoded:
    tokens: list[list[int]]          # per sentence, EOS included
    scores: list[float]              # greedy: summed log-probability; beam: the normalised score
    attention: list[Tensor]          # per sentence, (len(tokens), S) weights over its source positions


def _force_eos(logp: Tensor, at_limit: Tensor, eos: int) -> Tensor:
    """Rows (..., V) whose sentence reached its length limit may only emit EOS (its own log-probability kept)."""
    others = torch.ones(logp.shape[-1], dtype=torch.bool, device=logp.device)
    others[eos] = False
    return logp.masked_fill(at_limit[..., None] & others, float("-inf"))


@torch.no_grad()
def greedy(model, memory, max_len: Tensor) -> Decoded:
    """The likeliest token at every step, for N sentences at once (max_len (N,) tokens before EOS)."""
    N, EOS = memory.batch_size, model.cfg.eos
    device = memory.memory.device
    y = torch.full((N,), model.cfg.bos, dtype=torch.int64, device=device)
    state, done = memory.state, torch.zeros(N, dtype=torch.bool, device=device)
    score = torch.zeros(N, device=device)
    steps, attn = [], []
    for t in range(int(max_len.max()) + 1):
        logp, state, a = model.step(y, state, memory)                         # (N, V), (N, S)
        logp = _force_eos(logp, t >= max_len.to(device), EOS)
        best, y = logp.max(dim=-1)                                             # (N,)
        score += torch.where(done, torch.zeros_like(best), best)
        steps.append(torch.where(done, torch.full_like(y, -1), y))
        attn.append(a)
        done |= y == EOS
        if bool(done.all()):
            break
    ids, attn = torch.stack(steps, 1).cpu(), torch.stack(attn, 1).float().cpu()   # (N, T), (N, T, S)
    lengths = (ids >= 0).sum(1).tolist()
    return Decoded([ids[i, :n].tolist() for i, n in enumerate(lengths)], score.tolist(),
                   [attn[i, :n] for i, n in enumerate(lengths)])


@torch.no_grad()
def beam_search(model, memory, max_len: Tensor, beam: int = 5, alpha: float = 1.0) -> Decoded:
    """The best-scoring finished hypothesis per sentence (see the module docstring), N sentences at once."""
    B, K, EOS = memory.batch_size, beam, model.cfg.eos
    device = memory.memory.device
    max_len = max_len.to(device)
    mem = memory.select(torch.arange(B, device=device).repeat_interleave(K))       # (B*K, ...)
    state = mem.state
    y = torch.full((B * K,), model.cfg.bos, dtype=torch.int64, device=device)
    sums = torch.full((B, K), float("-inf"), device=device)
    sums[:, 0] = 0.0                                                           # one live hypothesis to start
    hist = torch.zeros(B, K, 0, dtype=torch.int64, device=device)              # tokens so far
    ahist = torch.zeros(B, K, 0, mem.mask.shape[1], device=device)             # their attention
    best = torch.full((B,), float("-inf"), device=device)
    found: list = [None] * B
    n_done = torch.zeros(B, dtype=torch.int64, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    rows = torch.arange(B, device=device)[:, None]
    for t in range(int(max_len.max()) + 1):
        logp, state, a = model.step(y, state, mem)                             # (B*K, V), (B*K, S)
        V = logp.shape[-1]
        logp = _force_eos(logp.view(B, K, V), (t >= max_len)[:, None].expand(B, K), EOS)
        cand = sums[:, :, None] + logp                                         # (B, K, V) summed log-probabilities
        top, idx = cand.view(B, K * V).topk(min(2 * K, K * V), dim=1)          # (B, 2K), best first
        src_beam, tok = idx // V, idx % V                                      # (B, 2K)
        a = a.float().view(B, K, -1)
        rank = torch.arange(top.shape[1], device=device)[None]
        norm = top / float(t + 1) ** alpha                                     # (B, 2K): the score if it ends here
        finished = (tok == EOS) & (rank < K) & torch.isfinite(top) & ~done[:, None]
        for b, r in finished.nonzero().tolist():
            n_done[b] += 1
            if norm[b, r] > best[b]:
                k = src_beam[b, r]
                best[b] = norm[b, r]
                found[b] = (hist[b, k].tolist() + [EOS], torch.cat([ahist[b, k], a[b, k][None]]).cpu())
        order = torch.where(tok == EOS, rank + top.shape[1], rank).argsort(dim=1)[:, :K]   # first K non-EOS ranks
        sums = top.gather(1, order)                                            # (B, K)
        sums = sums.masked_fill(tok.gather(1, order) == EOS, float("-inf"))    # fewer than K non-EOS: dead slots
        k_from, tok = src_beam.gather(1, order), tok.gather(1, order)          # (B, K)
        hist = torch.cat([hist[rows, k_from], tok[..., None]], dim=2)          # (B, K, t+1)
        ahist = torch.cat([ahist[rows, k_from], a[rows, k_from][:, :, None]], dim=2)   # (B, K, t+1, S)
        state = reorder_state(state, (rows * K + k_from).reshape(-1))
        y = tok.reshape(-1)
        bound = sums.max(dim=1).values / (max_len + 1).float() ** alpha        # (B,): the best a live one can reach
        done |= (n_done >= K) | (bound <= best) | (t >= max_len)
        if bool(done.all()):
            break
    return Decoded([f[0] for f in found], best.tolist(), [f[1] for f in found])
