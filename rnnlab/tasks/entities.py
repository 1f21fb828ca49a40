"""Entity-level scores of tag sequences, the CoNLL definition, and plain per-token scores.

A tag set is *chunked* when every tag is `O` or has a B-/I-/E-/S- prefix (L- and U- read as E- and S-,
the BILOU spelling): IOB1, IOB2 (BIO) and BIOES all read with one set of rules, conlleval's (and
seqeval's default mode), applied left to right with a virtual `O` before and after each sentence:

- an entity STARTS at B-X or S-X; at I-X or E-X after O, after E-/S- (a finished entity), or after a
  tag of another type. So a stray I-X (after O or after I-Y) is repaired into a new entity.
- an entity ENDS before O, B-, S-, before any tag of another type, and after E-X or S-X.

An entity is (type, first token, last token); a predicted entity counts only when its span and its
type both equal a gold entity's. Precision, recall and F1 are micro-averaged over entities;
per_type gives them for each type. Token accuracy is always reported.

A tag set without those prefixes (part-of-speech tags, chunk labels given per token) is *plain*:
accuracy, and per tag the per-token precision/recall/F1; "precision", "recall" and "f1" are then the
macro averages over the tags seen in the gold data or the predictions.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

PREFIXES = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"}


def split_tag(tag: str) -> tuple[str, str]:
    """'B-person' -> ('B', 'person'); 'O' -> ('O', '')."""
    if tag == "O" or len(tag) < 3 or tag[1] not in "-_" or tag[0] not in PREFIXES:
        return "O", ""
    return PREFIXES[tag[0]], tag[2:]


def is_chunked(tags: Iterable[str]) -> bool:
    """True when every tag is O or prefixed (B-/I-/E-/S-/L-/U-) and at least one is prefixed."""
    tags = set(tags)
    prefixed = {t for t in tags if t != "O" and split_tag(t)[0] != "O"}
    return bool(prefixed) and tags <= prefixed | {"O"}


def entities(tags: list[str]) -> list[tuple[str, int, int]]:
    """(type, start, end) of each entity, end inclusive, by the rules in the module docstring."""
    found, start, prev, prev_type = [], None, "O", ""
    for i, tag in enumerate(list(tags) + ["O"]):
        kind, typ = split_tag(tag)
        ends = prev in ("E", "S") or (prev in ("B", "I") and kind in ("B", "S", "O")) or \
            (prev != "O" and typ != prev_type)
        if start is not None and ends:
            found.append((prev_type, start, i - 1))
            start = None
        begins = kind in ("B", "S") or (kind in ("I", "E") and (prev in ("O", "E", "S") or typ != prev_type))
        if begins:
            start = i
        prev, prev_type = kind, typ
    return found


def _prf(correct: int, predicted: int, gold: int) -> dict:
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "support": gold, "predicted": predicted}


def score(gold: list[list[str]], pred: list[list[str]], chunked: bool | None = None) -> dict:
    """{"accuracy", "precision", "recall", "f1", "per_type", "n_sentences", "n_tokens", "scheme"} of parallel
    gold and predicted tag sequences; `chunked` defaults to is_chunked(the gold tags)."""
    assert len(gold) == len(pred) and all(len(g) == len(p) for g, p in zip(gold, pred)), "unaligned tags"
    n_tokens = sum(map(len, gold))
    right = sum(a == b for g, p in zip(gold, pred) for a, b in zip(g, p))
    if chunked is None:
        chunked = is_chunked(t for s in gold for t in s)
    out = {"accuracy": right / n_tokens if n_tokens else 0.0, "n_sentences": len(gold), "n_tokens": n_tokens,
           "scheme": "entities" if chunked else "plain"}
    if chunked:
        correct, n_pred, n_gold = Counter(), Counter(), Counter()
        for g, p in zip(gold, pred):
            ge, pe = set(entities(g)), set(entities(p))
            n_gold.update(e[0] for e in ge)
            n_pred.update(e[0] for e in pe)
            correct.update(e[0] for e in ge & pe)
        total = _prf(sum(correct.values()), sum(n_pred.values()), sum(n_gold.values()))
        per = {t: _prf(correct[t], n_pred[t], n_gold[t]) for t in sorted(n_gold | n_pred)}
        out.update(precision=total["precision"], recall=total["recall"], f1=total["f1"])
    else:
        correct, n_pred, n_gold = Counter(), Counter(), Counter()
        for g, p in zip(gold, pred):
            n_gold.update(g)
            n_pred.update(p)
            correct.update(a for a, b in zip(g, p) if a == b)
        per = {t: _prf(correct[t], n_pred[t], n_gold[t]) for t in sorted(n_gold | n_pred)}
        for k in ("precision", "recall", "f1"):
            out[k] = sum(v[k] for v in per.values()) / len(per) if per else 0.0
    out["per_type"] = per
    return out
