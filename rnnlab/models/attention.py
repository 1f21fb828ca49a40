"""Luong et al. (2015) global attention with the "general" score, masked to each sentence's own words.

For decoder states h_t (the queries) and encoder outputs h̄_s (the memory), s = 1..S:

    score(h_t, h̄_s) = h_t^T W_a h̄_s                         (W_a: D_dec x D_enc; keys k_s = W_a h̄_s once per sentence)
    a_t(s)          = exp(score(h_t, h̄_s)) / Σ_s' exp(score(h_t, h̄_s'))      over the real (non-padding) s only
    c_t             = Σ_s a_t(s) h̄_s                          the context vector
    h̃_t             = tanh(W_c [c_t ; h_t])                   the attentional state the output layer reads

Padding positions get score -inf, so their weight is exactly 0 and the weights of every row sum to 1
over the sentence's words. All T queries of a teacher-forced target are scored in one batched product.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class LuongAttention(nn.Module):
    """general-score attention + the attentional layer h̃ = tanh(W_c [c; h])."""

    def __init__(self, query_size: int, memory_size: int, out_size: int):
        super().__init__()
        self.W_a = nn.Linear(memory_size, query_size, bias=False)
        self.W_c = nn.Linear(memory_size + query_size, out_size, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        """k_s = W_a h̄_s: (B, S, D_enc) -> (B, S, D_dec), computed once per source."""
        return self.W_a(memory)

    def weights(self, queries: Tensor, keys: Tensor, mask: Tensor) -> Tensor:
        """a_t(s) for queries (B, T, D_dec), keys (B, S, D_dec), mask (B, S) -> (B, T, S)."""
        scores = torch.bmm(queries, keys.transpose(1, 2))                      # (B, T, S): h_t^T W_a h̄_s
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))           # padding never attended
        return torch.softmax(scores.float(), dim=-1).to(queries.dtype)          # (B, T, S), rows sum to 1

    def forward(self, queries: Tensor, memory: Tensor, keys: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """(h̃ (B, T, out), a (B, T, S)) for queries (B, T, D_dec), memory (B, S, D_enc)."""
        a = self.weights(queries, keys, mask)                                   # (B, T, S)
        context = torch.bmm(a, memory)                                          # (B, T, D_enc): c_t = Σ a_t(s) h̄_s
        h_tilde = torch.tanh(self.W_c(torch.cat([context, queries], dim=-1)))   # (B, T, out)
        return h_tilde, a
