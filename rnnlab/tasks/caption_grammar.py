"""The captions of a scene, and the parser that reads a caption back into attributes.

Every scene has a finite set of valid captions: each object as a noun phrase "a SIZE COLOUR SHAPE"
(SIZE small | little, large | big), the relation phrased both ways round:

    one object      NP  |  there is NP  |  NP on its own
    two objects     A left of B | A to the left of B | B right of A | B to the right of A
                    A above B | A on top of B | B below A | B under A            (A first along the axis)
    three objects   A , B and C from left to right | C , B and A from right to left
                    (from top to bottom | from bottom to top)

Exact match: a generated caption counts when it is one of its scene's valid captions.

Attribute accuracy (the rule): the caption is parsed into its noun phrases and its relation, and the
phrases are put in the canonical order (left to right, top to bottom) that the relation implies. Each
scene has 3 slots per object (size, colour, shape) plus 1 relation slot (the axis) when it has two or more
objects. Object slot i is right when the i-th parsed phrase names that attribute of the scene's i-th object;
phrases missing or extra count as wrong slots (the denominator is 3 x max(objects, phrases) + the relation
slot), and an unreadable relation gets the phrases in the order written and the relation slot wrong.
The figure is the sum of right slots over the sum of slots of a split.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from .caption_scenes import COLOURS, SHAPES, Obj, Scene

SIZE_WORDS = {"small": ("small", "little"), "large": ("large", "big")}
WORD_SIZE = {w: s for s, words in SIZE_WORDS.items() for w in words}
ONE = ("{a}", "there is {a}", "{a} on its own")
TWO = {"horizontal": ((False, "left of"), (False, "to the left of"), (True, "right of"), (True, "to the right of")),
       "vertical": ((False, "above"), (False, "on top of"), (True, "below"), (True, "under"))}
THREE = {"horizontal": ("from left to right", "from right to left"),
         "vertical": ("from top to bottom", "from bottom to top")}
RELATIONS = {phrase: (axis, swapped) for axis, forms in TWO.items() for swapped, phrase in forms}
ORDERS = {phrase: (axis, k == 1) for axis, forms in THREE.items() for k, phrase in enumerate(forms)}
_NP = re.compile(rf"\ba (?:({'|'.join(WORD_SIZE)}) )?(?:({'|'.join(COLOURS)}) )?({'|'.join(SHAPES)})\b")


def noun_phrases(obj: Obj) -> list[str]:
    return [f"a {w} {obj.colour} {obj.shape}" for w in SIZE_WORDS[obj.size]]


def captions(scene: Scene) -> list[str]:
    """Every valid caption of the scene, in a fixed order."""
    objs = scene.objects
    nps = [noun_phrases(o) for o in objs]
    out = []
    if len(objs) == 1:
        out = [t.format(a=a) for t in ONE for a in nps[0]]
    elif len(objs) == 2:
        for swapped, phrase in TWO[scene.axis]:
            for a, b in itertools.product(*nps):
                out.append(f"{b} {phrase} {a}" if swapped else f"{a} {phrase} {b}")
    else:
        forward, backward = THREE[scene.axis]
        for a, b, c in itertools.product(*nps):
            out += [f"{a} , {b} and {c} {forward}", f"{c} , {b} and {a} {backward}"]
    return out


@dataclass
class Parsed:
    objects: list[tuple]                     # (size, colour, shape), canonical order when the relation was read
    axis: str | None                         # None: one phrase, or no relation could be read
    well_formed: bool                        # the caption is exactly phrases joined by a known relation


def parse(caption: str) -> Parsed:
    """The noun phrases and relation of a caption (any text: what is not understood is left out)."""
    p = _parse(caption)
    p.well_formed = p.well_formed and all(None not in o for o in p.objects)
    return p


def _parse(caption: str) -> Parsed:
    text = " ".join(caption.split())
    found = list(_NP.finditer(text))
    objs = [(WORD_SIZE.get(m[1]), m[2], m[3]) for m in found]         # None: not said
    gaps = [text[a.end():b.start()].strip() for a, b in zip(found, found[1:])]
    head = text[:found[0].start()].strip() if found else text
    tail = text[found[-1].end():].strip() if found else ""
    if len(objs) == 1:
        return Parsed(objs, None, head in ("", "there is") and tail in ("", "on its own") and not (head and tail))
    if len(objs) == 2 and gaps[0] in RELATIONS:
        axis, swapped = RELATIONS[gaps[0]]
        return Parsed(objs[::-1] if swapped else objs, axis, head == "" and tail == "")
    if len(objs) == 3 and tail in ORDERS:
        axis, backward = ORDERS[tail]
        return Parsed(objs[::-1] if backward else objs, axis, head == "" and gaps == [",", "and"])
    return Parsed(objs, None, False)


def attribute_slots(scene: Scene, caption: str) -> tuple[int, int]:
    """(right slots, slots) of one caption under the rule in the module docstring."""
    p = parse(caption)
    truth = [o.attributes for o in scene.objects]
    total = 3 * max(len(truth), len(p.objects)) + (1 if len(truth) > 1 else 0)
    right = sum(a == b for t, g in zip(truth, p.objects) for a, b in zip(t, g))
    if len(truth) > 1 and p.axis == scene.axis:
        right += 1
    return right, total


def pair_hits(scene: Scene, caption: str, pairs) -> tuple[int, int]:
    """(objects of the given (colour, shape) pairs named with that colour and shape at their place, such objects)."""
    p = parse(caption)
    want = [(i, o) for i, o in enumerate(scene.objects) if (o.colour, o.shape) in pairs]
    hits = sum(i < len(p.objects) and p.objects[i][1:] == (o.colour, o.shape) for i, o in want)
    return hits, len(want)
