"""Scenes of 1-3 coloured shapes: what an image shows, sampled from a seed, with held-out (colour, shape) pairs.

A scene is a list of objects (size, colour, shape, centre) laid out so that its relation is never
ambiguous: two or three objects lie along one axis (left to right, or top to bottom), each gap wider
than the two shapes, the other coordinate jittered by a few pixels only. `objects` are kept in the
canonical order along that axis (left to right, top to bottom), which the captions and the parser share.

The held-out combinations (HELDOUT_PAIRS) never occur in the train, val and test splits; every scene
of the heldout_combinations split has at least one of them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

SIZES = ("small", "large")
COLOURS = ("red", "green", "blue", "yellow", "purple")
SHAPES = ("circle", "square", "triangle", "star")
HELDOUT_PAIRS = (("green", "star"), ("red", "triangle"), ("blue", "circle"))
SPLITS = ("train", "val", "test", "heldout_combinations")
CANVAS = 64                                     # image side in pixels
RADIUS = {"small": 5.0, "large": 8.5}          # half the side of a shape's bounding box
JITTER = 4.0                                    # the cross-axis spread of a row of shapes


@dataclass(frozen=True)
class Obj:
    size: str
    colour: str
    shape: str
    x: float = 0.0          # centre, pixels from the left
    y: float = 0.0          # centre, pixels from the top

    @property
    def attributes(self) -> tuple[str, str, str]:
        return (self.size, self.colour, self.shape)


@dataclass(frozen=True)
class Scene:
    objects: tuple[Obj, ...]                      # canonical order along the axis
    axis: str | None = None                       # "horizontal", "vertical", None for one object
    background: tuple[int, int, int] = (40, 40, 40)
    seed: tuple = field(default=(), compare=False)

    def to_dict(self) -> dict:
        return {"objects": [asdict(o) for o in self.objects], "axis": self.axis, "background": list(self.background)}

    @classmethod
    def from_dict(cls, d: dict) -> "Scene":
        return cls(tuple(Obj(**o) for o in d["objects"]), d.get("axis"), tuple(d.get("background", (40, 40, 40))))

    def pairs(self) -> set[tuple[str, str]]:
        return {(o.colour, o.shape) for o in self.objects}


def allowed_pairs(heldout: bool) -> list[tuple[str, str]]:
    """The (colour, shape) pairs of the held-out set, or all the others."""
    return [(c, s) for c in COLOURS for s in SHAPES if ((c, s) in HELDOUT_PAIRS) == heldout]


def _positions(rng: np.random.Generator, radii: list[float]) -> list[float]:
    """Centres along an axis, in order, each gap at least the two shapes' radii + 3 pixels: the room left over
    is shared out at random between the gaps and the two margins."""
    lo, hi = 2.0 + radii[0], CANVAS - 2.0 - radii[-1]
    gaps = [ra + rb + 3.0 for ra, rb in zip(radii, radii[1:])]
    share = rng.dirichlet(np.ones(len(radii) + 1)) * (hi - lo - sum(gaps))      # >= 0 for 3 large shapes
    along = [lo + float(share[0])]
    for gap, extra in zip(gaps, share[1:]):
        along.append(along[-1] + gap + float(extra))
    return along


def sample_scene(rng: np.random.Generator, heldout: bool = False) -> Scene:
    """One random scene; heldout=True: at least one object shows a held-out (colour, shape) pair, else none does."""
    n = int(rng.choice([1, 2, 3], p=[0.2, 0.4, 0.4]))
    seen = allowed_pairs(False)
    pairs = [seen[i] for i in rng.integers(len(seen), size=n)]
    if heldout:
        special = allowed_pairs(True)
        pairs[int(rng.integers(n))] = special[int(rng.integers(len(special)))]
    sizes = [SIZES[i] for i in rng.integers(len(SIZES), size=n)]
    order = rng.permutation(n)                          # which object goes where along the axis
    sizes, pairs = [sizes[k] for k in order], [pairs[k] for k in order]
    radii = [RADIUS[s] for s in sizes]
    axis = None if n == 1 else ("horizontal", "vertical")[int(rng.integers(2))]
    along = _positions(rng, radii)
    margin = max(radii) + 2.0
    centre = float(rng.uniform(margin + JITTER, CANVAS - margin - JITTER))
    cross = [centre + float(rng.uniform(-JITTER, JITTER)) for _ in range(n)] if n > 1 else \
        [float(rng.uniform(margin, CANVAS - margin))]
    objs = []
    for k in range(n):
        x, y = (cross[k], along[k]) if axis == "vertical" else (along[k], cross[k])
        objs.append(Obj(sizes[k], pairs[k][0], pairs[k][1], round(x, 2), round(y, 2)))
    grey = int(rng.integers(15, 70))
    return Scene(tuple(objs), axis, (grey, grey, grey))


def split_sizes(n: int) -> dict[str, int]:
    """Scenes per split for --n N: 5% each for val, test and heldout_combinations, the rest train."""
    held = max(1, round(0.05 * n))
    return {"train": n - 3 * held, "val": held, "test": held, "heldout_combinations": held}


def sample_split(seed: int, split: str, count: int) -> list[Scene]:
    """`count` scenes of a split, from their own stream of the seed (a split does not shift another)."""
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    return [sample_scene(rng, heldout=split == "heldout_combinations") for _ in range(count)]
