"""Reading any image file as the model's input: RGB, CANVAS x CANVAS, uint8.

Grayscale, palette, CMYK and 16-bit images are converted to RGB; an alpha channel is composited
onto black (the background the shapes are drawn on is dark); other sizes are resized (bilinear, the
aspect ratio not kept, with a note). A file that is not an image, or is damaged, is an RnnlabError.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import RnnlabError, require
from .caption_scenes import CANVAS


def load_image(path: str | Path, size: int = CANVAS, notes: list | None = None) -> np.ndarray:
    """(size, size, 3) uint8 of the image at `path`; `notes` collects what was converted."""
    from PIL import Image, UnidentifiedImageError
    path = Path(path)
    require(path.is_file(), f"{path} does not exist or is not a file", "give the path of a PNG or JPEG image")
    try:
        with Image.open(path) as img:
            img.load()
            return to_rgb(img, size, notes)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise RnnlabError(f"{path} is not a readable image ({exc.__class__.__name__})",
                          "give a PNG or JPEG file") from None


def to_rgb(img, size: int = CANVAS, notes: list | None = None) -> np.ndarray:
    """A PIL image as (size, size, 3) uint8 RGB (see the module docstring)."""
    from PIL import Image
    notes = notes if notes is not None else []
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray((255 * arr / max(arr.max(), 1)).astype(np.uint8))
        notes.append("16-bit grayscale scaled to 8 bits")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        img = Image.alpha_composite(black, rgba)
        notes.append("alpha channel composited onto black")
    if img.mode != "RGB":
        notes.append(f"{img.mode} converted to RGB")
        img = img.convert("RGB")
    if img.size != (size, size):
        notes.append(f"{img.size[0]}x{img.size[1]} resized to {size}x{size}")
        img = img.resize((size, size), Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8).copy()
