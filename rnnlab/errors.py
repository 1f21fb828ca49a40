"""The one error type users see: a problem plus the fix, printed as one line."""
from __future__ import annotations

import math


class RnnlabError(Exception):
    """Bad input or an unusable file. The CLI prints `error: <message> (<hint>)` and exits 2."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class NotUTF8Error(RnnlabError):
    """A text file that is not UTF-8. Its hint names `--tokenizer byte`; commands without that flag
    (eval of a character run, hmm) catch it and give their own hint with `rehint`."""


def rehint(exc: RnnlabError, hint: str) -> RnnlabError:
    """The same problem with another fix: for a command whose flags differ from the one that raised it."""
    return type(exc)(exc.message, hint)


def require(condition: bool, message: str, hint: str = "") -> None:
    """Raise RnnlabError(message, hint) unless condition holds."""
    if not condition:
        raise RnnlabError(message, hint)


def require_positive(name: str, value, allow_zero: bool = False) -> None:
    """Check a size, length or temperature given on the command line or in a config."""
    if value is None:
        return
    if not isinstance(value, int):     # ints are finite (and math.isfinite overflows on 400 digits)
        require(math.isfinite(value), f"{name} must be a finite number, got {value}", f"pass a finite value for {name}")
    ok = value >= 0 if allow_zero else value > 0
    bound = "non-negative" if allow_zero else "positive"
    require(ok, f"{name} must be {bound}, got {value}", f"pass a {bound} value for {name}")
