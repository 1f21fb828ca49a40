"""The captioning data set on disk and in memory.

    make_data(out, n, seed)  ->  OUT/images/<split>/<k>.png  +  OUT/captions.jsonl  +  OUT/meta.json
        captions.jsonl: one line per image {"file", "split", "captions": [every valid caption], "scene": {...}}
    load_data(OUT)  ->  {split: Split(images (N, 64, 64, 3) uint8, captions, scenes)} + the file's sha256

Words are ids of a Vocab built from the training captions: <pad> 0, <unk> 1, <s> 2, </s> 3, the words, then the
kinds <size> <colour> <shape>: what the decoder reads in place of an attribute word (never generated).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import RnnlabError, require
from .caption_grammar import WORD_SIZE, captions
from .caption_images import load_image
from .caption_render import draw
from .caption_scenes import CANVAS, COLOURS, HELDOUT_PAIRS, SHAPES, SPLITS, Scene, sample_split, split_sizes

SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")
KINDS = {**{w: "<size>" for w in WORD_SIZE}, **{w: "<colour>" for w in COLOURS}, **{w: "<shape>" for w in SHAPES}}
PAD, UNK, BOS, EOS = range(4)
CAPTIONS, META = "captions.jsonl", "meta.json"
MAX_N = 1_000_000


def make_data(out: str | Path, n: int, seed: int = 0, on_progress: Callable[[int, int], None] | None = None) -> dict:
    """Render n scenes with their captions into `out` (new or empty); returns meta.json's contents."""
    out = Path(out)
    require(isinstance(n, int) and 20 <= n <= MAX_N, f"--n must be between 20 and {MAX_N:,}, got {n}",
            "pass e.g. --n 20000")
    require(not out.exists() or (out.is_dir() and not any(out.iterdir())), f"{out} already exists and is not empty",
            "choose a new --out directory")
    sizes = split_sizes(n)
    lines, done = [], 0
    for split in SPLITS:
        folder = out / "images" / split
        folder.mkdir(parents=True, exist_ok=True)
        for k, scene in enumerate(sample_split(seed, split, sizes[split])):
            name = f"images/{split}/{k:06d}.png"
            draw(scene).save(out / name, optimize=False)
            lines.append(json.dumps({"file": name, "split": split, "captions": captions(scene),
                                     "scene": scene.to_dict()}))
            done += 1
            if on_progress is not None and (done % 500 == 0 or done == n):
                on_progress(done, n)
    (out / CAPTIONS).write_text("\n".join(lines) + "\n")
    meta = {"format": 1, "n": n, "seed": seed, "canvas": CANVAS, "splits": sizes,
            "heldout_pairs": [list(p) for p in HELDOUT_PAIRS]}
    (out / META).write_text(json.dumps(meta, indent=1) + "\n")
    return meta


@dataclass
class Split:
    images: np.ndarray              # (N, CANVAS, CANVAS, 3) uint8
    captions: list[list[str]]       # every valid caption of each image
    scenes: list[Scene]

    def __len__(self) -> int:
        return len(self.scenes)

    def subset(self, index) -> "Split":
        return Split(self.images[index], [self.captions[i] for i in index], [self.scenes[i] for i in index])


def read_lines(root: Path) -> list[dict]:
    path = root / CAPTIONS
    require(path.is_file(), f"{root} has no {CAPTIONS}", f"make one with: rnnlab caption make-data --out {root}")
    rows = []
    for k, line in enumerate(path.read_text().splitlines(), 1):
        try:
            row = json.loads(line)
            if row["split"] in SPLITS and row["captions"] and isinstance(row["file"], str):
                rows.append(row)
                continue
        except (json.JSONDecodeError, KeyError, TypeError):
            pass
        raise RnnlabError(f"{path} line {k} is not a caption record", "make the data again with rnnlab caption make-data")
    return rows


def fingerprint(root: str | Path) -> str:
    return hashlib.sha256((Path(root) / CAPTIONS).read_bytes()).hexdigest()


def load_data(root: str | Path, splits=SPLITS) -> dict[str, Split]:
    """The images and captions of the named splits (every split must have images)."""
    root = Path(root)
    require(root.is_dir(), f"{root} is not a directory", f"make the data with: rnnlab caption make-data --out {root}")
    rows = read_lines(root)
    out = {}
    for split in splits:
        mine = [r for r in rows if r["split"] == split]
        require(len(mine) > 0, f"{root / CAPTIONS} has no {split} images", "make the data again with --n 20 or more")
        images = np.stack([load_image(root / r["file"]) for r in mine])                 # (N, H, W, 3)
        out[split] = Split(images, [r["captions"] for r in mine], [Scene.from_dict(r["scene"]) for r in mine])
    return out


class Vocab:
    """Caption words <-> ids (SPECIALS first)."""

    def __init__(self, words):
        self.words = list(words)
        require(tuple(self.words[:4]) == SPECIALS, "the run's caption vocabulary is damaged", "use another checkpoint")
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def fit(cls, caption_lists: list[list[str]]) -> "Vocab":
        words = sorted({w for cs in caption_lists for c in cs for w in c.split()})
        return cls(list(SPECIALS) + words + sorted({KINDS[w] for w in words if w in KINDS}))

    def input_map(self, mode: str) -> tuple[int, ...]:
        """The id the decoder reads for each id: "kinds" reads every attribute word as its kind, "colours",
        "colours-late" and "colours-query" only the colour words, "words" every word as itself."""
        colours = {w: KINDS[w] for w in COLOURS}
        masked = {"kinds": KINDS, "colours": colours, "colours-late": colours, "colours-query": colours,
                  "words": {}}[mode]
        return tuple(self.index.get(masked[w], i) if w in masked else i for i, w in enumerate(self.words))

    def late(self, mode: str) -> tuple[int, ...]:
        """The ids whose identity the decoder reads one word late: the colours with "colours-late" and
        "colours-query"."""
        late = mode in ("colours-late", "colours-query")
        return tuple(self.index[w] for w in COLOURS if w in self.index) if late else ()

    def no_emit(self) -> tuple[int, ...]:
        return (PAD, UNK, BOS) + tuple(i for i, w in enumerate(self.words) if w in KINDS.values())

    @property
    def size(self) -> int:
        return len(self.words)

    def encode(self, caption: str) -> list[int]:
        return [self.index.get(w, UNK) for w in caption.split()]

    def decode(self, ids) -> str:
        return " ".join(self.words[i] for i in ids if i not in (PAD, BOS, EOS))

    def to_dict(self) -> dict:
        return {"words": self.words}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocab":
        require(isinstance(d, dict) and isinstance(d.get("words"), list), "the run's caption vocabulary is damaged",
                "use another checkpoint")
        return cls(d["words"])


def teacher_batch(vocab: Vocab, chosen: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(inputs <s> w1..wn, targets w1..wn </s>), both (B, T) int64 padded with <pad>."""
    ids = [vocab.encode(c) for c in chosen]
    T = max(len(x) for x in ids) + 1
    inp = np.full((len(ids), T), PAD, dtype=np.int64)
    tgt = np.full((len(ids), T), PAD, dtype=np.int64)
    for i, x in enumerate(ids):
        inp[i, :len(x) + 1] = [BOS] + x
        tgt[i, :len(x) + 1] = x + [EOS]
    return inp, tgt
