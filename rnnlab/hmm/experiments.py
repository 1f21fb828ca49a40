"""The lectures' HMM experiments: vowels and consonants from letters, and EM's dependence on its start."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import require
from ..reports import pyplot, save_figure
from .alphabet import LETTERS, letters_only
from .model import DiscreteHMM


SPEAKER_LABEL = re.compile(r"(?m)^[A-Z][A-Za-z '-]*:\n")   # "ROMEO:" alone on a line, in plays


def letters(text: str, chars: int = 20000, iters: int = 1000, seed: int = 0, restarts: int = 4,
            keep_labels: bool = False) -> dict:
    """2-state HMM on the first `chars` letters, EM run for all `iters` steps from `restarts` near-uniform
    starts; the curves are those of the start that ends with the highest likelihood."""
    if not keep_labels:
        text = SPEAKER_LABEL.sub("", text)
    X = letters_only(text)[:chars]
    n_letters = int((X < 26).sum())
    require(n_letters >= 2, f"the text has {n_letters or 'no'} letter{'s' * (n_letters != 1)} a-z to fit"
            f"{' (speaker labels dropped)' if not keep_labels else ''}",
            "give an English text, e.g. --data tiny_shakespeare")
    runs = [_letters_run(X, iters, seed + r) for r in range(restarts)]
    best = max(runs, key=lambda r: r["final_loglik"])
    best["restarts"] = [{k: r[k] for k in ("seed", "final_loglik", "transition_iteration", "groups")} for r in runs]
    return best


def _letters_run(X: np.ndarray, iters: int, seed: int) -> dict:
    counts = np.bincount(X, minlength=27)
    curves = []

    def record(it, loglik, model):
        curves.append((model.emission_counts_[0] / np.maximum(counts, 1)).tolist())   # mean P(state 0 | letter)

    hmm = DiscreteHMM(2, 27, n_iter=iters, tol=-np.inf, init="uniform", seed=seed)
    hmm.fit(X, callback=record)
    present = np.flatnonzero(counts[:26])                               # letters absent from the text stay at 0
    spread = np.array([np.ptp(np.asarray(c)[present]) for c in curves])
    transition = int(np.argmax(spread > 0.5)) + 1 if (spread > 0.5).any() else None
    final = np.array(curves[-1])
    first = [LETTERS[i] for i in range(27) if counts[i] and final[i] > 0.5]
    second = [LETTERS[i] for i in range(27) if counts[i] and final[i] <= 0.5]
    groups = sorted([first, second], key=lambda g: "e" not in g)   # the vowel group first
    return {"loglik": hmm.history_, "final_loglik": hmm.score(X), "transition_iteration": transition,
            "groups": groups, "posterior_state0": {LETTERS[i]: [c[i] for c in curves] for i in range(27)},
            "n_chars": int(len(X)), "seed": seed}


def plot_letters(result: dict, out_dir: Path) -> None:
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [1, 1.15]})
    a1.plot(range(1, len(result["loglik"]) + 1), result["loglik"])
    a1.set_xlabel("EM iteration")
    a1.set_ylabel("training log-likelihood (nats)")
    a1.set_title("Baum-Welch on letters: plateau, then the split")
    vowels = set(result["groups"][0])
    finals = {}
    for letter, curve in result["posterior_state0"].items():
        a2.plot(range(1, len(curve) + 1), curve, color="C3" if letter in vowels else "C0", lw=0.8)
        finals[letter] = curve[-1]
    _label_curve_ends(a2, finals, vowels, x=len(next(iter(result["posterior_state0"].values()))))
    a2.set_xlabel("EM iteration")
    a2.set_ylabel("P(state 0 | letter)")
    a2.set_title("posterior of each letter (labels: letters ending at that value)")
    a2.plot([], [], color="C3", label="the group with 'e'")
    a2.plot([], [], color="C0", label="the other group")
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
        if result["transition_iteration"]:
            ax.axvline(result["transition_iteration"], color="k", ls=":", lw=1,
                       label=f"phase transition (iteration {result['transition_iteration']})")
    if result["transition_iteration"]:
        a1.legend(loc="lower right", fontsize=8)
    a2.legend(loc="upper left", fontsize=8)
    save_figure(fig, out_dir / "letters.png")


def _label_curve_ends(ax, finals: dict, red: set, x: float, per_line: int = 9) -> None:
    """Letters written right of the curves' ends: letters ending at about the same value (and colour) share one
    label, and labels are pushed apart vertically so that none overlap; a thin line joins each to its value."""
    groups: list[tuple[list[str], float]] = []
    for letter, y in sorted(finals.items(), key=lambda kv: (kv[0] in red, kv[1])):
        if groups and (groups[-1][0][0] in red) == (letter in red) and y - groups[-1][1] < 0.02:
            groups[-1][0].append(letter)
        else:
            groups.append(([letter], y))
    groups.sort(key=lambda g: g[1])
    lines = [max(1, -(-len(g[0]) // per_line)) for g in groups]
    step = 0.045                                                       # one text line, in axis units
    ys = [g[1] for g in groups]
    for i in range(1, len(ys)):                                        # push up what overlaps its neighbour below
        ys[i] = max(ys[i], ys[i - 1] + step * (lines[i - 1] + lines[i]) / 2)
    top = 1.05 - step * (lines[-1] - 1) / 2
    for i in reversed(range(len(ys))):                                 # then down from the top if it overflows
        ys[i] = min(ys[i], top)
        top = ys[i] - step * (lines[i] + lines[i - 1]) / 2 if i else top
    for (letters, y), y_text in zip(groups, ys):
        shown = "".join(c if c != " " else "␣" for c in letters)
        text = "\n".join(shown[k:k + per_line] for k in range(0, len(shown), per_line))
        ax.annotate(text, (x, y), xytext=(1.03, y_text), textcoords=("axes fraction", "data"), va="center",
                    fontsize=8, family="monospace", color="C3" if letters[0] in red else "C0",
                    arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.6", "shrinkA": 0, "shrinkB": 0})


# the two-parameter model of the landscape: fixed start and transitions, emissions P(1 | state) = alpha, beta
LANDSCAPE_TRANS = np.array([[0.95, 0.05], [0.2, 0.8]])
LANDSCAPE_START = np.array([0.8, 0.2])


def landscape(grid: int = 41, n_bits: int = 2000, iters: int = 200, true=(0.1, 0.7), seed: int = 0) -> dict:
    """Final training log-likelihood of EM over (alpha, beta) started from every point of a grid."""
    truth = DiscreteHMM(2, 2, seed=seed)
    truth.startprob, truth.transmat = LANDSCAPE_START, LANDSCAPE_TRANS
    truth.emissionprob = np.array([[1 - true[0], true[0]], [1 - true[1], true[1]]])
    X, _ = truth.sample(n_bits, seed=seed)
    values = np.linspace(0.01, 0.99, grid)
    final = np.empty((grid, grid))
    ends = np.empty((grid, grid, 2))
    for i, a0 in enumerate(values):
        for j, b0 in enumerate(values):
            hmm = DiscreteHMM(2, 2, n_iter=iters, tol=1e-9, init="keep", params="e")
            hmm.startprob, hmm.transmat = LANDSCAPE_START, LANDSCAPE_TRANS
            hmm.emissionprob = np.array([[1 - a0, a0], [1 - b0, b0]])
            hmm.fit(X)
            final[i, j] = hmm.score(X)
            ends[i, j] = hmm.emissionprob[:, 1]
    return {"alpha0": values.tolist(), "beta0": values.tolist(), "final_loglik": final.tolist(),
            "end_alpha_beta": ends.tolist(), "true": list(true), "true_loglik": truth.score(X),
            "distinct_optima": int(len(np.unique(np.round(final, 2))))}


def plot_landscape(result: dict, out_dir: Path) -> None:
    plt = pyplot()
    v = result["alpha0"]
    half = (v[1] - v[0]) / 2                                # cells centred on the grid's starting points
    fig, ax = plt.subplots(figsize=(6, 5.6))
    im = ax.imshow(np.array(result["final_loglik"]).T, origin="lower", cmap="viridis", aspect="equal",
                   extent=(v[0] - half, v[-1] + half, v[0] - half, v[-1] + half))
    ax.plot(*result["true"], "r*", ms=12, ls="none", label="the parameters that generated the data")
    ax.set_xlabel("alpha0 = initial P(1 | state 0)")
    ax.set_ylabel("beta0 = initial P(1 | state 1)")
    ax.set_title(f"EM's final log-likelihood depends on where it starts\n({len(v)} x {len(v)} starting points)")
    fig.colorbar(im, ax=ax, shrink=0.8, label="final training log-likelihood (higher is better)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8, frameon=False)   # below: hides no cell
    save_figure(fig, out_dir / "landscape.png")

