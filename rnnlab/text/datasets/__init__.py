"""Corpora shipped inside the package, addressable by name (`--data tiny_shakespeare`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BundledCorpus:
    name: str
    filename: str
    description: str

    @property
    def path(self) -> Path:
        return HERE / self.filename


BUNDLED = {
    c.name: c
    for c in [
        BundledCorpus("tiny_shakespeare", "tiny_shakespeare.txt",
                      "Shakespeare plays, 1,115,394 characters, 65 symbols (the char-rnn corpus; see SOURCE.md)"),
    ]
}


def find_bundled(name: str) -> BundledCorpus | None:
    """The bundled corpus called `name` (hyphens or underscores), or None."""
    return BUNDLED.get(name.replace("-", "_"))
