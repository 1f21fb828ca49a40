"""Error analysis against n-gram models (Karpathy, Johnson & Fei-Fei 2015, sec. 4.3 and fig. 4).

The run and interpolated Kneser-Ney n-gram models trained on the run's own training split score the same
predictions: token t from the tokens before it, t = 1..T-1. Reported:
- bits per character of each (the mean of -log2 p);
- the same per class of the predicted character (lower/upper case letter, space, newline, punctuation, digit);
- where the run wins and loses against the highest order: the windows of text with the largest gaps;
- the accuracy of predicting a closing ) ] } or " (the top-1 token is the closer) against the distance to
  its opener, the paper's evidence that the LSTM counts and the n-gram cannot see past its order.
"""
from __future__ import annotations

import math

import numpy as np

from .activations import stream

DISTANCE_BINS = [(1, 5), (6, 10), (11, 20), (21, 40), (41, 80), (81, 160), (161, None)]
CLASSES = ("lowercase", "uppercase", "space", "newline", "punctuation", "digit", "other")
WINDOW = 20
LN2 = math.log(2)


def char_class(ch: str) -> str:
    if ch == "\n":
        return "newline"
    if ch.isspace():
        return "space"
    if ch.isalpha():
        return "lowercase" if ch.islower() else "uppercase" if ch.isupper() else "other"
    if ch.isdigit():
        return "digit"
    return "punctuation" if ch.isprintable() else "other"


