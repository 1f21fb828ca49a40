"""What a language model computes at every position of a text: h, c and every gate of every layer, and its
next-token distribution.

The fused kernels (nn.LSTM, nn.GRU, nn.RNN) give only the layers' outputs, so the gates are recomputed from
them in one batched product per chunk, with the equations of models/cells.py:

    LSTM   pre_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          (t, 4H) -> i, f, g, o
           c_t = f_t * c_{t-1} + i_t * g_t                        (a scan over t)
    GRU    r, z from x_t and h_{t-1};  n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))

and h_t = o_t * tanh(c_t) (LSTM) or (1 - z_t) n_t + z_t h_{t-1} (GRU) agrees with the fused output (a test
checks it). Long texts go through in chunks with the state carried, so memory follows the chunk, not the text;
`stream` yields the chunks, `collect` joins them for texts that fit in memory.

Positions are tokens; `offsets[t]` is the character of the text where token t starts (the identity for
character runs), so character features of the text line up with any tokenizer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from ..errors import RnnlabError, require
from ..text.vocab import WORD_PATTERN

GATE_NAMES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"), "rnn": ()}
SIGMOID_GATES = {"i", "f", "o", "r", "z"}       # in (0, 1); g and n are tanh, in (-1, 1)
DEFAULT_CHUNK = 2048


@dataclass
class Activations:
    """Everything a model computed over tokens[start : start + T] (arrays are float32 numpy)."""
    start: int                      # index of the first token in the whole text
    tokens: np.ndarray              # (T,) token ids
    h: np.ndarray                   # (L, T, H) hidden state (the layer's output)
    c: np.ndarray | None            # (L, T, H) cell state, LSTM only
    gates: dict = field(default_factory=dict)   # name -> (L, T, H): i f g o (LSTM), r z n (GRU)
    top_ids: np.ndarray | None = None           # (T, k) the likeliest next tokens after position t
    top_probs: np.ndarray | None = None         # (T, k) their probabilities
    next_logprob: np.ndarray | None = None      # (T,) ln p(token t+1 | tokens <= t); NaN after the last token

    def __len__(self) -> int:
        return len(self.tokens)

    def units(self, kind: str) -> np.ndarray:
        """(L, T, H) array of 'h', 'c' or a gate name."""
        if kind == "h":
            return self.h
        if kind == "c":
            require(self.c is not None, "only LSTM runs have a cell state c", "use kind h, or a gate")
            return self.c
        require(kind in self.gates, f"no {kind!r} activations in this model",
                f"use h{', c' if self.c is not None else ''} or one of {', '.join(self.gates) or 'no gates'}")
        return self.gates[kind]


def tokenize(vocab, text: str) -> tuple[np.ndarray, np.ndarray]:
    """text -> (token ids (T,), offsets (T,): the character where each token starts)."""
    require(len(text) > 0, "the text is empty", "give some text to inspect")
    missing = vocab.unknown(text)
    if missing and vocab.kind == "char":
        shown = " ".join(repr(c) for c in sorted(missing)[:10])
        raise RnnlabError(f"the text has characters the model never saw: {shown}",
                          "remove them, or inspect a run trained on text that has them")
    tokens = np.asarray(vocab.encode(text), dtype=np.int64)
    if vocab.kind == "char":
        offsets = np.arange(len(text), dtype=np.int64)
    elif vocab.kind == "byte":
        sizes = np.array([len(ch.encode("utf-8", "surrogateescape")) for ch in text], dtype=np.int64)
        offsets = np.repeat(np.arange(len(text), dtype=np.int64), sizes)   # each byte -> its character
    else:
        offsets = np.array([m.start() for m in WORD_PATTERN.finditer(text)], dtype=np.int64)
    require(len(tokens) == len(offsets), "the text's tokens could not be aligned to its characters",
            "report this with the text")
    return tokens, offsets


def _lstm_gates(pre: torch.Tensor, c0: torch.Tensor):
    """pre (T, 4H), c0 (H,) -> gates i f g o (T, H) each and the cell states c (T, H)."""
    i, f, g, o = pre.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    ig, fn = (i * g).numpy(), f.numpy()
    c = np.empty_like(ig)                                             # (T, H)
    prev = c0.numpy()
    for t in range(len(c)):                                           # c_t = f_t * c_{t-1} + i_t * g_t
        prev = c[t] = fn[t] * prev + ig[t]
    return {"i": i, "f": f, "g": g, "o": o}, torch.from_numpy(c)


def _gru_gates(x_part: torch.Tensor, h_part: torch.Tensor):
    """x_part = W_ih x + b_ih, h_part = W_hh h_prev + b_hh, both (T, 3H) -> r, z, n (T, H)."""
    x_r, x_z, x_n = x_part.chunk(3, dim=1)
    h_r, h_z, h_n = h_part.chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return {"r": r, "z": z, "n": n}


def _layer(model, k: int, x: torch.Tensor, state: tuple, with_gates: bool):
    """Layer k over one sequence x (T, D) from its state (each part (H,)) -> y (T, H), c (T, H) | None,
    gates, new state."""
    rec = model.recurrent
    kind = rec.kind
    s = tuple(part[None, None] for part in state)                        # (1, 1, H) each
    y, new = rec._fused(k, x[None], s)                                   # (1, T, H)
    y = y[0]
    new = tuple(part[0, 0] for part in new)
    if not with_gates or kind == "rnn":
        return y, None, {}, new
    W_ih, W_hh, b_ih, b_hh = rec.layer_weights(k)
    h_prev = torch.cat([state[0][None], y[:-1]])                         # (T, H)
    x_part = x @ W_ih.T + b_ih                                           # (T, G*H)
    h_part = h_prev @ W_hh.T + b_hh                                      # (T, G*H)
    if kind == "lstm":
        gates, c = _lstm_gates(x_part + h_part, state[1])
        return y, c, gates, new
    return y, None, _gru_gates(x_part, h_part), new


@torch.no_grad()
def stream(model, tokens: np.ndarray, k: int = 5, chunk: int = DEFAULT_CHUNK, with_gates: bool = True,
           with_predictions: bool = True) -> Iterator[Activations]:
    """Run `model` (a LanguageModel) over token ids, `chunk` tokens at a time with the state carried, and yield
    each chunk's Activations. Position t's predictions are the distribution of token t + 1."""
    require(chunk > 0, f"chunk must be positive, got {chunk}")
    tokens = np.asarray(tokens, dtype=np.int64)
    was_training = model.training
    model.eval()
    param = next(model.parameters())
    require(param.dtype == torch.float32 and param.device.type == "cpu",
            "activations are computed from float32 CPU weights", "load the run with device='cpu'")
    L, kind = model.recurrent.num_layers, model.recurrent.kind
    state = [tuple(part[j, 0] for part in model.init_state(1)) for j in range(L)]   # per layer, each (H,)
    V = model.cfg.vocab_size
    try:
        for start in range(0, len(tokens), chunk):
            ids = torch.from_numpy(tokens[start:start + chunk])            # (T,)
            x = model.inputs(ids[None])[0]                                 # (T, D)
            hs, cs, gates = [], [], {name: [] for name in GATE_NAMES[kind]} if with_gates else {}
            for j in range(L):
                x, c, g, state[j] = _layer(model, j, x, state[j], with_gates)
                hs.append(x)
                if c is not None:
                    cs.append(c)
                for name, value in g.items():
                    gates[name].append(value)
            out = Activations(start=start, tokens=tokens[start:start + chunk],
                              h=torch.stack(hs).numpy(),
                              c=torch.stack(cs).numpy() if cs else None,
                              gates={n: torch.stack(v).numpy() for n, v in gates.items()})
            if with_predictions:
                logp = torch.log_softmax(model.head(x).float(), dim=-1)   # (T, V)
                top = torch.topk(logp, min(k, V), dim=-1)
                out.top_ids, out.top_probs = top.indices.numpy(), top.values.exp().numpy()
                following = torch.from_numpy(tokens[start + 1:start + 1 + len(ids)])  # (T,) or (T-1,) at the end
                nxt = torch.full((len(ids),), float("nan"))
                nxt[:len(following)] = logp[torch.arange(len(following)), following]
                out.next_logprob = nxt.numpy()
            yield out
    finally:
        model.train(was_training)


def collect(model, tokens: np.ndarray, k: int = 5, chunk: int = DEFAULT_CHUNK, with_gates: bool = True,
            with_predictions: bool = True) -> Activations:
    """All of `stream` joined into one Activations over the whole token sequence."""
    parts = list(stream(model, tokens, k, chunk, with_gates, with_predictions))
    require(len(parts) > 0, "there are no tokens to inspect", "give a longer text")

    def join(values, axis):
        return None if values[0] is None else np.concatenate(values, axis=axis)
    return Activations(start=0, tokens=np.concatenate([p.tokens for p in parts]),
                       h=join([p.h for p in parts], 1), c=join([p.c for p in parts], 1),
                       gates={n: join([p.gates[n] for p in parts], 1) for n in parts[0].gates},
                       top_ids=join([p.top_ids for p in parts], 0), top_probs=join([p.top_probs for p in parts], 0),
                       next_logprob=join([p.next_logprob for p in parts], 0))
