"""What the live explorer computes, without HTTP: analyses of texts (cached), one unit's values, LSTMVis's
match, the cell search and streamed continuations.

A text is cut into pieces, one per position the page colours: a character for character and byte runs (the
bytes of one character are one piece, valued after its last byte), a word with the spaces before the next one
for word runs. Every model call holds `lock`, so requests from several threads take turns; a continuation
takes it for one token at a time, so an analysis waits for one step of a generation at most.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..config import SampleConfig
from ..errors import RnnlabError, require
from ..inspect.activations import GATE_NAMES, SIGMOID_GATES, Activations, collect, tokenize
from ..inspect.cells import find_cells
from ..inspect.match import match as match_units
from ..runs import sample
from ..text.vocab import _describe
from .limits import BUSY_SECONDS, CACHE_BYTES, DEFAULT_MAX_CHARS, DEFAULT_MAX_LENGTH

TOP_K = 5


class UnknownText(RnnlabError):
    """Text with symbols the vocabulary lacks; `unknown` lists them for the page to mark."""

    def __init__(self, message: str, hint: str, unknown: list[str]):
        super().__init__(message, hint)
        self.unknown = unknown


class Busy(RnnlabError):
    """The model stayed taken by other requests for longer than BUSY_SECONDS."""


@dataclass
class Analysis:
    text: str
    pieces: list[str]            # the text cut at the positions the page colours; "".join(pieces) == text
    last: np.ndarray             # (P,) index of each piece's last token
    offsets: np.ndarray          # (T,) character where each token starts
    acts: Activations
    cells: list | None = None    # the cell search, once asked for

    @property
    def nbytes(self) -> int:
        arrays = [self.acts.h, self.acts.c, self.acts.top_ids, self.acts.top_probs, *self.acts.gates.values()]
        return sum(a.nbytes for a in arrays if a is not None)


def token_labels(vocab) -> list[str]:
    """What the page shows for each token id: the character, the word, or a byte as \\xNN past ASCII."""
    if vocab.kind == "char":
        return list(vocab.chars)
    if vocab.kind == "word":
        return list(vocab.words)
    return [chr(b) if b < 128 else f"\\x{b:02x}" for b in range(256)]


def cut(text: str, offsets: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Pieces of text, one per distinct token offset (the first piece from character 0), and each piece's last
    token."""
    first = np.flatnonzero(np.diff(offsets, prepend=-1) != 0)                 # (P,) first token of each piece
    bounds = [0, *offsets[first[1:]].tolist(), len(text)]
    pieces = [text[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    last = np.append(first[1:] - 1, len(offsets) - 1)
    return pieces, last


class Explorer:
    """One loaded checkpoint served to many requests."""

    def __init__(self, ckpt, max_chars: int = DEFAULT_MAX_CHARS, max_length: int = DEFAULT_MAX_LENGTH,
                 cache_bytes: int = CACHE_BYTES, busy_seconds: float = BUSY_SECONDS):
        self.ckpt, self.model, self.vocab = ckpt, ckpt.model, ckpt.vocab
        self.max_chars, self.max_length = max_chars, max_length
        self.cache_bytes, self.busy_seconds = cache_bytes, busy_seconds
        self.lock = threading.Lock()
        self._cache: OrderedDict[str, Analysis] = OrderedDict()
        self._cache_lock = threading.Lock()
        rec = self.model.recurrent
        self.kinds = ["h"] + (["c"] if rec.kind == "lstm" else []) + list(GATE_NAMES[rec.kind])
        self.labels = token_labels(self.vocab)

    def info(self) -> dict:
        rec = self.model.recurrent
        return {"run": str(self.ckpt.path), "model": rec.kind, "layers": rec.num_layers, "hidden": rec.hidden,
                "tokenizer": self.vocab.kind, "vocab_size": len(self.labels), "kinds": self.kinds,
                "labels": self.labels, "max_chars": self.max_chars, "max_length": self.max_length}

    # -- the model, one request at a time --------------------------------------------------------------
    def _take_model(self) -> None:
        if not self.lock.acquire(timeout=self.busy_seconds):
            raise Busy(f"the model was busy with other requests for {self.busy_seconds:g} s", "try again")

    def check_text(self, text: str, what: str = "the text", allow_empty: bool = False) -> None:
        """Length limits and symbols the model never saw (character runs refuse them; word runs read <unk>)."""
        require(allow_empty or len(text) > 0, f"{what} is empty", "type or paste some text")
        require(len(text) <= self.max_chars, f"{what} has {len(text):,} characters, more than the limit of "
                f"{self.max_chars:,}", "shorten it, or restart the server with a larger --max-chars")
        missing = self.vocab.unknown(text) if self.vocab.kind == "char" else set()
        if missing:
            raise UnknownText(f"{what} has characters the model never saw: {_describe(missing)}",
                              "remove them, or serve a run trained on text that has them", sorted(missing))

    def analysis(self, text: str) -> Analysis:
        """The activations of every unit over text, computed once per text while it stays in the cache."""
        self.check_text(text)
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        tokens, offsets = tokenize(self.vocab, text)
        require(len(tokens) > 0, "the text has no tokens (only spaces?)", "type some words")
        self._take_model()
        try:
            acts = collect(self.model, tokens, k=TOP_K)
        finally:
            self.lock.release()
        pieces, last = cut(text, offsets)
        found = Analysis(text, pieces, last, offsets, acts)
        with self._cache_lock:
            self._cache[key] = found
            while len(self._cache) > 1 and sum(a.nbytes for a in self._cache.values()) > self.cache_bytes:
                self._cache.popitem(last=False)
        return found

    # -- what the endpoints return ----------------------------------------------------------------------
    def unit_values(self, found: Analysis, layer: int, kind: str, unit: int) -> dict:
        """One unit's value at every piece and the range the page's colour scale spans."""
        values = self._piece_values(found, layer, kind)[:, unit]               # (P,)
        if kind in SIGMOID_GATES:
            lo, hi = 0.0, 1.0
        elif kind == "c":                                                     # unbounded: its own extent
            hi = max(float(np.abs(values).max()), 1e-6)
            lo = -hi
        else:
            lo, hi = -1.0, 1.0
        return {"layer": layer, "kind": kind, "unit": unit, "range": [lo, hi],
                "values": np.round(values.astype(np.float64), 4).tolist()}

    def _piece_values(self, found: Analysis, layer: int, kind: str) -> np.ndarray:
        return found.acts.units(kind)[layer][found.last]                       # (P, H)

    def analyze(self, text: str, layer: int, kind: str, unit: int) -> dict:
        found = self.analysis(text)
        unknown = sorted(self.vocab.unknown(text)) if self.vocab.kind == "word" else []
        return {"pieces": found.pieces, **self.unit_values(found, layer, kind, unit),
                "top_ids": found.acts.top_ids[found.last].tolist(),
                "top_probs": np.round(found.acts.top_probs[found.last].astype(np.float64), 4).tolist(),
                "unknown": unknown}

    def match(self, text: str, layer: int, kind: str, start: int, end: int, threshold: float,
              min_share: float = 1.0) -> dict:
        """LSTMVis's match over the pieces [start, end) of text."""
        found = self.analysis(text)
        P = len(found.pieces)
        require(0 <= start < end <= P, f"the selection [{start}, {end}) is not within the text's {P} positions",
                "select some of the coloured text")
        result = match_units(self._piece_values(found, layer, kind), start, end, threshold, min_share=min_share)
        spans = [{"start": s.start, "end": s.end, "shared": s.shared, "extra": s.extra, "score": s.score,
                  "text": "".join(found.pieces[s.start:s.end])} for s in result.spans]
        note = "" if len(result.units) else (f"no {kind} unit of layer {layer} is at or above {threshold:g} over "
                                              "the whole selection: lower the threshold or select a shorter span")
        return {"units": result.units.tolist(), "spans": spans, "note": note}

    def search(self, text: str) -> list[dict]:
        """The best unit for each character feature of text (rnnlab.inspect.cells), with the piece it fires at."""
        found = self.analysis(text)
        if found.cells is None:
            found.cells = find_cells(found.acts, text, found.offsets)
        starts = np.cumsum([0] + [len(p) for p in found.pieces[:-1]])
        return [{**cell.to_dict(), "piece": int(np.searchsorted(starts, cell.position, side="right") - 1)}
                for cell in found.cells]

    def generate(self, prime: str, length: int, temperature: float, seed: int | None) -> Iterator[str]:
        """The prime, then `length` sampled tokens, one model step per piece under the lock.
        Bad settings raise here, before the first piece is asked for."""
        self.check_text(prime, "the prime", allow_empty=True)
        require(1 <= length <= self.max_length, f"length must be between 1 and {self.max_length:,}, got {length}",
                "ask for fewer tokens, or restart the server with a larger --max-length")
        if self.vocab.kind == "word":
            missing = self.vocab.unknown(prime)
            if missing:
                raise UnknownText(f"the prime has words the model never saw: {_describe(missing)}",
                                  "use only words from the training text", sorted(missing))
        cfg = SampleConfig(prime=prime, length=length, temperature=temperature, seed=seed)
        return self._locked(sample(self.ckpt, cfg))

    def _locked(self, pieces: Iterator[str]) -> Iterator[str]:
        try:
            while True:
                self._take_model()
                try:
                    piece = next(pieces, None)
                finally:
                    self.lock.release()
                if piece is None:
                    return
                yield piece
        finally:
            pieces.close()
