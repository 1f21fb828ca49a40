"""CoNLL files: one `token<TAB>tag` (or whitespace-separated columns) per line, a blank line between sentences.

The token is the first column and the tag the last one, so CoNLL-2003's `word POS chunk NER` lines
read as (word, NER). Lines holding only whitespace (WNUT-17's training file separates sentences with a
lone tab) end a sentence; `-DOCSTART-` lines are skipped. A line with one column has no tag: an error
naming the file and line.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import require
from .shared_data import data_roots

# bundled NER corpora: a name given as --data and the files of its splits (in the shared data folder)
NAMED = {"wnut17": ("wnut17", {"train": "wnut17train.conll", "val": "emerging.dev.conll",
                               "test": "emerging.test.annotated"})}


@dataclass
class Tagged:
    """Sentences of one file: tokens[i] and tags[i] are parallel lists."""
    tokens: list[list[str]]
    tags: list[list[str]]
    path: str = ""

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def n_tokens(self) -> int:
        return sum(map(len, self.tokens))

    def tag_set(self) -> set[str]:
        return {t for s in self.tags for t in s}


def parse_conll(text: str, name: str = "<text>") -> Tagged:
    """Sentences of CoNLL text; `name` appears in error messages with the line number."""
    tokens, tags, words, labels = [], [], [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            if words:
                tokens.append(words)
                tags.append(labels)
                words, labels = [], []
            continue
        cols = line.rstrip("\n\r").split("\t") if "\t" in line else line.split()
        cols = [c.strip() for c in cols]
        if cols[0] == "-DOCSTART-":
            continue
        require(len(cols) >= 2 and cols[0] != "" and cols[-1] != "",
                f"{name} line {number}: {line.strip()[:40]!r} has no tag",
                "each line is token<TAB>tag (or space-separated columns, the tag last); a blank line ends a sentence")
        words.append(cols[0])
        labels.append(cols[-1])
    if words:
        tokens.append(words)
        tags.append(labels)
    require(bool(tokens), f"{name} holds no tagged sentences", "give a CoNLL file: token<TAB>tag lines, "
            "a blank line between sentences")
    return Tagged(tokens, tags, name)


def read_conll(path: str | os.PathLike) -> Tagged:
    """Read a CoNLL file (UTF-8); missing, empty or untagged files are refused in one line."""
    p = Path(path)
    require(p.is_file(), f"no such file: {p}", "give the path of a CoNLL file (token<TAB>tag lines) or --data wnut17")
    raw = p.read_bytes()
    require(len(raw.strip()) > 0, f"{p} is empty", "give a CoNLL file: token<TAB>tag lines")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        require(False, f"{p} line {line} is not UTF-8 text", "convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8)")
    return parse_conll(text, str(p))


def resolve_splits(data: str, val: str | None = None, test: str | None = None) -> dict[str, str]:
    """Files of the splits: a corpus name (wnut17) gives train/val/test; a path gives train, plus --val/--test."""
    if data in NAMED and not Path(data).exists():
        folder, files = NAMED[data]
        for root in data_roots():
            if (root / folder).is_dir():
                splits = {k: str(root / folder / f) for k, f in files.items()}
                if val:
                    splits["val"] = val
                if test:
                    splits["test"] = test
                return splits
        require(False, f"corpus {data!r} not found in {', '.join(str(r) for r in data_roots())}",
                f"set RNNLAB_DATA to the folder holding {folder}/, or give --data FILE")
    splits = {"train": data}
    if val:
        splits["val"] = val
    if test:
        splits["test"] = test
    return splits
