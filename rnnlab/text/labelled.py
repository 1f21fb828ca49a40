"""Labelled text: readers for sentence-label data and the tokenizers that cut sentences into tokens.

Readers return `Labelled(texts, labels)` (labels as strings, in file order):
  - `rt-polarity` (or a directory holding NAME.pos / NAME.neg): the two-file polarity corpus;
  - a CSV file, or a TSV file whose header names its columns, with a header row (`--text-col`,
    `--label-col`, default `text` / `label`);
  - any other file: one `label<TAB>text` line per example.
Tokenizers: `word` (words and punctuation marks), `kim` (Kim 2014's clean_str: ASCII letters, digits and a
few marks, clitics split off), `space` (split on whitespace: for text already tokenised), `char` (characters).
"""
from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import RnnlabError, require
from .shared_data import data_roots, find_folder

TOKENIZERS = ("word", "kim", "space", "char")
_WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
NAMED = {"rt-polarity": "rt-polarity"}                                 # --data NAME -> folder in a data root


@dataclass
class Labelled:
    """Sentences and their labels, aligned; `source` names where they came from (for messages)."""
    texts: list[str]
    labels: list[str]
    source: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index) -> "Labelled":
        return Labelled([self.texts[i] for i in index], [self.labels[i] for i in index], self.source)


def clean_str(text: str) -> str:
    """Kim (2014)'s tokenisation for sentence classification, lower-cased (CNN_sentence/process_data.py)."""
    text = re.sub(r"[^A-Za-z0-9(),!?'`]", " ", text)
    for clitic in ("'s", "'ve", "n't", "'re", "'d", "'ll"):
        text = text.replace(clitic, " " + clitic)
    for mark in ",!()?":
        text = text.replace(mark, f" {mark} ")
    return re.sub(r"\s{2,}", " ", text).strip().lower()


def tokenize(text: str, kind: str = "word", lower: bool = True) -> list[str]:
    """One sentence -> its tokens under tokenizer `kind` (see the module docstring)."""
    if kind == "kim":
        return clean_str(text).split()
    text = text.lower() if lower else text
    if kind == "word":
        return _WORD.findall(text)
    if kind == "space":
        return text.split()
    if kind == "char":
        return list(" ".join(text.split()))
    raise RnnlabError(f"unknown tokenizer {kind!r}", f"use --tokenizer {', '.join(TOKENIZERS)}")


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RnnlabError(f"{source} is not valid UTF-8 text (bad byte at offset {exc.start})",
                          "convert it, e.g. iconv -f cp1252 -t utf-8") from None


def _read(path: Path, source: str) -> str:
    require(path.is_file(), f"no such data file: {source}", "give a CSV/TSV file, label<TAB>text lines, or rt-polarity")
    text = _decode(path.read_bytes(), source)
    require(text.strip() != "", f"data file {source} is empty", "give a file with labelled sentences in it")
    return text


def polarity_files(source: str) -> tuple[Path, Path] | None:
    """(pos, neg) files of a two-file polarity corpus named by `source`, or None if it is not one."""
    named = source in NAMED and not os.path.exists(source)
    folder = (find_folder(NAMED[source]) or Path(NAMED[source])) if named else Path(source)
    if folder.is_dir():
        utf8 = folder / "utf8"
        folder = utf8 if utf8.is_dir() else folder
        pos, neg = sorted(folder.glob("*.pos")), sorted(folder.glob("*.neg"))
        require(len(pos) == 1 and len(neg) == 1, f"{source} is a folder without one .pos and one .neg file",
                "give a folder with NAME.pos and NAME.neg, a CSV/TSV file, or label<TAB>text lines")
        return pos[0], neg[0]
    require(source not in NAMED, f"--data {source}: no {NAMED.get(source)}/ folder in "
            f"{', '.join(str(r) for r in data_roots())}",
            "give the path of its folder (with rt-polarity.pos and rt-polarity.neg), or set RNNLAB_DATA")
    return None


def read_polarity(pos: Path, neg: Path) -> Labelled:
    """Pang & Lee's sentence polarity data: one sentence per line, label from the file (pos / neg)."""
    texts, labels = [], []
    for path, label in ((pos, "pos"), (neg, "neg")):
        lines = [ln for ln in _read(path, str(path)).split("\n") if ln.strip()]   # split on \n only (see SOURCE.md)
        texts += lines
        labels += [label] * len(lines)
    return Labelled(texts, labels, str(pos.parent))


def read_table(path: Path, source: str, text_col: str = "text", label_col: str = "label") -> Labelled:
    """A CSV (or, for .tsv/.tab files, TSV) file with a header row naming `text_col` and `label_col`."""
    text = _read(path, source)
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(rows)]
    for flag, col in (("--text-col", text_col), ("--label-col", label_col)):
        require(col in header, f"{source} has no column {col!r} (its columns: {', '.join(map(repr, header))})",
                f"name one of them with {flag}")
    ti, li = header.index(text_col), header.index(label_col)
    texts, labels = [], []
    for n, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        require(len(row) > max(ti, li), f"{source} row {n} has {len(row)} fields, the header {len(header)}",
                "fix that row (quote fields that contain the delimiter)")
        texts.append(row[ti])
        labels.append(row[li].strip())
    require(texts, f"{source} has a header but no rows", "give a file with labelled sentences in it")
    return Labelled(texts, labels, source)


def read_tab_lines(path: Path, source: str) -> Labelled:
    """One `label<TAB>text` line per example; blank lines are skipped."""
    texts, labels = [], []
    for n, line in enumerate(_read(path, source).split("\n"), start=1):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        require(tab == "\t", f"{source} line {n} has no tab between a label and the text",
                "write label<TAB>text lines, or give a CSV with --text-col and --label-col")
        texts.append(text)
        labels.append(label.strip())
    return Labelled(texts, labels, source)


def _tsv_header(path: Path) -> bool:
    """A .tsv/.tab file whose first line names the columns text and label (else: label<TAB>text lines)."""
    if path.suffix.lower() not in (".tsv", ".tab") or not path.is_file():
        return False
    with open(path, "rb") as f:
        first = f.readline().decode("utf-8", "replace").strip().split("\t")
    return {"text", "label"} <= {c.strip() for c in first}


def load_labelled(source: str, text_col: str | None = None, label_col: str | None = None) -> Labelled:
    """Read labelled sentences from `source` (see the module docstring) and check them."""
    files = polarity_files(source)
    if files is not None:
        data = read_polarity(*files)
    else:
        path = Path(source).expanduser()
        table = text_col is not None or label_col is not None or path.suffix.lower() == ".csv" or _tsv_header(path)
        data = (read_table(path, source, text_col or "text", label_col or "label") if table
                else read_tab_lines(path, source))
    data.source = source
    return check_labelled(data)


def check_labelled(data: Labelled, min_classes: int = 2) -> Labelled:
    """Refuse data a classifier cannot learn from: no rows, a label column with one class, empty labels."""
    require(len(data) > 0, f"{data.source} holds no labelled sentences", "give a file with labelled sentences in it")
    if not all(data.labels):
        raise RnnlabError(f"{data.source} has an empty label (example {data.labels.index('') + 1})",
                          "give every sentence a label")
    classes = sorted(set(data.labels))
    require(len(classes) >= min_classes, f"{data.source} has one class only ({classes[0]!r})",
            "a classifier needs sentences of at least two labels; check --label-col")
    return data
