"""Pretrained word vectors (`--embeddings FILE`): GloVe / word2vec text format into an embedding table.

A file holds one `word v_1 ... v_D` row per line; a first line of two whole numbers (word2vec's
`count width` header) is skipped. Every row must have the same width D (a row of another width is
refused, naming its line). Words of the vocabulary found in the file get their vector (exact spelling
first, then lower-cased, then the file's first word whose key(word) is the token, e.g. the tagger's
normalised form); the others keep their random initialisation, and a log line counts both.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from ..errors import RnnlabError, require


def _rows(path: Path):
    require(path.is_file(), f"no such vectors file: {path}", "give a GloVe or word2vec text file to --embeddings")
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if parts != [""]:
                yield n, parts


def read_vectors(path: str | Path, wanted: Iterable[str] | None = None,
                 key: Callable[[str], str] | None = None) -> tuple[list[str], np.ndarray]:
    """(words, (N, D) float32 vectors) of a text vectors file; only the `wanted` words (or words whose
    key(word) is wanted) if given: a big file then costs memory for the vocabulary's rows only. Refuses
    ragged rows and unreadable numbers."""
    path = Path(path)
    wanted = set(wanted) if wanted is not None else None
    words, vectors, width = [], [], None
    for n, parts in _rows(path):
        if n == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            continue                                                   # word2vec header: count width
        if width is None:
            width = len(parts) - 1
            require(width > 0, f"{path} line {n} holds a word and no numbers", "give a GloVe or word2vec text file")
        require(len(parts) - 1 == width, f"{path} line {n} has {len(parts) - 1} numbers, the first row {width}",
                "every row of a vectors file must have the same width; fix or drop that line")
        if wanted is not None and parts[0] not in wanted and (key is None or key(parts[0]) not in wanted):
            continue
        try:
            vectors.append(np.asarray(parts[1:], dtype=np.float32))
        except ValueError:
            raise RnnlabError(f"{path} line {n} has a value that is not a number",
                              "give a GloVe or word2vec text file (binary word2vec files are not read)") from None
        words.append(parts[0])
    require(width is not None, f"vectors file {path} is empty", "give a GloVe or word2vec text file")
    table = np.stack(vectors) if vectors else np.zeros((0, width), dtype=np.float32)
    require(bool(np.isfinite(table).all()), f"{path} holds a value that is not finite", "fix the file")
    return words, table


def vectors_width(path: str | Path) -> int:
    """D of a vectors file, from its first row (read_vectors checks the others)."""
    for n, parts in _rows(Path(path)):
        if n == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            return int(parts[1])
        return len(parts) - 1
    raise RnnlabError(f"vectors file {path} is empty", "give a GloVe or word2vec text file")


def keyed_index(words: list[str], key: Callable[[str], str] | None = None) -> dict[str, int]:
    """{word: its position}, and with `key` also {key(word): the first position of that key}; exact spellings
    win over keys."""
    index = {w: i for i, w in enumerate(words)}
    if key is None:
        return index
    return {**{key(w): i for i, w in reversed(list(enumerate(words)))}, **index}


@torch.no_grad()
def load_pretrained(embedding: nn.Embedding, tokens: list[str], path: str | Path, freeze: bool = False,
                    skip: int = 2, say: Callable[[str], None] = print, key: Callable[[str], str] | None = None) -> dict:
    """Copy the file's vectors into `embedding` rows by token string (the first `skip` rows, <pad> and
    <unk>, are left alone; see the module docstring for the matching); freeze the table if asked.
    Returns {"file", "found", "missing", "frozen"}."""
    wanted = set(tokens[skip:]) | {t.lower() for t in tokens[skip:]}
    words, table = read_vectors(path, wanted, key)
    require(table.shape[1] == embedding.embedding_dim, f"{path} holds {table.shape[1]}-wide vectors, the "
            f"embedding is {embedding.embedding_dim} wide", f"pass --embed {table.shape[1]} (or leave --embed out)")
    index = keyed_index(words, key)                        # the file's first (most frequent) word of a key
    found = 0
    for row, token in enumerate(tokens[skip:], start=skip):
        i = index.get(token, index.get(token.lower()))
        if i is not None:
            embedding.weight[row] = torch.from_numpy(table[i]).to(embedding.weight.dtype)
            found += 1
    missing = len(tokens) - skip - found
    embedding.weight.requires_grad_(not freeze)
    say(f"embeddings: {found:,} of {len(tokens) - skip:,} words found in {path}; {missing:,} initialised at random"
        f"{'; table frozen' if freeze else ''}")
    return {"file": str(path), "found": found, "missing": missing, "frozen": freeze}
