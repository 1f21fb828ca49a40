"""Settings declared once: a dataclass field carries its default, help text, flag spelling and whether a
resume may change it; argparse flags and the resume rules are generated from those fields.

    @dataclass
    class MyConfig:
        lr: float = setting(3e-3, "peak learning rate", resumable=True)

    add_flags(parser, MyConfig)                  # --lr LR  peak learning rate (default 0.003)
    cfg = MyConfig(**given(parser.parse_args(), MyConfig))
"""
from __future__ import annotations

import argparse
import dataclasses
import types
import typing

from . import argtypes

_KEY = "rnnlab"          # the key of a field's metadata that setting() fills
_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def setting(default, help: str, *, resumable: bool = False, flag: str | None = None, metavar: str | None = None,
            parse=None, choices=None) -> dataclasses.Field:
    """A dataclass field whose metadata describes its command-line flag.

    help: the flag's help text; "{default}" and "{NAME}" (an attribute of the class, called if callable)
    are filled in, and "(default X)" is appended unless the text mentions a default. resumable: a resume
    may change it. flag: its spelling, "--" + name with dashes unless given; a short flag ("-n") also gets
    the long one, and a spelling without a dash names a setting that is no flag (e.g. "vocab_size").
    parse: the argparse type, inferred from the annotation unless given (int, float, str, Optional[...];
    fields named seed use argtypes.seed). choices: argparse's choices."""
    meta = {"help": help, "resumable": resumable, "flag": flag, "metavar": metavar, "parse": parse, "choices": choices}
    return dataclasses.field(default=default, metadata={_KEY: meta})


def _meta(f: dataclasses.Field) -> dict:
    meta = f.metadata.get(_KEY)
    if meta is None:
        raise TypeError(f"field {f.name} is not declared with rnnlab.settings.setting()")
    return meta


def flag(f: dataclasses.Field) -> str:
    """The spelling of a field's flag, used in every message about it ("--max-steps", "-n", "vocab_size")."""
    return f.metadata.get(_KEY, {}).get("flag") or "--" + f.name.replace("_", "-")


def _names(f: dataclasses.Field) -> list[str]:
    """The type names of an annotation, string or type: 'Optional[int]' and `int | None` -> ['int', 'None']."""
    t = f.type
    if not isinstance(t, str):
        args = typing.get_args(t) if typing.get_origin(t) in (typing.Union, types.UnionType) else (t,)
        return ["None" if a is type(None) else getattr(a, "__name__", str(a)) for a in args]
    t = t.strip()
    if t.startswith("Optional[") and t.endswith("]"):
        return [t[len("Optional["):-1].strip(), "None"]
    return [p.strip() for p in t.split("|")]


def kind(f: dataclasses.Field) -> str:
    """'int', 'float', 'str' or 'bool' from the annotation (Optional[...] and `X | None` unwrapped)."""
    names = [n for n in _names(f) if n != "None"]
    return names[0] if len(names) == 1 else " | ".join(names)


def optional(f: dataclasses.Field) -> bool:
    """Whether the annotation admits None."""
    return "None" in _names(f)


def _parse(f: dataclasses.Field):
    meta = _meta(f)
    if meta["parse"] is not None:
        return meta["parse"]
    if f.name == "seed":
        return argtypes.seed
    typ = _TYPES.get(kind(f))
    if typ is None:
        raise TypeError(f"cannot infer a flag type for {f.name}: {f.type}; pass setting(..., parse=...)")
    return typ


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class _Values(dict):
    """format_map values of a help text: {default} is the field's default, other names the class's attributes."""

    def __init__(self, cls, f: dataclasses.Field):
        super().__init__()
        self.cls, self.f = cls, f

    def __missing__(self, key):
        if key == "default":
            return _show(self.f.default)
        value = getattr(self.cls, key)
        return value() if callable(value) else value


def help_text(cls, name: str) -> str:
    """The --help text of field `name` of dataclass `cls`, defaults filled in."""
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    text = _meta(f)["help"]
    if "{" in text:
        text = text.format_map(_Values(cls, f))
    default = f.default
    shown = isinstance(default, (int, float, str)) and not isinstance(default, bool) and default != ""
    if shown and "default" not in text.lower():
        text += f" (default {_show(default)})"
    return text


def is_flag(f: dataclasses.Field) -> bool:
    return flag(f).startswith("-")


def add_flags(parser, cls, only=None, skip=()) -> None:
    """One flag per field of dataclass `cls` (or of the names in `only`, less those in `skip`), default None
    so that a flag not given is detectable (see given); bool fields become store_true flags."""
    for f in dataclasses.fields(cls):
        if (only is not None and f.name not in only) or f.name in skip or not is_flag(f):
            continue
        meta, spelling = _meta(f), flag(f)
        names = [spelling] if spelling.startswith("--") else [spelling, "--" + f.name.replace("_", "-")]
        kw = {"dest": f.name, "default": None, "help": help_text(cls, f.name).replace("%", "%%")}
        if kind(f) == "bool":
            kw["action"] = "store_true"
        else:
            kw.update(type=_parse(f), metavar=meta["metavar"], choices=meta["choices"])
        parser.add_argument(*names, **kw)


def given(namespace: argparse.Namespace, cls) -> dict:
    """The fields of `cls` the user actually passed: {name: value} for flags that are not None."""
    return {f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)
            if getattr(namespace, f.name, None) is not None}


def resumable(cls) -> frozenset[str]:
    """Names of the fields of `cls` that a resume may change."""
    return frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get(_KEY, {}).get("resumable"))
