"""Fine-tuning (`rnnlab train --init-from RUN`): a new run that starts from RUN's best/ weights.

The model's shape and tokenizer come from RUN (only dropout may change). The vocabulary is RUN's,
in RUN's order, followed by the symbols of the new text that RUN never saw (sorted; for words,
those seen at least --min-count times). Their embedding rows and output-head rows (with one-hot
input: the first layer's input columns) are initialised as a fresh model's weights are, from
--seed; every other weight is RUN's. Optimizer, schedule and counters start fresh.
"""
from __future__ import annotations

from typing import Callable

import torch

from . import checkpoint
from .config import ModelConfig, TrainConfig
from .errors import require
from .models.language_model import LanguageModel
from .text.corpus import Corpus, load_corpus, read_text, resolve_source
from .text.vocab import ByteVocab, CharVocab, WordVocab, build_vocab

MAY_CHANGE = ("dropout",)       # model settings a fine-tuning run may set; vocab_size follows the new text


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_model(base: ModelConfig, given: dict, run: str) -> ModelConfig:
    """RUN's config with the given settings applied; a setting that would change the model is refused."""
    conflicts = [f"{_flag(k)} {v} (it has {getattr(base, k)})" for k, v in given.items()
                 if k not in MAY_CHANGE and k != "vocab_size" and v != getattr(base, k)]
    require(not conflicts, f"--init-from {run} takes the model from that run; cannot change {', '.join(conflicts)}",
            "drop those flags, as only --dropout may change; or train a new model without --init-from")
    return base.replace(**{k: v for k, v in given.items() if k in MAY_CHANGE})


def cli_settings(run: str, model_given: dict, train_given: dict) -> tuple[ModelConfig, dict]:
    """For `rnnlab train --init-from RUN`: the model config, and train settings whose --tokenizer and
    --min-count default to RUN's."""
    base = checkpoint.load_checkpoint(run, "cpu", prefer="best")          # checked as any load is
    saved = base.train_cfg
    train_given = {"tokenizer": saved.tokenizer, "min_count": saved.min_count, **train_given}
    return check_model(base.model.cfg, model_given, run), train_given


def prepare(model_cfg: ModelConfig | None, cfg: TrainConfig) -> tuple[checkpoint.Checkpoint, ModelConfig, TrainConfig]:
    """Load RUN's best/ checkpoint, check the model and tokenizer against it; cfg.init_from becomes its path.
    model_cfg None takes RUN's model; a ModelConfig must equal RUN's except for dropout."""
    run = cfg.init_from
    base = checkpoint.load_checkpoint(run, "cpu", prefer="best")
    saved = base.train_cfg
    require(cfg.tokenizer == saved.tokenizer, f"--init-from {run} was trained with --tokenizer {saved.tokenizer}, "
            f"not {cfg.tokenizer}", f"use --tokenizer {saved.tokenizer} or leave it out")
    given = {} if model_cfg is None else model_cfg.to_dict()
    model_cfg = check_model(base.model.cfg, given, run)
    return base, model_cfg, cfg.replace(init_from=str(base.path.resolve()))


def extend_vocab(vocab, fitted):
    """`vocab` followed by the symbols of `fitted` (a vocabulary of the new text) it lacks, in fitted's order."""
    if isinstance(vocab, ByteVocab):
        return vocab, []
    if isinstance(vocab, CharVocab):
        known = set(vocab.chars)
        added = [c for c in fitted.chars if c not in known]
        return CharVocab(vocab.chars + added), added
    known = set(vocab.words)
    added = [w for w in fitted.words if w not in known]
    return WordVocab(vocab.words + added), added


@torch.no_grad()
def init_model(base: LanguageModel, model_cfg: ModelConfig, vocab_size: int, seed: int) -> LanguageModel:
    """A fresh model for `vocab_size` symbols (seeded like any new run) with RUN's weights copied in.
    Vocabulary-sized dimensions grow at the end, so each RUN tensor fills the leading corner of the new one."""
    torch.manual_seed(seed)
    model = LanguageModel(model_cfg.replace(vocab_size=vocab_size))
    old = base.state_dict()
    for name, new in model.state_dict().items():
        w = old[name]
        new[tuple(slice(0, n) for n in w.shape)] = w.to(new.dtype)
    return model


def _describe(symbols: list, limit: int = 8) -> str:
    shown = " ".join(repr(s) for s in symbols[:limit])
    return shown + (f" and {len(symbols) - limit} more" if len(symbols) > limit else "")


def corpus_and_model(base: checkpoint.Checkpoint, model_cfg: ModelConfig, cfg: TrainConfig,
                     say: Callable[[str], None]) -> tuple[Corpus, LanguageModel]:
    """The new text encoded with RUN's vocabulary extended by its new symbols, and the model that starts there."""
    vocab, added = base.vocab, []
    if not isinstance(vocab, ByteVocab):
        text = read_text(resolve_source(cfg.data), cfg.data)
        vocab, added = extend_vocab(vocab, build_vocab(cfg.tokenizer, text, cfg.min_count))
        del text
    corpus = load_corpus(cfg.data, cfg.tokenizer, cfg.val_frac, cfg.min_count, vocab=vocab)
    model = init_model(base.model, model_cfg, vocab.size, cfg.seed)
    step = base.meta.get("metrics", {}).get("step", "?")
    new = f"{len(added)} new symbol(s) added, initialised fresh: {_describe(added)}" if added else "no new symbols"
    say(f"rnnlab: fine-tuning from {base.path} (step {step}); vocabulary {base.vocab.size} + {new}")
    return corpus, model
