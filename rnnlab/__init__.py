"""rnnlab: recurrent sequence models (RNN, LSTM, GRU) for text: train, sample, evaluate, look inside.

The public names below are imported on first use (PEP 562), so `import rnnlab` and `rnnlab --help`
do not load torch.
"""
from __future__ import annotations

from .lazy import lazy_exports
import sys
import types

__version__ = "0.1.0"

_EXPORTS = {  # public name -> the module that defines it
    "ModelConfig": "config", "TrainConfig": "config", "SampleConfig": "config",
    "RnnlabError": "errors",
    "Score": "evaluation", "evaluate": "evaluation",
    "generate": "generate",
    "LanguageModel": "models.language_model",
    "train": "runs", "resume": "runs", "load_run": "runs", "sample": "runs", "sample_text": "runs", "sample_batch": "runs",
    "evaluate_run": "runs",
    "load_corpus": "text.corpus",
    "CharVocab": "text.vocab", "ByteVocab": "text.vocab", "WordVocab": "text.vocab",
}

__all__ = [*_EXPORTS, "__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


class _Package(types.ModuleType):
    """Keeps `rnnlab.generate` the function: importing the submodule of that name would bind the module here."""

    def __setattr__(self, name, value):
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