def run_predictions(model, tokens: np.ndarray, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """ln p(token t | tokens < t) for t = 1..T-1, and the run's top-1 guess for token t (t = 1..T-1)."""
    logp, top = [], []
    for acts in stream(model, tokens, k=1, with_gates=False):
        logp.append(acts.next_logprob)
        top.append(acts.top_ids[:, 0])
        if progress:
            progress(0.5 * (acts.start + len(acts)) / len(tokens))
    return np.concatenate(logp)[:-1], np.concatenate(top)[:-1]


def closing_pairs(text: str, tokens: np.ndarray, offsets: np.ndarray, vocab) -> list[tuple[int, int, str]]:
    """(token index of a closer, distance in characters to its opener, the closer) for ) ] } and closing "."""
    closer_of = {"(": ")", "[": "]", "{": "}"}
    by_offset = {int(o): t for t, o in enumerate(offsets)}
    stack: list[tuple[str, int]] = []
    quote_open = None
    pairs = []
    for pos, ch in enumerate(text):
        if ch in closer_of:
            stack.append((closer_of[ch], pos))
        elif ch in ")]}":
            if stack and stack[-1][0] == ch:
                _, start = stack.pop()
                pairs.append((pos, pos - start, ch))
            else:
                stack.clear()                                   # unbalanced text: start again
        elif ch == '"':
            if quote_open is None:
                quote_open = pos
            else:
                pairs.append((pos, pos - quote_open, ch))
                quote_open = None
    out = []
    for pos, dist, ch in pairs:
        t = by_offset.get(pos)
        if t is not None and t > 0 and vocab.decode([int(tokens[t])]).strip() == ch:
            out.append((t, dist, ch))
    return out


def _bin_label(lo, hi) -> str:
    return f"{lo}-{hi}" if hi else f"{lo}+"


def _accuracy_by_distance(pairs, correct: np.ndarray) -> dict:
    out = {}
    for lo, hi in DISTANCE_BINS:
        hits = [bool(c) for (t, d, _), c in zip(pairs, correct) if d >= lo and (hi is None or d <= hi)]
        if hits:
            out[_bin_label(lo, hi)] = {"n": len(hits), "accuracy": round(sum(hits) / len(hits), 4)}
    return out


def _windows(gap: np.ndarray, text: str, offsets: np.ndarray, count: int, largest: bool) -> list[dict]:
    """The `count` non-overlapping windows of WINDOW predictions where sum(gap) is largest (or smallest)."""
    if len(gap) < WINDOW:
        return []
    sums = np.convolve(gap, np.ones(WINDOW), mode="valid")          # (T-1-W+1,) bits gained over each window
    order = np.argsort(-sums if largest else sums, kind="stable")
    taken: list[int] = []
    for i in order:
        if all(abs(int(i) - j) >= WINDOW for j in taken):
            taken.append(int(i))
        if len(taken) == count:
            break
    rows = []
    for i in taken:
        start, end = int(offsets[i + 1]), int(offsets[min(i + WINDOW, len(offsets) - 1)]) + 1
        rows.append({"position": start, "text": text[start:end], "bits_gained": round(float(sums[i]), 3)})
    return rows


def analyse(subject, orders: list[int], progress=None) -> dict:
    """Bits per character of the run and of n-grams of the given orders on the subject's text, per class,
    where the run wins and loses, and closing-bracket accuracy against distance."""
    from .. import runs
    from ..ngram.model import KneserNey
    ckpt, tokens, text, offsets = subject.ckpt, subject.tokens, subject.text, subject.offsets
    run_logp, run_top = run_predictions(ckpt.model, tokens, progress)           # (T-1,)
    train = runs._training_corpus(ckpt, ckpt.train_cfg.data, "the n-gram models are trained on the run's "
                                  "training text: keep it where the run found it").train
    V = ckpt.model.cfg.vocab_size
    targets = tokens[1:]
    pairs = closing_pairs(text, tokens, offsets, ckpt.vocab)
    ngram_logp, ngram_correct = {}, {}
    for i, order in enumerate(orders):
        model = KneserNey.fit(train, V, order)
        ngram_logp[order] = model.logprob(tokens)[1:]                           # same predictions as the run
        ngram_correct[order] = [int(np.argmax(model.distribution(tokens[max(0, t - order + 1):t]))) == tokens[t]
                                for t, _, _ in pairs]
        if progress:
            progress(0.5 + 0.5 * (i + 1) / len(orders))
    classes = np.array([char_class(text[o]) for o in offsets[1:]])
    by_class = {}
    for name in CLASSES:
        mask = classes == name
        if mask.any():
            by_class[name] = {"n": int(mask.sum()), "run": _bits(run_logp[mask]),
                              **{str(o): _bits(lp[mask]) for o, lp in ngram_logp.items()}}
    best = max(orders)
    gap = (run_logp - ngram_logp[best]) / LN2                                   # bits the run saves per prediction
    run_correct = [run_top[t - 1] == tokens[t] for t, _, _ in pairs]
    return {
        "text": subject.source, "predictions": int(len(targets)), "unit": ckpt.vocab.kind,
        "run_bits_per_char": _bits(run_logp),
        "ngram_bits_per_char": {str(o): _bits(lp) for o, lp in ngram_logp.items()},
        "run_better_fraction": {str(o): round(float((run_logp > lp).mean()), 4) for o, lp in ngram_logp.items()},
        "by_class": by_class,
        "compared_order": best,
        "wins": _windows(gap, text, offsets, 5, largest=True),
        "losses": _windows(gap, text, offsets, 5, largest=False),
        "closing": {"n": len(pairs), "run": _accuracy_by_distance(pairs, run_correct),
                    **{str(o): _accuracy_by_distance(pairs, c) for o, c in ngram_correct.items()}},
    }


def _bits(logp: np.ndarray) -> float:
    return round(float(-logp.mean() / LN2), 4) if len(logp) else float("nan")


def print_summary(result: dict) -> None:
    unit = "char" if result["unit"] == "char" else result["unit"]
    print(f"{result['predictions']:,} predictions of {result['text']}")
    print(f"  run        {result['run_bits_per_char']:.3f} bits/{unit}")
    for order, bits in result["ngram_bits_per_char"].items():
        better = result["run_better_fraction"][order]
        print(f"  {order:>2s}-gram    {bits:.3f} bits/{unit}   (the run is better at {better:.0%} of positions)")
    print("per class (bits/char): " + ", ".join(f"{c} run {v['run']:.2f} vs {v[str(result['compared_order'])]:.2f}"
                                                 for c, v in result["by_class"].items()))
    for label, rows in (("run wins most", result["wins"]), ("run loses most", result["losses"])):
        print(f"{label} against the {result['compared_order']}-gram:")
        for row in rows:
            print(f"  {row['bits_gained']:+8.2f} bits  {row['text']!r}")
    closing = result["closing"]
    if closing["n"]:
        print(f"closing bracket/quote accuracy by distance to the opener ({closing['n']} closers):")
        for label, cell in closing["run"].items():
            ngrams = ", ".join(f"{o}-gram {closing[o][label]['accuracy']:.0%}" for o in result["ngram_bits_per_char"]
                               if label in closing[o])
            print(f"  {label:>7s} chars (n={cell['n']}): run {cell['accuracy']:.0%}, {ngrams}")


def plot(result: dict, path) -> None:
    """Two panels: bits per character per class (run vs n-grams), closing accuracy against distance."""
    from ..reports import pyplot, save_figure
    fig, (left, right) = pyplot().subplots(1, 2, figsize=(11, 4))
    classes = list(result["by_class"])
    series = ["run"] + list(result["ngram_bits_per_char"])
    width = 0.8 / len(series)
    for i, name in enumerate(series):
        values = [result["by_class"][c][name] for c in classes]
        label = "run" if name == "run" else f"{name}-gram"
        left.bar(np.arange(len(classes)) + i * width, values, width, label=label)
    left.set_xticks(np.arange(len(classes)) + 0.4 - width / 2, classes, rotation=30)
    left.set(ylabel="bits per character", title="where the errors are")
    left.legend(fontsize=8)
    closing = result["closing"]
    labels = [_bin_label(lo, hi) for lo, hi in DISTANCE_BINS if _bin_label(lo, hi) in closing["run"]]
    for name in series if labels else []:
        acc = [closing[name][b]["accuracy"] if b in closing[name] else np.nan for b in labels]
        right.plot(labels, acc, marker="o", label="run" if name == "run" else f"{name}-gram")
    if not labels:
        right.text(0.5, 0.5, "no closing ) ] } or \" in this text", ha="center", va="center",
                   transform=right.transAxes)
    right.set(xlabel="distance to the opener (characters)", ylabel="top-1 accuracy at the closer",
              title="closing ) ] } \" against distance", ylim=(0, 1))
    if labels:
        right.legend(fontsize=8)
    save_figure(fig, path)
