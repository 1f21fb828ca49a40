"""Reading a request's fields: JSON values or query-string text, each checked and named in the error."""
from __future__ import annotations

import math

from ..errors import RnnlabError

REQUIRED = object()          # the default of a field the request must send


def _raw(fields: dict, name: str, default):
    value = fields.get(name, default)
    if isinstance(value, list):               # parse_qs gives lists: the last value wins
        value = value[-1] if value else default
    if value is REQUIRED or value is None and default is REQUIRED:
        raise RnnlabError(f"{name} is missing", f"send {name} with the request")
    return value


def text(fields: dict, name: str, default=REQUIRED) -> str:
    value = _raw(fields, name, default)
    if not isinstance(value, str):
        raise RnnlabError(f"{name} must be text, got {type(value).__name__}", f"send {name} as a string")
    return value


def integer(fields: dict, name: str, default=REQUIRED, lo: int | None = None, hi: int | None = None):
    """An int in [lo, hi]; None (JSON null, or an empty query value) when the default is None."""
    value = _raw(fields, name, default)
    if value is None or value == "" and default is None:
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise RnnlabError(f"{name} must be a whole number, got {value!r}", f"send e.g. {name}=1") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RnnlabError(f"{name} must be a whole number, got {value!r}", f"send e.g. {name}=1")
    _in_range(name, value, lo, hi)
    return value


def number(fields: dict, name: str, default=REQUIRED, lo: float | None = None, hi: float | None = None,
           above: float | None = None) -> float:
    """A finite float in [lo, hi] (and > above)."""
    value = _raw(fields, name, default)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise RnnlabError(f"{name} must be a number, got {value!r}", f"send e.g. {name}=0.5") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RnnlabError(f"{name} must be a finite number, got {value!r}", f"send e.g. {name}=0.5")
    if above is not None and not value > above:
        raise RnnlabError(f"{name} must be above {above:g}, got {_show(value)}", f"send e.g. {name}=0.5")
    _in_range(name, value, lo, hi)
    return float(value)


def choice(fields: dict, name: str, options, default=REQUIRED) -> str:
    value = text(fields, name, default)
    if value not in options:
        raise RnnlabError(f"{name} must be one of {', '.join(options)}, got {value!r}", "pick one of those")
    return value


def _in_range(name: str, value, lo, hi) -> None:
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"between {lo:g} and {hi:g}" if lo is not None and hi is not None else \
            (f"at least {lo:g}" if lo is not None else f"at most {hi:g}")
        raise RnnlabError(f"{name} must be {bounds}, got {_show(value)}", f"send a value {bounds}")


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)[:20]
