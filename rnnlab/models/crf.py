"""Linear-chain conditional random field over per-token scores (Lafferty et al. 2001; Lample et al. 2016).

For tokens 1..T with emission scores E[t, k] (from the tagger's linear head) and learned transition
scores A[i, j] (tag i followed by tag j), start[k] and end[k], a tag path y scores

    s(y) = start[y_1] + sum_t E[t, y_t] + sum_{t>1} A[y_{t-1}, y_t] + end[y_T]

and p(y | x) = exp(s(y)) / Z with Z = sum over all K^T paths of exp(s(y')). The forward algorithm
computes log Z in O(T K^2):

    alpha_1(j) = start[j] + E[1, j]
    alpha_t(j) = E[t, j] + logsumexp_i(alpha_{t-1}(i) + A[i, j])
    log Z      = logsumexp_j(alpha_T(j) + end[j])

Viterbi is the same recursion with max for logsumexp, keeping the argmax to backtrack. Padding: a batch
holds sentences of different lengths with a mask (B, T) that is True on the first `length` positions;
at a padded position alpha (and the Viterbi score) is carried over unchanged, so padding never counts.
"""
from __future__ import annotations

import torch
from torch import nn

NOT_ALLOWED = -1e4   # transition score of a forbidden tag pair (e.g. O -> I-person when constrained)


class CRF(nn.Module):
    """Transition, start and end scores for K tags; nll (training), log_partition, score and decode."""

    def __init__(self, num_tags: int, allowed: torch.Tensor | None = None):
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))   # (K, K): A[i, j] for i -> j
        self.start = nn.Parameter(torch.zeros(num_tags))                  # (K,)
        self.end = nn.Parameter(torch.zeros(num_tags))                    # (K,)
        # optional hard constraints (e.g. BIO: I-X only after B-X or I-X), as fixed -1e4 penalties
        pen = torch.zeros(3, num_tags, num_tags)
        if allowed is not None:
            trans_ok, start_ok = allowed
            pen[0] = torch.where(trans_ok, 0.0, NOT_ALLOWED)
            pen[1, 0] = torch.where(start_ok, 0.0, NOT_ALLOWED)
        self.register_buffer("penalty", pen, persistent=False)

    def _scores(self):
        return self.transitions + self.penalty[0], self.start + self.penalty[1, 0], self.end

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """s(y) of the given paths: (B,) from emissions (B, T, K), tags (B, T) long, mask (B, T) bool."""
        trans, start, end = self._scores()
        emissions = emissions.float()
        m = mask.float()                                                        # (B, T)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)                # (B, T): E[t, y_t]
        s = start[tags[:, 0]] + (emit * m).sum(1)                               # (B,)
        pair = trans[tags[:, :-1], tags[:, 1:]]                                 # (B, T-1): A[y_{t-1}, y_t]
        s = s + (pair * m[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).clamp(min=0).unsqueeze(1)).squeeze(1)   # (B,): y_T
        return s + end[last]

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z by the forward algorithm: (B,)."""
        trans, start, end = self._scores()
        emissions = emissions.float()
        alpha = start + emissions[:, 0]                                         # (B, K)
        for t in range(1, emissions.shape[1]):
            # alpha_t(j) = E[t, j] + logsumexp_i(alpha_{t-1}(i) + A[i, j])
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, t]   # (B, K)
            alpha = torch.where(mask[:, t:t + 1], nxt, alpha)                  # padding carries alpha over
        return torch.logsumexp(alpha + end, dim=1)                              # (B,)

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """-log p(y | x) per sentence: log Z - s(y), (B,)."""
        return self.log_partition(emissions, mask) - self.score(emissions, tags, mask)

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Viterbi: the highest-scoring path of each sentence, as lists of `length` tag ids."""
        return viterbi(emissions.float(), mask, *self._scores())


@torch.no_grad()
def viterbi(emissions: torch.Tensor, mask: torch.Tensor, trans: torch.Tensor, start: torch.Tensor,
            end: torch.Tensor) -> list[list[int]]:
    """argmax over paths of start[y_1] + sum_t E[t, y_t] + sum_t A[y_{t-1}, y_t] + end[y_T], per sentence."""
    B, T, K = emissions.shape
    delta = start + emissions[:, 0]                                             # (B, K)
    back = []
    keep = torch.arange(K, device=emissions.device).expand(B, K)               # identity pointers on padding
    for t in range(1, T):
        # delta_t(j) = E[t, j] + max_i(delta_{t-1}(i) + A[i, j]), psi_t(j) = argmax_i
        best, arg = (delta.unsqueeze(2) + trans).max(dim=1)                     # (B, K), (B, K)
        on = mask[:, t:t + 1]
        delta = torch.where(on, best + emissions[:, t], delta)
        back.append(torch.where(on, arg, keep))
    tag = (delta + end).argmax(dim=1)                                           # (B,): y_T
    path = [tag]
    for arg in reversed(back):
        tag = arg.gather(1, tag.unsqueeze(1)).squeeze(1)                        # (B,): y_{t-1} = psi_t(y_t)
        path.append(tag)
    full = torch.stack(path[::-1], dim=1).tolist()                              # (B, T)
    lengths = mask.sum(1).tolist()
    return [row[:n] for row, n in zip(full, lengths)]


def constrained_argmax(log_probs: torch.Tensor, mask: torch.Tensor, allowed) -> list[list[int]]:
    """The likeliest tag path of independent per-token distributions among the allowed ones (e.g. no I-X
    after O): Viterbi with 0 for an allowed transition and -1e4 for a forbidden one."""
    trans_ok, start_ok = allowed
    trans = torch.where(trans_ok, 0.0, NOT_ALLOWED).to(log_probs.device)
    start = torch.where(start_ok, 0.0, NOT_ALLOWED).to(log_probs.device)
    return viterbi(log_probs.float(), mask, trans, start, torch.zeros_like(start))


def bio_constraints(tags: list[str]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Allowed transitions and starts for a BIO (IOB2) tag set: I-X only after B-X or I-X; None if not BIO."""
    if not any(t.startswith("I-") for t in tags) or not all(t == "O" or t[:2] in ("B-", "I-") or t.startswith("<")
                                                            for t in tags):
        return None
    K = len(tags)
    trans = torch.ones(K, K, dtype=torch.bool)
    start = torch.ones(K, dtype=torch.bool)
    for j, tj in enumerate(tags):
        if tj.startswith("I-"):
            start[j] = False
            for i, ti in enumerate(tags):
                trans[i, j] = ti in ("B-" + tj[2:], tj)
    return trans, start
