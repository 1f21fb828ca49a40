"""Activations to files: one .npz, or the HDF5 layout LSTMVis (Strobelt et al.) reads.

npz arrays: tokens (T,), offsets (T,), h (L, T, H), c (L, T, H) for LSTMs, gate_<name> (L, T, H),
top_ids / top_probs (T, k), next_logprob (T,), and vocabulary (the token strings).

LSTMVis: states.hdf5 with output<l> (T, H) = h and, for LSTMs, states<l> (T, H) = c of layer l (from 1);
train.hdf5 with word_ids (T,), ids from 1 as in its examples; words.dict ("token id" per line, spaces and
newlines spelled out); lstm.yml naming them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import RnnlabError, require


def token_strings(vocab) -> list[str]:
    """The text of every token id of a vocabulary."""
    if vocab.kind == "char":
        return list(vocab.chars)
    if vocab.kind == "word":
        return list(vocab.words)
    return [bytes([i]).decode("latin-1") for i in range(256)]


def write_npz(path, acts, subject) -> Path:
    path = Path(path)
    require(path.suffix == ".npz", f"--out {path} does not end in .npz", "write e.g. --out acts.npz")
    arrays = {"tokens": acts.tokens, "offsets": subject.offsets, "h": acts.h, "top_ids": acts.top_ids,
              "top_probs": acts.top_probs, "next_logprob": acts.next_logprob,
              "vocabulary": np.array(token_strings(subject.ckpt.vocab))}
    if acts.c is not None:
        arrays["c"] = acts.c
    arrays.update({f"gate_{name}": value for name, value in acts.gates.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    return path


def _spelled(token: str) -> str:
    return {" ": "<space>", "\n": "<newline>", "\t": "<tab>", "\r": "<cr>"}.get(token, token.replace(" ", "_"))


def write_lstmvis(directory, acts, subject) -> Path:
    try:
        import h5py
    except ImportError:
        raise RnnlabError("--format lstmvis needs the h5py package", "pip install h5py, or use --format npz") from None
    out = Path(directory)
    require(not out.exists() or out.is_dir(), f"--out {out} is a file", "give a directory for the LSTMVis files")
    out.mkdir(parents=True, exist_ok=True)
    types = []
    with h5py.File(out / "states.hdf5", "w") as f:
        for layer in range(acts.h.shape[0]):
            f.create_dataset(f"output{layer + 1}", data=acts.h[layer])
            types.append(f"  - {{type: output, layer: {layer + 1}, path: output{layer + 1}}}")
            if acts.c is not None:
                f.create_dataset(f"states{layer + 1}", data=acts.c[layer])
                types.append(f"  - {{type: state, layer: {layer + 1}, path: states{layer + 1}}}")
    with h5py.File(out / "train.hdf5", "w") as f:
        f.create_dataset("word_ids", data=acts.tokens.astype(np.int64) + 1)
    words = token_strings(subject.ckpt.vocab)
    (out / "words.dict").write_text("".join(f"{_spelled(w)} {i + 1}\n" for i, w in enumerate(words)), encoding="utf-8")
    (out / "lstm.yml").write_text(
        f"name: rnnlab {Path(str(subject.ckpt.path)).name}\ndescription: activations of {subject.source}\n"
        "files:\n  states: states.hdf5\n  train: train.hdf5\n  words: words.dict\n"
        "word_sequence:\n  file: train\n  path: word_ids\n  dict_file: words\n"
        "states:\n  file: states\n  types:\n" + "\n".join(types) + "\n", encoding="utf-8")
    return out
