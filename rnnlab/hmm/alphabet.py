"""The 27-symbol alphabet of the lectures' HMM experiments and of `rnnlab hmm train --letters`: a-z and space."""
from __future__ import annotations

import string

import numpy as np

LETTERS = string.ascii_lowercase + " "


def letters_only(text: str) -> np.ndarray:
    """Lower-case a-z plus space (every other run of characters becomes one space) -> symbols 0..26."""
    lut = np.full(0x110000 if max(map(ord, text), default=0) > 255 else 256, 26, dtype=np.int64)
    for i, c in enumerate(string.ascii_lowercase):
        lut[ord(c)] = lut[ord(c.upper())] = i
    codes = lut[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)]
    keep = np.ones(len(codes), bool)
    keep[1:] = ~((codes[1:] == 26) & (codes[:-1] == 26))        # collapse runs of spaces
    return codes[keep]
