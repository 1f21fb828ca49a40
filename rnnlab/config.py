"""Configuration dataclasses. The CLI builds these from flags; nothing reads module globals."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Optional

from .errors import require, require_positive

MODEL_KINDS = ("lstm", "gru", "rnn")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "adagrad", "sgd")
TOKENIZERS = ("char", "byte", "word")
LR_SCHEDULES = ("cosine", "constant")


class _Dict:
    """to_dict/from_dict for flat dataclasses; unknown keys are refused, missing keys take defaults."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        require(not unknown, f"{cls.__name__} has no field(s) {sorted(unknown)}",
                "the checkpoint was written by another rnnlab version")
        return cls(**d)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclass
class ModelConfig(_Dict):
    """Shape of a recurrent language model: embed -> `layers` x `model` cells -> linear head."""
    model: str = "lstm"          # lstm | gru | rnn
    vocab_size: int = 0          # set from the vocabulary
    embed: int = 256             # 0 = one-hot input, as in the lectures
    hidden: int = 512
    layers: int = 2
    dropout: float = 0.2         # on the embedding, between layers, before the head
    forget_bias: float = 0.0     # LSTM forget-gate bias at initialisation (1 = Jozefowicz et al.; see README)
    init: str = "default"        # default (PyTorch's uniform) | esn (sparse W_hh at a set spectral radius)
    spectral_radius: float = 1.1  # --init esn: spectral radius of each recurrent matrix

    def __post_init__(self):
        require(self.model in MODEL_KINDS, f"unknown model {self.model!r}", "use --model lstm, gru or rnn")
        require_positive("--hidden", self.hidden)
        require_positive("--layers", self.layers)
        require_positive("--embed", self.embed, allow_zero=True)
        require(self.init in ("default", "esn"), f"unknown init {self.init!r}", "use --init default or esn")
        require_positive("--spectral-radius", self.spectral_radius)
        require(math.isfinite(self.forget_bias), f"--forget-bias must be finite, got {self.forget_bias}",
                "pass e.g. --forget-bias 1")
        require(0.0 <= self.dropout < 1.0, f"--dropout must be in [0, 1), got {self.dropout}", "pass e.g. --dropout 0.2")


@dataclass
class TrainConfig(_Dict):
    """Everything that decides a training run; saved in config.json so a run can be resumed or reproduced."""
    data: str = "tiny_shakespeare"
    tokenizer: str = "char"
    min_count: int = 1           # word tokenizer: rarer words become <unk>
    val_frac: float = 0.1
    seq_len: int = 100           # TBPTT chunk length
    batch_size: int = 128        # parallel streams
    optimizer: str = "adam"
    lr: float = 3e-3
    momentum: float = 0.9        # sgd and rmsprop
    weight_decay: float = 0.0
    grad_clip: float = 5.0       # global-norm clipping; 0 disables
    clip_value: float = 0.0      # element-wise clipping to +-clip_value (min-char-rnn uses 5); 0 disables
    lr_schedule: str = "cosine"
    warmup_steps: int = 50
    lr_decay_steps: Optional[int] = None  # cosine horizon; None = max(max_steps, default budget)
    min_lr_frac: float = 0.0
    plateau_patience: int = 0    # evaluations without improvement before the LR is cut; 0 disables
    plateau_factor: float = 0.5
    early_stop_patience: int = 0  # evaluations without improvement before stopping; 0 disables
    max_steps: Optional[int] = 1100
    max_minutes: Optional[float] = 10.0
    eval_every: int = 250
    log_every: int = 10
    sample_chars: int = 200      # length of the sample printed at each evaluation; 0 disables
    seed: int = 1337
    device: str = "auto"
    dtype: str = "auto"          # auto | float32 | bfloat16 (| float64 with the numpy backend)
    backend: str = "torch"       # torch | numpy (hand-written BPTT, rnnlab.numpy_ref)
    tensorboard: bool = False
    out: str = "runs/run"

    def __post_init__(self):
        require(self.tokenizer in TOKENIZERS, f"unknown tokenizer {self.tokenizer!r}", "use --tokenizer char, byte or word")
        require(self.optimizer in OPTIMIZERS, f"unknown optimizer {self.optimizer!r}",
                "use --optimizer " + ", ".join(OPTIMIZERS))
        require(self.lr_schedule in LR_SCHEDULES, f"unknown schedule {self.lr_schedule!r}", "use --lr-schedule cosine or constant")
        require(self.backend in ("torch", "numpy"), f"unknown backend {self.backend!r}", "use --backend torch or numpy")
        require(0.0 < self.val_frac < 1.0, f"--val-frac must be between 0 and 1, got {self.val_frac}", "pass e.g. --val-frac 0.1")
        for name in ("seq_len", "batch_size", "lr", "eval_every", "log_every"):
            require_positive("--" + name.replace("_", "-"), getattr(self, name))
        for name in ("max_steps", "max_minutes", "lr_decay_steps", "min_count"):
            require_positive("--" + name.replace("_", "-"), getattr(self, name))
        for name in ("grad_clip", "clip_value", "warmup_steps", "plateau_patience", "early_stop_patience",
                     "sample_chars", "weight_decay", "min_lr_frac"):
            require_positive("--" + name.replace("_", "-"), getattr(self, name), allow_zero=True)
        require(0.0 < self.plateau_factor < 1.0, f"--plateau-factor must be in (0, 1), got {self.plateau_factor}",
                "pass e.g. --plateau-factor 0.5")
        require(0.0 <= self.min_lr_frac <= 1.0, f"--min-lr-frac must be in [0, 1], got {self.min_lr_frac}",
                "pass e.g. --min-lr-frac 0.1")
        require(0.0 <= self.momentum < 1.0, f"--momentum must be in [0, 1), got {self.momentum}", "pass e.g. --momentum 0.9")
        require(self.max_steps is not None or self.max_minutes is not None,
                "a run needs a budget", "pass --max-steps N or --max-minutes M")


@dataclass
class SampleConfig(_Dict):
    """How to draw text from a trained model."""
    prime: str = ""
    length: int = 500
    temperature: float = 1.0
    top_k: int = 0               # 0 = no top-k filter
    top_p: float = 1.0           # 1 = no nucleus filter
    greedy: bool = False
    seed: Optional[int] = None
    num_samples: int = 1

    def __post_init__(self):
        require_positive("-n", self.length)
        require_positive("--temperature", self.temperature)
        require_positive("--top-k", self.top_k, allow_zero=True)
        require_positive("--num-samples", self.num_samples)
        require(0.0 < self.top_p <= 1.0, f"--top-p must be in (0, 1], got {self.top_p}", "pass e.g. --top-p 0.9")

