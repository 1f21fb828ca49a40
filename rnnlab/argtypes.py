"""argparse value types shared by every command: a bad value is a usage error (exit 2, one line)."""
from __future__ import annotations

import argparse
import math


def seed(text: str) -> int:
    """A random seed: an integer in [0, 2**32)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"expected a seed between 0 and {2 ** 32 - 1}, got {text!r}")
    return value


FLOAT_LIST_LIMIT = 1e6   # a grid value beyond this overflows float32 reservoirs (esn sweep --radii 1e40)


def float_list(text: str) -> tuple[float, ...]:
    """'0.5,0.9,1.2' -> (0.5, 0.9, 1.2): finite numbers of magnitude at most 1e6, comma-separated."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 0.5,1.25, got {text!r}")
    if max(abs(v) for v in values) > FLOAT_LIST_LIMIT:
        raise argparse.ArgumentTypeError(f"expected numbers of magnitude at most {FLOAT_LIST_LIMIT:g}, got {text!r}")
    return values
