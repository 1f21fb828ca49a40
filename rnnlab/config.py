"""Configuration dataclasses. The CLI builds these from flags; nothing reads module globals."""
from __future__ import annotations

import dataclasses
import math
import numbers
import os
import re
import sys
from dataclasses import dataclass
from typing import Optional

from .errors import RnnlabError, require, require_positive

MODEL_KINDS = ("lstm", "gru", "rnn")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "adagrad", "sgd")
TOKENIZERS = ("char", "byte", "word")
LR_SCHEDULES = ("cosine", "constant")


SEED_LIMIT = 2 ** 32          # seeds are integers in [0, 2**32), as --seed takes them
INT_LIMIT = 2 ** 63          # every integer setting must fit int64
FLAGS = {"length": "-n", "vocab_size": "vocab_size"}   # fields whose flag is not --field-name


def flag(name: str) -> str:
    """The command-line spelling of a config field, used in every message about it."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def _check_types(obj) -> None:
    """Refuse values of the wrong type with the CLI's wording: ints must be int (bool is not), floats
    accept ints (stored as float), strings and bools must be what they say. Optional[...] also takes None."""
    for f in dataclasses.fields(obj):
        value, kind = getattr(obj, f.name), str(f.type)
        optional = kind.startswith("Optional[")
        kind = kind[len("Optional["):-1] if optional else kind
        if value is None and optional:
            continue
        name, example = flag(f.name), f.default if f.default is not None else ""
        if example is UNSET:
            example = {"max_steps": DEFAULT_STEPS, "max_minutes": DEFAULT_MINUTES}[f.name]
        fix = f"pass e.g. {name} {example}".rstrip()
        if kind == "int":
            ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
            require(ok, f"{name} must be a whole number, got {value!r}", fix)
            fits = f.name == "seed" or -INT_LIMIT <= value < INT_LIMIT     # seeds have their own range
            require(fits, f"{name} must fit in 64 bits, got a {len(str(value))}-digit number", fix)
            setattr(obj, f.name, int(value))
        elif kind == "float":
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            require(ok, f"{name} must be a number, got {value!r}", fix)
            try:
                setattr(obj, f.name, float(value))
            except OverflowError:
                raise RnnlabError(f"{name} must be a finite number, got a {len(str(value))}-digit number", fix) from None
        elif kind == "str":
            if isinstance(value, os.PathLike):      # data=Path("my.txt") is a path like any other
                value = os.fspath(value)
                setattr(obj, f.name, value)
            require(isinstance(value, str), f"{name} must be text, got {value!r}", fix)
        elif kind == "bool":
            require(isinstance(value, bool), f"{name} must be true or false, got {value!r}",
                    f"pass {f.name}=True or False")


def check_device_name(name: str) -> None:
    """auto, cpu, cuda or cuda:N; other torch device types (mps, xpu, meta) are refused up front."""
    require(re.fullmatch(r"auto|cpu|cuda(:\d+)?", name) is not None,
            f"--device {name} is not supported (rnnlab runs on the CPU and CUDA GPUs)",
            "use --device auto, cpu or cuda")


def _require_at_most(name: str, value, limit, example) -> None:
    """A finite setting with a sane upper bound (beyond it float32 arithmetic overflows or nothing is learned)."""
    if value is not None:
        require(value <= limit, f"{name} must be at most {limit:g}, got {value:g}", f"pass e.g. {name} {example}")


def _require_seed(value) -> None:
    if value is not None:
        require(0 <= value < SEED_LIMIT, f"--seed must be between 0 and {SEED_LIMIT - 1}, got {value}",
                "pass e.g. --seed 1337")


class _Unset:
    """Default of TrainConfig.max_steps / max_minutes meaning 'not given' (see resolve_budget)."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET = _Unset()
DEFAULT_STEPS, DEFAULT_MINUTES = 1100, 10.0
MAX_LAYERS = 1000


def resolve_budget(max_steps=UNSET, max_minutes=UNSET, max_epochs=None) -> tuple:
    """The one budget rule, for the API and the CLI alike: with neither given the budget is
    DEFAULT_STEPS steps or DEFAULT_MINUTES minutes, whichever ends first; a step budget given alone
    is the whole budget (no time cap), and so is a time budget given alone (no step cap), and an
    epoch budget given alone (no step or time cap).
    None given for one of them removes that cap and keeps the other's default."""
    if max_steps is UNSET and max_minutes is UNSET:
        return (DEFAULT_STEPS, DEFAULT_MINUTES) if max_epochs is None else (None, None)
    if max_steps is UNSET:
        return (DEFAULT_STEPS if max_minutes is None else None), max_minutes
    if max_minutes is UNSET:
        return max_steps, (DEFAULT_MINUTES if max_steps is None else None)
    return max_steps, max_minutes


