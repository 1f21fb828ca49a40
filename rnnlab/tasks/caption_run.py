"""The captioning API: train a captioner into a run directory, resume it, load it, score it, describe images.

    train(CaptionConfig(data="shapes", out="runs/cap"))  -> CaptionResult (val, test and held-out scores of best/)
    resume("runs/cap", {"max_minutes": 30})
    c = load("runs/cap");  evaluate(c);  describe(c, "image.png", beam=3)
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import checkpoint, taskrun
from ..device import resolve_device, resolve_dtype
from ..errors import require
from ..models.caption_decoder import Captioner, CaptionerConfig
from .caption import CaptionEvaluation, CaptionTask, evaluate_split
from .caption_config import CaptionConfig
from .caption_data import Split, Vocab, fingerprint, load_data
from .caption_decode import Caption, describe_images
from .caption_images import load_image

Say = Callable[[str], None]
FINAL = ("test", "heldout_combinations")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass
class CaptionResult:
    run: taskrun.TaskResult
    scores: dict | None             # eval_scores of best/ (None: no checkpoint was written)


def _devices(cfg: CaptionConfig, say: Say):
    device = resolve_device(cfg.device)
    return device, resolve_dtype(cfg.dtype, device, say)


def eval_scores(model: Captioner, vocab: Vocab, splits: dict[str, Split], device, beam: int, max_len: int,
                dtype=torch.float32) -> dict:
    """{"bleu4", "exact_match", "attribute_accuracy", "n", "split": "test", "beam", "loss",
    "heldout_combinations": {...}, "gap": seen minus unseen} of the test and held-out splits."""
    out = {}
    for name in FINAL:
        ev, _ = evaluate_split(model, splits[name], vocab, device, dtype, beam, max_len)
        out[name] = {**ev.metrics, "n": ev.n, "loss": ev.loss}
    seen, unseen = out["test"], out["heldout_combinations"]
    gap = {k: seen[k] - unseen[k] for k in ("exact_match", "attribute_accuracy", "bleu4")}
    return {**seen, "split": "test", "beam": beam, "heldout_combinations": unseen, "gap": gap}


def _finish(task: CaptionTask, result: taskrun.TaskResult, device, dtype) -> CaptionResult:
    best = Path(result.run_dir) / "best"
    if not (best / checkpoint.CONFIG).exists():
        return CaptionResult(result, None)
    checkpoint.load_weights_into(task.model, best)
    splits = load_data(task.cfg.data, FINAL)
    return CaptionResult(result, eval_scores(task.model.to(device), task.vocab, splits, device, task.cfg.beam,
                                             task.cfg.max_len, dtype))


def _data_info(cfg: CaptionConfig) -> dict:
    return {"source": str(Path(cfg.data).resolve()), "fingerprint": fingerprint(cfg.data)}


def train(cfg: CaptionConfig, progress: bool = True, say: Say = _stderr) -> CaptionResult:
    """A new run: the vocabulary of the training captions, the model, the Trainer; best/ scored at the end."""
    splits = load_data(cfg.data, ("train", "val"))
    vocab = Vocab.fit(splits["train"].captions)
    device, dtype = _devices(cfg, say)
    torch.manual_seed(cfg.seed)
    task = CaptionTask(cfg, vocab, splits["train"], splits["val"])
    say(f"rnnlab caption: {len(splits['train']):,} training images, {len(splits['val']):,} validation; "
        f"{vocab.size} words; {sum(p.numel() for p in task.model.parameters()):,} parameters "
        f"(validation exact match selects best/)")
    with taskrun.new_run(cfg.out, say) as run_dir:
        result = taskrun.fit_task(task, cfg, run_dir, _data_info(cfg), device=device, dtype=dtype, progress=progress)
    return _finish(task, result, device, dtype)


def resume(run: str | Path, overrides: dict | None = None, progress: bool = True, say: Say = _stderr) -> CaptionResult:
    """Continue a captioning run from last/ exactly; only settings marked resumable may change."""
    overrides = taskrun.resume_overrides(run, overrides, CaptionConfig)
    with taskrun.existing_run(run, say) as run_dir:
        ckpt = checkpoint.resolve_checkpoint(run_dir, "last")
        meta = checkpoint.read_meta(ckpt)
        require(checkpoint.task_of(meta) == "caption", f"{run_dir} is a {checkpoint.task_of(meta)} run, not a "
                "captioning run", "resume it with its own command")
        cfg, step = taskrun.resumed_config(meta, CaptionConfig, overrides, run_dir)
        require(fingerprint(cfg.data) == meta["data"].get("fingerprint"), f"{cfg.data} is not the data {run_dir} "
                "was trained on (its captions.jsonl's sha256 differs)", "resume with the original data directory")
        splits = load_data(cfg.data, ("train", "val"))
        vocab = Vocab.from_dict(meta["vocab"])
        device, dtype = _devices(cfg, say)
        model = Captioner(CaptionerConfig.from_dict(meta["model"]))
        checkpoint.load_weights_into(model, ckpt)
        task = CaptionTask(cfg, vocab, splits["train"], splits["val"], model)
        say(f"rnnlab caption: resuming {run_dir} at step {step}")
        result = taskrun.fit_task(task, cfg, run_dir, _data_info(cfg), device=device, dtype=dtype, progress=progress,
                                  resume_state=checkpoint.read_trainer_state(ckpt, device))
    return _finish(task, result, device, dtype)


@dataclass
class LoadedCaptioner:
    path: Path
    model: Captioner
    vocab: Vocab
    cfg: CaptionConfig
    meta: dict
    device: torch.device


def load(run: str | Path, device: str = "auto", which: str = "best") -> LoadedCaptioner:
    """A run's (or checkpoint directory's) captioner in eval mode."""
    ckpt = checkpoint.resolve_checkpoint(run, which)
    meta = checkpoint.task_meta(ckpt, "caption", "a captioning run")
    dev = resolve_device(device)
    model = Captioner(CaptionerConfig.from_dict(meta["model"]))
    checkpoint.load_weights_into(model, ckpt)
    return LoadedCaptioner(ckpt, model.to(dev).eval(), Vocab.from_dict(meta["vocab"]),
                           CaptionConfig.from_dict(meta["train"]), meta, dev)


def evaluate(c: LoadedCaptioner, data: str | None = None, beam: int | None = None) -> dict:
    """eval_scores of `data` (a make-data directory), else the run's own data directory."""
    root = data or c.cfg.data
    return eval_scores(c.model, c.vocab, load_data(root, FINAL), c.device, beam or c.cfg.beam, c.cfg.max_len)


def describe(c: LoadedCaptioner, image: str | Path | np.ndarray, beam: int = 3, notes: list | None = None) -> Caption:
    """A caption (with its attention over the grid, word by word) for an image file or a uint8 (H, W, 3) array."""
    require(0 < beam <= 100, f"--beam must be in 1..100, got {beam}", "pass e.g. --beam 3")
    size = c.model.cfg.encoder.image_size
    pixels = load_image(image, size, notes) if not isinstance(image, np.ndarray) else image
    return describe_images(c.model, pixels[None], c.vocab, c.device, beam, c.cfg.max_len)[0]


__all__ = ["train", "resume", "load", "evaluate", "describe", "CaptionConfig", "CaptionResult", "LoadedCaptioner"]
