"""The settings of a classification run, declared once (flags, defaults, help and resume rules come from here).

Kept free of torch so that `rnnlab classify train --help` is instant.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..config import LoopConfig
from ..errors import require
from ..settings import setting
from .pretrained_start import PretrainedStart

BATCHINGS = ("bucket", "shuffle", "pad-max")


@dataclass
class ClassifyConfig(PretrainedStart, LoopConfig):
    """A sentence-classification run: data, encoder shape, regularisation, pretrained starts (PretrainedStart),
    and the loop's settings (LoopConfig)."""
    DEFAULT_STEPS = None
    DEFAULT_MINUTES = 4.5
    DEFAULT_EPOCHS = 4
    lr: float = setting(3e-3, "peak learning rate (Adam)", resumable=True)
    warmup_steps: int = setting(50, "linear warmup steps")
    eval_every: int = setting(200, "steps between validation passes and checkpoints", resumable=True)
    seed: int = setting(1337, "seed for the split, initialisation, batch order and dropout")
    data: str = setting("rt-polarity", "rt-polarity (the two-file .pos/.neg corpus, or a folder like it), a CSV/TSV "
                        "file with a header row, or a file of label<TAB>text lines")
    text_col: Optional[str] = setting(None, "CSV/TSV column holding the text (default text)", metavar="NAME")
    label_col: Optional[str] = setting(None, "CSV/TSV column holding the label (default label)", metavar="NAME")
    val_frac: float = setting(0.1, "fraction held out for validation by a seeded shuffle")
    folds: Optional[int] = setting(None, "K-fold cross-validation instead of one split: K runs in OUT/fold-1.. "
                                   "each scored on its own held-out fold with its final weights; mean and std "
                                   "accuracy", metavar="K")
    tokenizer: str = setting("word", "word (words and punctuation), kim (Kim 2014's clean_str), space (split "
                             "on whitespace) or char", choices=("word", "kim", "space", "char"))
    cased: bool = setting(False, "keep upper case (default: lower-case the text; kim always lower-cases)")
    min_count: int = setting(1, "tokens seen fewer times in the training split become <unk>")
    max_len: int = setting(400, "tokens kept per sentence (the rest is cut off)")
    batch_size: int = setting(50, "sentences per batch")
    batching: str = setting("bucket", "bucket (similar lengths together, least padding), shuffle (plain random "
                            "batches) or pad-max (random batches padded to the longest sentence)", choices=BATCHINGS)
    unpacked: bool = setting(False, "run padded batches through the RNN as they are (padding computed and read "
                             "by the backward direction) instead of as packed sequences")
    model: str = setting("lstm", "recurrent cell of the encoder: lstm, gru or rnn", choices=("lstm", "gru", "rnn"))
    embed: Optional[int] = setting(None, "word embedding size (default 128, or the width of --embeddings)")
    hidden: Optional[int] = setting(None, "units per direction (default 64)")
    layers: Optional[int] = setting(None, "stacked recurrent layers (default 1)")
    unidirectional: bool = setting(False, "read left to right only (default: bidirectional)")
    pool: str = setting("max,mean", "how the per-word outputs become one vector, comma-separated: last, mean, "
                        "max, attention")
    input_dropout: float = setting(0.25, "locked dropout on the embedded words")
    dropout: float = setting(0.2, "locked dropout between stacked layers")
    word_dropout: float = setting(0.1, "probability of replacing a training word by <unk>")
    embed_dropout: float = setting(0.2, "probability of zeroing a whole row of the embedding table for a batch")
    weight_drop: float = setting(0.0, "recurrent dropout: DropConnect on the hidden-to-hidden weights")
    head_dropout: float = setting(0.5, "dropout on the pooled vector before the output layer")
    label_smoothing: float = setting(0.0, "cross-entropy label smoothing")
    ngrams: int = setting(2, "add a linear bag-of-n-grams term to the logits (word 1..N-grams of the training "
                          "split, trained jointly: a wide-and-deep model); 0: the recurrent model alone")
    ngram_dropout: float = setting(0.0, "fraction of a training sentence's n-grams dropped (with --ngrams)")

    def __post_init__(self):
        super().__post_init__()
        require(0.0 < self.val_frac < 1.0, f"--val-frac must be between 0 and 1, got {self.val_frac}",
                "pass e.g. --val-frac 0.1")
        for name in ("batch_size", "min_count", "max_len"):
            v = getattr(self, name)
            require(v > 0, f"--{name.replace('_', '-')} must be positive, got {v}", f"pass e.g. --{name} 1")
        require(self.folds is None or self.folds >= 2, f"--folds must be at least 2, got {self.folds}",
                "pass e.g. --folds 10")
        require(0 <= self.ngrams <= 5, f"--ngrams must be in 0..5, got {self.ngrams}", "pass e.g. --ngrams 2")
        for name in ("head_dropout", "label_smoothing", "ngram_dropout"):
            v = getattr(self, name)
            require(0.0 <= v < 1.0, f"--{name.replace('_', '-')} must be in [0, 1), got {v}", "pass e.g. 0.1")

    @property
    def pool_kinds(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.pool.split(",") if p.strip())

    def classifier_config(self, vocab_size: int, n_classes: int, ngram_vocab: int = 0):
        """The ClassifierConfig of these settings (the shape from PretrainedStart.encoder_shape)."""
        from ..models.classifier import ClassifierConfig
        from ..models.encoder import EncoderConfig
        shape = self.encoder_shape({"kind": self.model, "embed": 128, "hidden": 64, "layers": 1})
        enc = EncoderConfig(vocab_size=vocab_size, bidirectional=not self.unidirectional,
                            input_dropout=self.input_dropout, dropout=self.dropout, embed_dropout=self.embed_dropout,
                            word_dropout=self.word_dropout, weight_drop=self.weight_drop, packed=not self.unpacked,
                            **shape)
        enc.check()
        return ClassifierConfig(enc, self.pool_kinds, n_classes, self.head_dropout, ngram_vocab, self.ngram_dropout)
