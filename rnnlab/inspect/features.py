"""Character features of a text, the ones the lectures find cells for: one float per character.

Binary features are 1 inside the construct (between the delimiters, the delimiters excluded) and 0 outside;
numeric ones (depth, position in the line, indentation) count. `--feature NAME=REGEX` adds a binary feature
that is on inside the regex's matches.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np

from ..errors import RnnlabError, require

URL = re.compile(r"(?:https?|ftp)://[^\s\"'<>\]\)]+|www\.[^\s\"'<>\]\)]+")
OPENERS, CLOSERS = "([{", ")]}"


def _inside_pairs(text: str, open_ch: str, close_ch: str) -> np.ndarray:
    """1 between open_ch and its matching close_ch (nesting counted, delimiters excluded)."""
    out = np.zeros(len(text), np.float32)
    depth = 0
    for t, ch in enumerate(text):
        if ch == close_ch and depth > 0:
            depth -= 1
        out[t] = depth > 0
        if ch == open_ch:
            depth += 1
    return out


def bracket_depth(text: str, openers: str = OPENERS, closers: str = CLOSERS) -> np.ndarray:
    """Nesting depth of (), [] and {} together (or of the given pairs) at each character; an opener counts
    from the next character, a closer no longer counts."""
    out = np.zeros(len(text), np.float32)
    depth = 0
    for t, ch in enumerate(text):
        if ch in closers and depth > 0:
            depth -= 1
        out[t] = depth
        if ch in openers:
            depth += 1
    return out


def inside_quotes(text: str) -> np.ndarray:
    """1 between a double quote and the next one (the quotes excluded); a newline paragraph does not end it."""
    out = np.zeros(len(text), np.float32)
    inside = False
    for t, ch in enumerate(text):
        if ch == '"':
            inside = not inside
            continue
        out[t] = inside
    return out


def inside_double_brackets(text: str) -> np.ndarray:
    """1 inside wiki markup [[ ... ]] (the brackets excluded)."""
    return inside_regex(text, re.compile(r"\[\[(.*?)\]\]", re.S), group=1)


def inside_url(text: str) -> np.ndarray:
    return inside_regex(text, URL)


def inside_math(text: str) -> np.ndarray:
    """1 inside $...$ or $$...$$ (TeX maths; an escaped \\$ is not a delimiter)."""
    return inside_regex(text, re.compile(r"(?<!\\)(\$\$?)(.+?)(?<!\\)\1", re.S), group=2)


def inside_c_comment(text: str) -> np.ndarray:
    """1 inside /* ... */ and // ... to the end of the line."""
    return inside_regex(text, re.compile(r"/\*(.*?)\*/|//([^\n]*)", re.S), group=(1, 2))


def inside_if_block(text: str) -> np.ndarray:
    """1 inside the { } body of a C if/else if/else (nested blocks included)."""
    out = np.zeros(len(text), np.float32)
    stack: list[bool] = []
    head = re.compile(r"(?:\bif\s*\(.*\)|\belse)\s*$", re.S)
    for t, ch in enumerate(text):
        if ch == "}" and stack:
            stack.pop()
        out[t] = any(stack) and ch != "}"
        if ch == "{":
            before = text[max(0, t - 200):t]
            stack.append(bool(head.search(before.rsplit(";", 1)[-1].rsplit("}", 1)[-1])))
    return out


def position_in_line(text: str) -> np.ndarray:
    """Characters since the last newline (0 at the start of a line)."""
    out = np.zeros(len(text), np.float32)
    col = 0
    for t, ch in enumerate(text):
        out[t] = col
        col = 0 if ch == "\n" else col + 1
    return out


def indentation(text: str) -> np.ndarray:
    """Leading spaces of the current line (a tab counts 4), for every character of the line."""
    out = np.zeros(len(text), np.float32)
    start = 0
    for line in text.split("\n"):
        stripped = line.lstrip(" \t")
        lead = line[:len(line) - len(stripped)]
        out[start:start + len(line) + 1] = lead.count(" ") + 4 * lead.count("\t")
        start += len(line) + 1
    return out[:len(text)]


def start_of_word(text: str) -> np.ndarray:
    """1 at a letter or digit that follows a character that is neither."""
    word = np.array([ch.isalnum() for ch in text], bool)
    before = np.concatenate([[False], word[:-1]])
    return (word & ~before).astype(np.float32)


def after_newline(text: str) -> np.ndarray:
    """1 at the character right after a newline."""
    out = np.zeros(len(text), np.float32)
    nl = np.array([ch == "\n" for ch in text], bool)
    out[1:] = nl[:-1]
    return out


def vowel(text: str) -> np.ndarray:
    return np.array([ch in "aeiouAEIOU" for ch in text], np.float32)


def inside_regex(text: str, pattern: re.Pattern, group=0) -> np.ndarray:
    """1 inside each match of `pattern` (or of the given group(s) of it)."""
    out = np.zeros(len(text), np.float32)
    groups = group if isinstance(group, tuple) else (group,)
    for m in pattern.finditer(text):
        for g in groups:
            if m.start(g) >= 0:
                out[m.start(g):m.end(g)] = 1
    return out


BUILTIN: dict[str, Callable[[str], np.ndarray]] = {
    "inside double quotes": inside_quotes,
    "inside parentheses": lambda text: _inside_pairs(text, "(", ")"),
    "inside brackets": lambda text: _inside_pairs(text, "[", "]"),
    "inside braces": lambda text: _inside_pairs(text, "{", "}"),
    "bracket depth": bracket_depth,
    "brace depth": lambda text: bracket_depth(text, "{", "}"),
    "inside [[ ]]": inside_double_brackets,
    "inside a URL": inside_url,
    "position in line": position_in_line,
    "inside a C comment": inside_c_comment,
    "inside an if-block": inside_if_block,
    "indentation depth": indentation,
    "inside $...$ maths": inside_math,
    "start of a word": start_of_word,
    "after a newline": after_newline,
    "vowel": vowel,
}


def parse_feature(spec: str) -> tuple[str, Callable[[str], np.ndarray]]:
    """'NAME=REGEX' -> (NAME, a feature on inside the regex's matches)."""
    name, sep, regex = spec.partition("=")
    require(sep == "=" and name.strip() and regex, f"--feature {spec!r} is not NAME=REGEX",
            'write e.g. --feature "number=[0-9]+"')
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise RnnlabError(f"--feature {name}: {regex!r} is not a regular expression ({exc})",
                          "fix the regex (Python re syntax)") from None
    return name.strip(), lambda text: inside_regex(text, pattern)


def compute(text: str, extra: list[str] | None = None) -> dict[str, np.ndarray]:
    """Every built-in feature plus the user's NAME=REGEX ones -> name -> (len(text),) float32."""
    features = {name: fn(text) for name, fn in BUILTIN.items()}
    for spec in extra or []:
        name, fn = parse_feature(spec)
        features[name] = fn(text)
    return features
