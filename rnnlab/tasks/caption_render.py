"""Drawing a scene as an RGB image with Pillow: shapes drawn at 2x and downsampled (anti-aliased).

Each colour's shade is jittered a little per object (from the scene's own numbers, so a scene always
renders to the same pixels), on a plain grey background.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .caption_scenes import CANVAS, RADIUS, Obj, Scene

RGB = {"red": (215, 40, 40), "green": (40, 175, 60), "blue": (50, 95, 235), "yellow": (235, 210, 40),
       "purple": (150, 60, 205)}
SCALE = 2


def _shade(obj: Obj) -> tuple[int, int, int]:
    """The colour with a deterministic +-15 jitter from the object's position."""
    j = int(obj.x * 7 + obj.y * 13) % 31 - 15
    return tuple(int(min(255, max(0, c + j))) for c in RGB[obj.colour])


def _polygon(obj: Obj) -> list[tuple[float, float]]:
    r, cx, cy = RADIUS[obj.size] * SCALE, obj.x * SCALE, obj.y * SCALE
    if obj.shape == "triangle":
        return [(cx + r * math.cos(a), cy - r * math.sin(a)) for a in (math.pi / 2, 7 * math.pi / 6, 11 * math.pi / 6)]
    points = []                                       # star: 5 outer and 5 inner corners
    for k in range(10):
        a = math.pi / 2 + k * math.pi / 5
        rr = r if k % 2 == 0 else 0.45 * r
        points.append((cx + rr * math.cos(a), cy - rr * math.sin(a)))
    return points


def draw(scene: Scene) -> Image.Image:
    """The scene as a CANVAS x CANVAS RGB image."""
    side = CANVAS * SCALE
    img = Image.new("RGB", (side, side), scene.background)
    pen = ImageDraw.Draw(img)
    for obj in scene.objects:
        r, cx, cy = RADIUS[obj.size] * SCALE, obj.x * SCALE, obj.y * SCALE
        box = [cx - r, cy - r, cx + r, cy + r]
        if obj.shape == "circle":
            pen.ellipse(box, fill=_shade(obj))
        elif obj.shape == "square":
            s = r * 0.85                              # a square looks as large as a circle of radius r
            pen.rectangle([cx - s, cy - s, cx + s, cy + s], fill=_shade(obj))
        else:
            pen.polygon(_polygon(obj), fill=_shade(obj))
    return img.resize((CANVAS, CANVAS), Image.LANCZOS)


def pixels(scene: Scene) -> np.ndarray:
    """(CANVAS, CANVAS, 3) uint8."""
    return np.asarray(draw(scene), dtype=np.uint8)
