"""Checkpoints: a directory with model.safetensors, config.json and trainer.pt, written atomically.

Writes go to a temporary sibling directory that is fsynced and then renamed into
place, so a crash at any moment leaves either the old or the new checkpoint.
Loading trusts nothing: every problem becomes an RnnlabError naming the fix.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import __version__
from .config import ModelConfig, TrainConfig
from .errors import RnnlabError, require
from .models.language_model import LanguageModel
from .text.vocab import vocab_from_dict

FORMAT_VERSION = 1
WEIGHTS, CONFIG, TRAINER = "model.safetensors", "config.json", "trainer.pt"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(target: Path, write) -> None:
    """Call write(tmp_dir), fsync what it wrote, then swap tmp_dir into `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    old = target.parent / f".{target.name}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write(tmp)
        for f in tmp.iterdir():
            _fsync(f)
        _fsync(tmp)
    except BaseException:                  # disk full, Ctrl-C: the old checkpoint stays; the half-copy goes
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.rename(target, old)
    os.rename(tmp, target)
    _fsync(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(target: Path, model: torch.nn.Module, sections: dict, metrics: dict,
                    trainer_state: dict | None = None) -> None:
    """Write weights, config.json (the task's sections: task, model, vocab, train, data, ...; the metrics)
    and optionally the resume state (trainer.pt)."""
    meta = {"format_version": FORMAT_VERSION, "rnnlab_version": __version__, **sections, "metrics": metrics}
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}

    def write(tmp: Path) -> None:
        save_file(weights, str(tmp / WEIGHTS))
        (tmp / CONFIG).write_text(json.dumps(meta, indent=2) + "\n")
        if trainer_state is not None:
            torch.save(trainer_state, tmp / TRAINER)

    write_atomically(Path(target), write)


def resolve_checkpoint(path: str | Path, prefer: str = "best") -> Path:
    """A checkpoint directory, or a run directory (then its `prefer`/ checkpoint, else the other one)."""
    path = Path(path)
    require(path.exists(), f"no such run or checkpoint: {path}", "give the --out directory of a training run")
    if (path / CONFIG).exists():
        return path
    other = "last" if prefer == "best" else "best"
    for name in (prefer, other):
        for candidate in (path / name, path / f".{name}.old"):  # .old survives a crash mid-swap
            if (candidate / CONFIG).exists():
                return candidate
    raise RnnlabError(f"{path} is not an rnnlab run or checkpoint (no config.json, best/ or last/)",
                      "give the --out directory of a training run")


def saved_step(run_dir: Path, name: str) -> int | None:
    """The step RUN/name/ (or its .old copy of a crash mid-swap) holds, or None if there is none."""
    for candidate in (Path(run_dir) / name, Path(run_dir) / f".{name}.old"):
        try:
            return int(json.loads((candidate / CONFIG).read_text())["metrics"]["step"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def read_meta(ckpt: Path) -> dict:
    try:
        meta = json.loads((ckpt / CONFIG).read_text())
    except (OSError, ValueError) as exc:
        raise RnnlabError(f"{ckpt / CONFIG} is unreadable ({exc.__class__.__name__})",
                          "the checkpoint is damaged; use the run's other checkpoint (best/ or last/)") from None
    require(not (isinstance(meta, dict) and meta.get("format") == "rnnlab-hmm"),
            f"{ckpt} is an HMM run (written by rnnlab hmm train), not a language-model checkpoint",
            f"use rnnlab hmm sample {ckpt}; its validation score is in {ckpt / CONFIG}")
    require(isinstance(meta, dict) and "format_version" in meta,
            f"{ckpt} is not an rnnlab checkpoint (config.json has no format_version)", "give an rnnlab run directory")
    version = meta["format_version"]
    require(version == FORMAT_VERSION, f"{ckpt} has checkpoint format {version}, this rnnlab reads {FORMAT_VERSION}",
            f"use the rnnlab version that wrote it ({meta.get('rnnlab_version', 'unknown')})")
    return meta


def task_of(meta: dict) -> str:
    """The task a checkpoint was trained for ("lm" for runs written before tasks were recorded)."""
    return str(meta.get("task", "lm"))


def task_meta(ckpt: Path, task: str, what: str, sections=("model", "vocab", "train", "data")) -> dict:
    """config.json of a checkpoint of `task` ("a tagger", ... is `what`), refused when it is another task's or
    lacks one of `sections`."""
    meta = read_meta(ckpt)
    found = task_of(meta)
    require(found == task, f"{ckpt} is a {found} run, not {what}", "use that task's own commands on it")
    for key in sections:
        require(isinstance(meta.get(key), dict), f"{Path(ckpt) / CONFIG} is damaged: no {key!r} section",
                "use the run's other checkpoint (best/ or last/)")
    return meta


def read_trainer_state(ckpt: Path, device: torch.device) -> dict:
    """trainer.pt of a checkpoint directory: what resume needs (RnnlabError if missing or damaged)."""
    f = Path(ckpt) / TRAINER
    require(f.exists(), f"{ckpt} has no {TRAINER}, so it cannot be resumed", "resume from the run's last/ checkpoint")
    try:
        return torch.load(f, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises many types for damaged files
        raise RnnlabError(f"{f} is damaged ({exc.__class__.__name__})", "resume from an intact checkpoint") from None


def read_weights(ckpt: Path) -> dict:
    """model.safetensors of a checkpoint directory as a state dict (RnnlabError if missing or damaged)."""
    weights_file = Path(ckpt) / WEIGHTS
    require(weights_file.exists(), f"{ckpt} has no {WEIGHTS}", "the checkpoint is incomplete; use the run's other checkpoint")
    try:
        return load_file(str(weights_file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise RnnlabError(f"{weights_file} is truncated or damaged ({exc})", "use the run's other checkpoint") from None


def load_weights_into(model: torch.nn.Module, ckpt: Path) -> torch.nn.Module:
    """Copy a checkpoint's weights into `model` (strict: every name and shape must match)."""
    weights = read_weights(ckpt)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise RnnlabError(f"{Path(ckpt) / WEIGHTS} does not fit its config.json: {first[-1].strip() if first else exc}",
                          "the checkpoint is damaged or was edited") from None
    return model


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (in eval mode) and everything config.json says."""
    path: Path
    model: LanguageModel
    vocab: object
    train_cfg: TrainConfig
    meta: dict

    def trainer_state(self, device: torch.device) -> dict:
        return read_trainer_state(self.path, device)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu", prefer: str = "best") -> Checkpoint:
    """Load a checkpoint or a run's best/ (or last/) checkpoint onto `device`."""
    ckpt = resolve_checkpoint(path, prefer)
    meta = read_meta(ckpt)
    task = task_of(meta)
    require(task == "lm", f"{ckpt} is a {task} run, not a language model", f"use rnnlab {task} eval or predict on it")
    damaged = "the checkpoint is damaged or was edited; use the run's other checkpoint, best/ or last/"
    for key in ("model", "train", "vocab", "data"):
        require(isinstance(meta.get(key), dict), f"{ckpt / CONFIG} is damaged: its {key!r} entry is "
                f"{'missing' if key not in meta else 'not a mapping'}", damaged)
    require(isinstance(meta["data"].get("fingerprint"), str),             # resume and eval check the text by it
            f"{ckpt / CONFIG} is damaged: its data fingerprint is missing", damaged)
    step = meta.get("metrics", {}).get("step", 0) if isinstance(meta.get("metrics", {}), dict) else None
    require(isinstance(step, int) and not isinstance(step, bool) and step >= 0,
            f"{ckpt / CONFIG} is damaged: its step is {step!r}, not a whole number", damaged)
    try:
        model_cfg = ModelConfig.from_dict(meta["model"])
        train_cfg = TrainConfig.from_dict(meta["train"])
        vocab = vocab_from_dict(meta["vocab"])
    except RnnlabError as exc:
        raise RnnlabError(f"{ckpt / CONFIG}: {exc.message}", exc.hint) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:   # a vocabulary that is not one
        raise RnnlabError(f"{ckpt / CONFIG} is damaged: its vocabulary is unreadable ({exc.__class__.__name__}: "
                          f"{exc})", damaged) from None
    require(model_cfg.vocab_size == vocab.size, f"{ckpt}: model has {model_cfg.vocab_size} outputs but the vocabulary "
            f"{vocab.size} symbols", "the checkpoint is damaged")
    model = load_weights_into(LanguageModel(model_cfg), ckpt)
    model.to(device).eval()
    return Checkpoint(path=ckpt, model=model, vocab=vocab, train_cfg=train_cfg, meta=meta)
