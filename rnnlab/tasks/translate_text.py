"""Parallel text for translation: reading line-aligned files, a reversible word tokenizer, Multi30k's files.

Tokenization (both sides, cased, nothing normalised): words (letters/digits, inner hyphens kept:
"saftig-grünes"), clitics from an apostrophe on ("'s") and every other non-space character on its own.
A token written against the one before it (no space between them in the raw text) carries the joiner
mark JOIN in front, so that detokenize(tokenize(s)) == " ".join(s.split()) exactly:

    "A woman's hat."  ->  ["A", "woman", "￭'s", "hat", "￭."]  ->  "A woman's hat."

The model translates into these tokens and the output is detokenized before BLEU (sacrebleu scores the
raw, cased reference with its own 13a tokenizer), so the score is the standard detokenized, cased BLEU.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import NotUTF8Error, RnnlabError, require
from ..text.shared_data import find_folder

JOIN = "\uffed"                  # "￭": this token follows the previous one without a space
_TOKEN = re.compile(r"\w+(?:-\w+)*|'\w+|[^\w\s]")
MULTI30K_SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}


def tokenize(sentence: str) -> list[str]:
    """Reversible tokens of one sentence (see the module docstring)."""
    out = []
    for m in _TOKEN.finditer(sentence):
        glued = m.start() > 0 and not sentence[m.start() - 1].isspace() and out
        out.append(JOIN + m.group() if glued else m.group())
    return out


def strip_join(token: str) -> str:
    """The token's text without its joiner mark."""
    return token[1:] if token.startswith(JOIN) else token


def detokenize(tokens: list[str]) -> str:
    """Tokens back to text: a space before every token but the first, except the joined ones."""
    return "".join((t[1:] if t.startswith(JOIN) else (" " + t if i else t)) for i, t in enumerate(tokens))


def read_lines(path: str | Path) -> list[str]:
    """The lines of a UTF-8 file; an empty (whitespace-only) line is refused, naming it."""
    p = Path(path)
    require(p.is_file(), f"{p} does not exist or is not a file", "give the path of a text file, one sentence a line")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise NotUTF8Error(f"{p} is not UTF-8 text (byte {exc.start})", "convert it to UTF-8") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    require(lines, f"{p} is empty", "give a file with one sentence a line")
    for i, line in enumerate(lines, 1):
        require(line.strip() != "", f"{p} line {i} is empty", "remove the empty line (from both sides of the pair)")
    return [line.rstrip("\r") for line in lines]


@dataclass
class Parallel:
    """Line-aligned sentences of one split."""
    src: list[str]
    tgt: list[str]
    src_path: str
    tgt_path: str

    def __len__(self) -> int:
        return len(self.src)


def read_parallel(src_path: str | Path, tgt_path: str | Path) -> Parallel:
    """Both sides of a split; their line counts must agree."""
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    require(len(src) == len(tgt), f"{src_path} has {len(src):,} lines but {tgt_path} has {len(tgt):,}",
            "give line-aligned files: line i of the target translates line i of the source")
    return Parallel(src, tgt, str(src_path), str(tgt_path))


def multi30k_files(src: str, tgt: str) -> dict[str, tuple[Path, Path]]:
    """{"train"|"val"|"test": (source file, target file)} of the shared Multi30k folder."""
    folder = find_folder("multi30k")
    require(folder is not None, "the multi30k folder was not found (looked in $RNNLAB_DATA, ../shared/data, ./data)",
            "set RNNLAB_DATA to the folder that holds multi30k/, or give --src-file and --tgt-file")
    langs = sorted({p.suffix[1:] for p in folder.glob("train.*") if p.suffix[1:].isalpha()})
    for flag, lang in (("--src", src), ("--tgt", tgt)):
        require(lang in langs, f"multi30k has no language {lang!r} for {flag}", f"use one of {', '.join(langs)}")
    require(src != tgt, f"--src and --tgt are both {src!r}", "translate between two different languages")
    return {split: (folder / f"{stem}.{src}", folder / f"{stem}.{tgt}") for split, stem in MULTI30K_SPLITS.items()}


def resolve_files(cfg) -> dict[str, tuple[str, str]]:
    """The split files of a TranslateConfig: --data multi30k, or --src-file/--tgt-file (+ --val-src/--val-tgt,
    --test-src/--test-tgt); without validation files the last 5% of the training lines are held out."""
    if cfg.src_file or cfg.tgt_file:
        require(bool(cfg.src_file) and bool(cfg.tgt_file), "--src-file and --tgt-file go together",
                "give both sides of the training data")
        files = {"train": (cfg.src_file, cfg.tgt_file)}
        for split, a, b in (("val", cfg.val_src, cfg.val_tgt), ("test", cfg.test_src, cfg.test_tgt)):
            require(bool(a) == bool(b), f"--{split}-src and --{split}-tgt go together", "give both or neither")
            if a:
                files[split] = (a, b)
        return files
    require(cfg.data == "multi30k", f"unknown --data {cfg.data!r}", "use --data multi30k, or --src-file and --tgt-file")
    return {k: (str(a), str(b)) for k, (a, b) in multi30k_files(cfg.src, cfg.tgt).items()}


def split_off_validation(train: Parallel, frac: float = 0.05) -> tuple[Parallel, Parallel]:
    """The last `frac` of the training pairs as validation (no validation files given)."""
    if len(train) < 2:
        raise RnnlabError(f"{train.src_path} has {len(train)} line, too few to hold some out for validation",
                          "give more lines or --val-src/--val-tgt files")
    cut = len(train) - max(1, int(round(frac * len(train))))
    return (Parallel(train.src[:cut], train.tgt[:cut], train.src_path, train.tgt_path),
            Parallel(train.src[cut:], train.tgt[cut:], train.src_path + " (last 5%)", train.tgt_path + " (last 5%)"))
