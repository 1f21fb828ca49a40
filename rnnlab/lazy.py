"""Lazy public names for a package (PEP 562): `import rnnlab.esn` stays light, names load on first use."""
from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict):
    """(__getattr__, __dir__) for `package`, whose public names map to "module" or ("module", "name there")."""

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = exports[name] if isinstance(exports[name], tuple) else (exports[name], name)
        value = getattr(importlib.import_module(f".{module}", package), attr)
        globals_of(package)[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals_of(package)) | set(exports))

    return __getattr__, __dir__


def globals_of(package: str) -> dict:
    import sys
    return vars(sys.modules[package])
