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

from . import settings
from .errors import RnnlabError, require, require_positive
from .settings import setting

MODEL_KINDS = ("lstm", "gru", "rnn")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "adagrad", "sgd")
TOKENIZERS = ("char", "byte", "word")
LR_SCHEDULES = ("cosine", "constant")


SEED_LIMIT = 2 ** 32          # seeds are integers in [0, 2**32), as --seed takes them
INT_LIMIT = 2 ** 63          # every integer setting must fit int64
BUDGET = ("max_steps", "max_minutes", "max_epochs")


def _check_types(obj) -> None:
    """Refuse values of the wrong type with the CLI's wording: ints must be int (bool is not), floats
    accept ints (stored as float), strings and bools must be what they say. Optional[...] also takes None."""
    for f in dataclasses.fields(obj):
        value, kind = getattr(obj, f.name), settings.kind(f)
        if value is None and settings.optional(f):
            continue
        name, example = settings.flag(f), f.default if f.default is not None else ""
        if example is UNSET:
            example = {"max_steps": 1100, "max_minutes": 10, "max_epochs": 5}[f.name]
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
    """Default of the budget fields meaning 'not given' (see LoopConfig.resolve_budget)."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET = _Unset()
MAX_LAYERS = 1000


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
    model: str = setting("lstm", f"cell type: {', '.join(MODEL_KINDS)}", metavar="|".join(MODEL_KINDS))
    vocab_size: int = setting(0, "set from the vocabulary", flag="vocab_size")     # not a flag
    embed: int = setting(256, "embedding size; 0 feeds one-hot vectors as in the lectures", metavar="N")
    hidden: int = setting(512, "units per layer", metavar="N")
    layers: int = setting(2, "stacked recurrent layers", metavar="N")
    dropout: float = setting(0.2, "locked dropout on embeddings, between layers and before the output", metavar="P")
    forget_bias: float = setting(0.0, "LSTM forget-gate bias at initialisation; 1 is the classic advice "
                                 "(Jozefowicz et al.), 0 trained faster here (see README)")
    init: str = setting("default", "default (PyTorch's uniform init) or esn: recurrent weights sparse and scaled to "
                        "--spectral-radius, as echo state networks are (Sutskever 2012 then trains them with momentum)")
    spectral_radius: float = setting(1.1, "--init esn: spectral radius of each recurrent matrix")

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
class LoopConfig(_Dict):
    """The trainer's own settings, shared by every task: optimizer, schedule, budget, logging, device, run directory.

    The budget follows resolve_budget and the class's DEFAULT_STEPS / DEFAULT_MINUTES / DEFAULT_EPOCHS:
    a task config subclasses LoopConfig and may change those defaults (e.g. DEFAULT_EPOCHS = 10)."""
    SECTION = "train"
    DEFAULT_STEPS = 1100         # the budget when none is given: these, whichever ends first (None: no such cap)
    DEFAULT_MINUTES = 10.0
    DEFAULT_EPOCHS = None
    MIN_HORIZON = 0              # a step budget decays the learning rate over at least this many steps
    optimizer: str = setting("adam", ", ".join(OPTIMIZERS), metavar="|".join(OPTIMIZERS))
    lr: float = setting(3e-3, "peak learning rate", resumable=True)            # the way forward after a divergence
    momentum: float = setting(0.9, "momentum for sgd and rmsprop")
    weight_decay: float = setting(0.0, "L2 penalty; adamw uses decoupled decay, 0.01 if unset")
    grad_clip: float = setting(5.0, "clip gradients to this global norm; 0 disables", resumable=True, metavar="C")
    clip_value: float = setting(0.0, "clip each gradient element to +-C as min-char-rnn does (e.g. 5); 0 disables",
                                resumable=True)
    lr_schedule: str = setting("cosine", "cosine (linear warmup, then cosine decay) or constant")
    warmup_steps: int = setting(50, "linear warmup steps")
    lr_decay_steps: Optional[int] = setting(
        None, "steps over which cosine decays. Default: when --max-minutes may end the run, the steps that fit in "
        "it (measured after a few steps, refined at each evaluation, recorded for resume); with a step budget "
        "alone, the larger of it and 1100, so shorter and resumed runs follow the same schedule on any machine",
        resumable=True)
    min_lr_frac: float = setting(0.0, "cosine floor as a fraction of --lr")
    plateau_patience: int = setting(0, "multiply the LR by --plateau-factor after this many evaluations without "
                                    "improvement; 0 off", resumable=True)
    plateau_factor: float = setting(0.5, "LR factor for reduce-on-plateau")
    early_stop_patience: int = setting(0, "stop after this many evaluations without improvement; 0 off",
                                       resumable=True)
    max_steps: Optional[int] = setting(   # type: ignore[assignment]
        UNSET, "step budget; given alone, no time cap ({default_budget})", resumable=True, metavar="N")
    max_minutes: Optional[float] = setting(   # type: ignore[assignment]
        UNSET, "wall-clock budget in minutes; given alone, it is the only budget; with --resume it is the TOTAL "
        "wall time of the run, the minutes already spent included ({default_budget})", resumable=True, metavar="M")
    max_epochs: Optional[float] = setting(   # type: ignore[assignment]
        UNSET, "budget in passes over the training data (fractions allowed); with --max-steps the smaller one "
        "ends the run; given alone, no step or time cap ({default_budget})", resumable=True, metavar="E")
    eval_every: int = setting(250, "steps between exact validation passes, checkpoints and samples", resumable=True,
                              metavar="N")
    log_every: int = setting(10, "steps between progress updates and NaN checks", resumable=True)
    seed: int = setting(1337, "seed for initialisation, dropout and the printed samples", metavar="S")
    device: str = setting("auto", "auto (CUDA when present), cpu or cuda", resumable=True, metavar="auto|cpu|cuda")
    dtype: str = setting("auto", "auto (bfloat16 where the hardware has it, else float32), float32 or bfloat16; "
                         "the numpy backend takes float32 (default) or float64", resumable=True,
                         metavar="auto|float32|bfloat16")
    out: str = setting("runs/run", "run directory to create (default on the command line: runs/<model>-<date>-<time>)",
                       metavar="DIR")
    tensorboard: bool = setting(False, "also write TensorBoard events to RUN/tensorboard", resumable=True)

    @classmethod
    def resolve_budget(cls, max_steps=UNSET, max_minutes=UNSET, max_epochs=UNSET) -> tuple:
        """The one budget rule, for the API and the CLI alike: (max_steps, max_minutes, max_epochs).

        With none given, the class's defaults (1100 steps or 10 minutes, whichever ends first, for a language
        model). A budget given is the whole budget together with the others given: --max-steps alone has no
        time cap, --max-minutes alone no step cap, --max-epochs alone neither. None removes a cap; given
        only as None, the caps not named keep their defaults."""
        values = dict(zip(BUDGET, (max_steps, max_minutes, max_epochs)))
        named = {k: v for k, v in values.items() if v is not UNSET}
        if any(v is not None for v in named.values()):
            return tuple(named.get(k) for k in BUDGET)
        defaults = dict(zip(BUDGET, (cls.DEFAULT_STEPS, cls.DEFAULT_MINUTES, cls.DEFAULT_EPOCHS)))
        return tuple(named.get(k, defaults[k]) for k in BUDGET)

    @classmethod
    def default_budget(cls) -> str:
        """The default budget in words, for --help: 'the default budget is 1100 steps or 10 minutes, ...'."""
        parts = [f"{n:g} {unit}" for n, unit in ((cls.DEFAULT_STEPS, "steps"), (cls.DEFAULT_MINUTES, "minutes"),
                                                 (cls.DEFAULT_EPOCHS, "epochs")) if n is not None]
        return "the default budget is " + " or ".join(parts) + (", whichever ends first" if len(parts) > 1 else "")

    def __post_init__(self):
        self.max_steps, self.max_minutes, self.max_epochs = self.resolve_budget(
            self.max_steps, self.max_minutes, self.max_epochs)
        _check_types(self)
        _require_seed(self.seed)
        require(self.optimizer in OPTIMIZERS, f"unknown optimizer {self.optimizer!r}",
                "use --optimizer " + ", ".join(OPTIMIZERS))
        require(self.lr_schedule in LR_SCHEDULES, f"unknown schedule {self.lr_schedule!r}", "use --lr-schedule cosine or constant")
        check_device_name(self.device)
        for name in ("lr", "eval_every", "log_every", "max_steps", "max_minutes", "max_epochs", "lr_decay_steps"):
            require_positive("--" + name.replace("_", "-"), getattr(self, name))
        for name in ("grad_clip", "clip_value", "warmup_steps", "plateau_patience", "early_stop_patience",
                     "weight_decay", "min_lr_frac"):
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
class TrainConfig(LoopConfig):
    """Everything that decides a language-model run: the loop's settings plus the text, tokenizer and
    stream; saved in config.json (the "train" section) so a run can be resumed or reproduced.

    The budget follows resolve_budget: TrainConfig(max_steps=200) trains 200 steps with no time cap,
    TrainConfig(max_minutes=5) 5 minutes with no step cap, TrainConfig() 1100 steps or 10 minutes."""
    MIN_HORIZON = 1100           # shorter step runs decay over the default budget: "N, resume to 2N" = "2N"
    data: str = setting("tiny_shakespeare", "text file, or a bundled corpus name from `rnnlab datasets`",
                        metavar="PATH|NAME")
    tokenizer: str = setting("char", f"{', '.join(TOKENIZERS)}: Unicode characters, raw bytes (any file), or words",
                             metavar="|".join(TOKENIZERS))
    min_count: int = setting(1, "word tokenizer: words seen fewer times become <unk>")
    val_frac: float = setting(0.1, "last fraction of the text held out for validation", metavar="F")
    seq_len: int = setting(100, "truncated-BPTT length T: tokens per chunk", metavar="T")
    batch_size: int = setting(128, "parallel streams B read side by side", metavar="B")
    sample_chars: int = setting(200, "length of the sample printed at each evaluation; 0 off", resumable=True)
    backend: str = setting("torch", "torch (default) or numpy: the from-scratch NumPy models with hand-written "
                           "BPTT (no dropout; optimizers adagrad or adam)")
    init_from: Optional[str] = setting(
        None, "fine-tune: a new run that starts from RUN's best/ weights. The model and --tokenizer are RUN's "
        "(only --dropout may change); symbols of --data that RUN never saw are appended to its vocabulary, their "
        "embedding and output rows initialised as fresh weights (a line says how many)", metavar="RUN")

    def __post_init__(self):
        super().__post_init__()
        require(self.tokenizer in TOKENIZERS, f"unknown tokenizer {self.tokenizer!r}", "use --tokenizer char, byte or word")
        require(self.backend in ("torch", "numpy"), f"unknown backend {self.backend!r}", "use --backend torch or numpy")
        require(0.0 < self.val_frac < 1.0, f"--val-frac must be between 0 and 1, got {self.val_frac}", "pass e.g. --val-frac 0.1")
        for name in ("seq_len", "batch_size", "min_count"):
            require_positive("--" + name.replace("_", "-"), getattr(self, name))
        require_positive("--sample-chars", self.sample_chars, allow_zero=True)


def budget_overrides(given: dict, cls=TrainConfig) -> dict:
    """`given` (flags or resume overrides) with cls's budget rule applied: a copy in which --max-steps alone
    also sets max_minutes=None, --max-minutes alone max_steps=None, and --max-epochs alone both. Else unchanged."""
    given = dict(given)
    if given.get("max_epochs") is not None and "max_steps" not in given and "max_minutes" not in given:
        given.update(max_steps=None, max_minutes=None)      # --max-epochs alone is the whole budget
    elif ("max_steps" in given) != ("max_minutes" in given):
        steps, minutes, _ = cls.resolve_budget(given.get("max_steps", UNSET), given.get("max_minutes", UNSET),
                                               given.get("max_epochs", UNSET))
        given.update(max_steps=steps, max_minutes=minutes)
    return given


MAX_SAMPLES = 4096


@dataclass
class SampleConfig(_Dict):
    """How to draw text from a trained model."""
    SECTION = "sample"
    prime: str = setting("", "text the model reads first; the output starts with it", metavar="TEXT")
    length: int = setting(500, "tokens to generate after the prime", flag="-n", metavar="N")
    temperature: float = setting(1.0, "<1 safer, >1 more surprising", metavar="T")
    top_k: int = setting(0, "sample only from the k likeliest tokens; 0 off", metavar="K")
    top_p: float = setting(1.0, "sample from the smallest set with this much probability; 1 off", metavar="P")
    greedy: bool = setting(False, "always take the likeliest token")
    seed: Optional[int] = setting(None, "same seed, same text (default: random)", metavar="S")
    num_samples: int = setting(1, "independent samples, generated side by side as one batch (sample i is the "
                               "text of --seed + i), separated by a ---- line", metavar="N")

    def __post_init__(self):
        _check_types(self)
        _require_seed(self.seed)
        require_positive("-n", self.length)
        require_positive("--temperature", self.temperature)
        require(self.temperature >= sys.float_info.min, f"--temperature {self.temperature:g} is too small to divide "
                f"by (below {sys.float_info.min:.3g})", "use --greedy for the likeliest token, or e.g. --temperature 0.5")
        require_positive("--top-k", self.top_k, allow_zero=True)
        require_positive("--num-samples", self.num_samples)
        require(self.num_samples <= MAX_SAMPLES, f"--num-samples must be at most {MAX_SAMPLES}, got "
                f"{self.num_samples}", "ask for fewer samples per call")
        require(0.0 < self.top_p <= 1.0, f"--top-p must be in (0, 1], got {self.top_p}", "pass e.g. --top-p 0.9")


@dataclass
class EvalConfig(_Dict):
    """What `rnnlab eval` scores, and where."""
    SECTION = "eval"
    data: Optional[str] = setting(None, "score this whole file (or bundled corpus) instead of the run's validation "
                                  "split", metavar="PATH|NAME")
    device: str = setting("auto", "auto (CUDA when present), cpu or cuda", metavar="auto|cpu|cuda")
    dtype: str = setting("float32", "float32 (default, exact) or bfloat16", metavar="float32|bfloat16")

    def __post_init__(self):
        _check_types(self)
        check_device_name(self.device)