def budget_overrides(given: dict) -> dict:
    """`given` (flags or resume overrides) with the budget rule applied: a copy in which --max-steps
    alone also sets max_minutes=None and --max-minutes alone max_steps=None. Neither: unchanged."""
    given = dict(given)
    if given.get("max_epochs") is not None and "max_steps" not in given and "max_minutes" not in given:
        given.update(max_steps=None, max_minutes=None)      # --max-epochs alone is the whole budget
    elif ("max_steps" in given) != ("max_minutes" in given):
        steps, minutes = resolve_budget(given.get("max_steps", UNSET), given.get("max_minutes", UNSET))
        given.update(max_steps=steps, max_minutes=minutes)
    return given


def _fits_memory(cfg: "ModelConfig") -> None:
    """Refuse a model whose float32 weights alone exceed this machine's memory (before anything is built)."""
    gates = {"lstm": 4, "gru": 3, "rnn": 1}.get(cfg.model, 4)
    H, V = cfg.hidden, cfg.vocab_size
    first = cfg.embed or V
    n = gates * H * (first + H + 2) + (cfg.layers - 1) * gates * H * (2 * H + 2) + cfg.embed * V + (H + 1) * V
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return
    require(4 * n <= memory, f"a {cfg.layers}x{H} {cfg.model} with --embed {cfg.embed} has about {n:.2g} parameters: "
            f"{4 * n / 2 ** 30:,.0f} GiB of weights, more than this machine's {memory / 2 ** 30:,.0f} GiB",
            "lower --hidden, --layers or --embed")


class _Dict:
    """to_dict/from_dict for flat dataclasses; unknown keys are refused, missing keys take defaults."""
    SECTION = ""   # the config.json key the settings are stored under

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """Build from a config.json section: a settings mapping, or RnnlabError saying which value is wrong."""
        section = f'"{cls.SECTION}" settings'
        require(isinstance(d, dict), f"{section} are not a mapping (got {type(d).__name__})",
                "the checkpoint is damaged or was edited")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        require(not unknown, f"{cls.__name__} has no field(s) {sorted(map(str, unknown))}",
                "the checkpoint was written by another rnnlab version")
        try:
            return cls(**d)
        except RnnlabError as exc:
            raise RnnlabError(f"{section}: {exc.message}",
                              "the checkpoint is damaged or was edited") from None

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclass
class ModelConfig(_Dict):
    """Shape of a recurrent language model: embed -> `layers` x `model` cells -> linear head."""
    SECTION = "model"
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
        _check_types(self)
        require(self.model in MODEL_KINDS, f"unknown model {self.model!r}", "use --model lstm, gru or rnn")
        require_positive("--hidden", self.hidden)
        require_positive("--layers", self.layers)
        require(self.layers <= MAX_LAYERS, f"--layers must be at most {MAX_LAYERS}, got {self.layers}",
                "pass e.g. --layers 2")
        require_positive("--embed", self.embed, allow_zero=True)
        require_positive("vocab_size", self.vocab_size, allow_zero=True)
        require(self.init in ("default", "esn"), f"unknown init {self.init!r}", "use --init default or esn")
        require_positive("--spectral-radius", self.spectral_radius)
        _require_at_most("--spectral-radius", self.spectral_radius, 1e3, 1.1)
        require(math.isfinite(self.forget_bias), f"--forget-bias must be finite, got {self.forget_bias}",
                "pass e.g. --forget-bias 1")
        require(abs(self.forget_bias) <= 1e3, f"--forget-bias must lie in [-1000, 1000], got {self.forget_bias:g}",
                "pass e.g. --forget-bias 1")
        require(0.0 <= self.dropout < 1.0, f"--dropout must be in [0, 1), got {self.dropout}", "pass e.g. --dropout 0.2")
        _fits_memory(self)


@dataclass
class TrainConfig(_Dict):
    """Everything that decides a training run; saved in config.json so a run can be resumed or reproduced.

    The budget follows resolve_budget: TrainConfig(max_steps=200) trains 200 steps with no time cap,
    TrainConfig(max_minutes=5) 5 minutes with no step cap, TrainConfig() 1100 steps or 10 minutes."""
    SECTION = "train"
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
    max_steps: Optional[int] = UNSET      # type: ignore[assignment]  # see resolve_budget: 1100 unless
    max_minutes: Optional[float] = UNSET  # type: ignore[assignment]  # ... only --max-minutes is given (10 min)
    max_epochs: Optional[float] = None    # passes over the training text; alone, no step or time cap
    eval_every: int = 250
    log_every: int = 10
    sample_chars: int = 200      # length of the sample printed at each evaluation; 0 disables
    seed: int = 1337
    device: str = "auto"
    dtype: str = "auto"          # auto | float32 | bfloat16 (| float64 with the numpy backend)
    backend: str = "torch"       # torch | numpy (hand-written BPTT, rnnlab.numpy_ref)
    tensorboard: bool = False
    out: str = "runs/run"
    init_from: Optional[str] = None  # fine-tune: start from this run's best/ weights (rnnlab/finetune.py)

    def __post_init__(self):
        self.max_steps, self.max_minutes = resolve_budget(self.max_steps, self.max_minutes, self.max_epochs)
        _check_types(self)
        _require_seed(self.seed)
        require(self.tokenizer in TOKENIZERS, f"unknown tokenizer {self.tokenizer!r}", "use --tokenizer char, byte or word")
        require(self.optimizer in OPTIMIZERS, f"unknown optimizer {self.optimizer!r}",
                "use --optimizer " + ", ".join(OPTIMIZERS))
        require(self.lr_schedule in LR_SCHEDULES, f"unknown schedule {self.lr_schedule!r}", "use --lr-schedule cosine or constant")
        check_device_name(self.device)
        require(self.backend in ("torch", "numpy"), f"unknown backend {self.backend!r}", "use --backend torch or numpy")
        require(0.0 < self.val_frac < 1.0, f"--val-frac must be between 0 and 1, got {self.val_frac}", "pass e.g. --val-frac 0.1")
        for name in ("seq_len", "batch_size", "lr", "eval_every", "log_every"):
            require_positive("--" + name.replace("_", "-"), getattr(self, name))
        for name in ("max_steps", "max_minutes", "max_epochs", "lr_decay_steps", "min_count"):
            require_positive("--" + name.replace("_", "-"), getattr(self, name))
        for name in ("grad_clip", "clip_value", "warmup_steps", "plateau_patience", "early_stop_patience",
                     "sample_chars", "weight_decay", "min_lr_frac"):
            require_positive("--" + name.replace("_", "-"), getattr(self, name), allow_zero=True)
        require(0.0 < self.plateau_factor < 1.0, f"--plateau-factor must be in (0, 1), got {self.plateau_factor}",
                "pass e.g. --plateau-factor 0.5")
        require(0.0 <= self.min_lr_frac <= 1.0, f"--min-lr-frac must be in [0, 1], got {self.min_lr_frac}",
                "pass e.g. --min-lr-frac 0.1")
        require(0.0 <= self.momentum < 1.0, f"--momentum must be in [0, 1), got {self.momentum}", "pass e.g. --momentum 0.9")
        _require_at_most("--lr", self.lr, 1e3, 0.003)                    # float32 overflows far below 1e308
        _require_at_most("--weight-decay", self.weight_decay, 1e3, 0.01)
        _require_at_most("--grad-clip", self.grad_clip, 1e6, 5)           # 0 disables clipping
        _require_at_most("--clip-value", self.clip_value, 1e6, 5)
        require(self.max_steps is not None or self.max_minutes is not None or self.max_epochs is not None,
                "a run needs a budget", "pass --max-steps N, --max-minutes M or --max-epochs E")


@dataclass
class SampleConfig(_Dict):
    """How to draw text from a trained model."""
    SECTION = "sample"
    prime: str = ""
    length: int = 500
    temperature: float = 1.0
    top_k: int = 0               # 0 = no top-k filter
    top_p: float = 1.0           # 1 = no nucleus filter
    greedy: bool = False
    seed: Optional[int] = None
    num_samples: int = 1

    def __post_init__(self):
        _check_types(self)
        _require_seed(self.seed)
        require_positive("-n", self.length)
        require_positive("--temperature", self.temperature)
        require(self.temperature >= sys.float_info.min, f"--temperature {self.temperature:g} is too small to divide "
                f"by (below {sys.float_info.min:.3g})", "use --greedy for the likeliest token, or e.g. --temperature 0.5")
        require_positive("--top-k", self.top_k, allow_zero=True)
        require_positive("--num-samples", self.num_samples)
        require(0.0 < self.top_p <= 1.0, f"--top-p must be in (0, 1], got {self.top_p}", "pass e.g. --top-p 0.9")

