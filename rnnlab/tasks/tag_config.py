"""The settings of a tagging run, declared once (flags, defaults, help and resume rules come from here).

Kept free of torch so that `rnnlab tag train --help` is instant.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..config import LoopConfig
from ..errors import require
from ..settings import setting
from .pretrained_start import PretrainedStart


@dataclass
class TagConfig(PretrainedStart, LoopConfig):
    """A tagging run: data, tagger shape and regularisation, pretrained starts (PretrainedStart: --embeddings,
    --encoder-from; the word embedding and the word-level encoder), and the loop's settings (LoopConfig)."""
    DEFAULT_STEPS = None
    DEFAULT_MINUTES = 20.0
    DEFAULT_EPOCHS = 20
    lr: float = setting(5e-3, "peak learning rate (Adam)", resumable=True)
    warmup_steps: int = setting(100, "linear warmup steps")
    eval_every: int = setting(106, "steps between validation passes and checkpoints (106 = one WNUT-17 epoch at "
                              "--batch-size 32)", resumable=True)
    seed: int = setting(1337, "seed for initialisation, batch order and dropout")
    dtype: str = setting("float32", "float32 or bfloat16 (autocast; the CRF and the losses stay float32)",
                         resumable=True)
    data: str = setting("wnut17", "training file in CoNLL format (token<TAB>tag lines, a blank line between "
                        "sentences), or wnut17: WNUT-17's train, dev and test files")
    val: Optional[str] = setting(None, "validation file (CoNLL): model selection and the scores during training; "
                                 "default: wnut17's dev file, or the last 10% of --data's sentences", metavar="FILE")
    test: Optional[str] = setting(None, "test file (CoNLL), scored once at the end with best/ and by `tag eval` "
                                  "(default: wnut17's annotated test file)", metavar="FILE")
    batch_size: int = setting(32, "sentences per batch (bucketed by length)")
    min_count: int = setting(2, "words seen fewer times in training become <unk>, so that <unk> is trained on the "
                             "rare words that unseen words resemble (the character features still spell them)")
    model: str = setting("lstm", "recurrent cell of the encoder: lstm, gru or rnn", choices=("lstm", "gru", "rnn"))
    embed: Optional[int] = setting(None, "word embedding size (default 100, or the width of --embeddings)")
    hidden: Optional[int] = setting(None, "units per direction of the bidirectional encoder (default 200)")
    layers: Optional[int] = setting(None, "stacked bidirectional layers (default 1)")
    char: str = setting("cnn", "character features of each word: cnn (Ma & Hovy), lstm (Lample et al.) or none")
    char_embed: int = setting(32, "character embedding size")
    char_features: int = setting(64, "character features per word (CNN filters, or BiLSTM units of both directions)")
    shape_embed: int = setting(8, "size of the word-shape embedding (lower, Title, UPPER, number, @user, ...); "
                               "0 off")
    crf: bool = setting(False, "linear-chain CRF output layer, trained by sentence likelihood and decoded by "
                        "Viterbi (default: an independent softmax per token)")
    input_dropout: float = setting(0.5, "locked dropout on the encoder's inputs (word, char and shape features)")
    dropout: float = setting(0.3, "locked dropout between stacked layers")
    word_dropout: float = setting(0.3, "probability of replacing a training word by <unk>, so that <unk> "
                                  "learns to stand for unseen words")
    weight_drop: float = setting(0.0, "recurrent dropout: DropConnect on the hidden-to-hidden weights")
    head_dropout: float = setting(0.5, "dropout before the output layer")
    char_dropout: float = setting(0.25, "dropout on the character embeddings")

    no_o_bias: bool = setting(False, "decode with the plain scores. By default each evaluation picks the offset "
                              "(0 to 4) subtracted from the O tag's score that gives the best validation entity F1 "
                              "and keeps it with the weights: entities are rare, so the plain argmax or Viterbi "
                              "path under-predicts them")

    average: float = setting(0.0, "evaluate, save as best/ and predict with a running average of the weights "
                             "(decay per step, e.g. 0.999; Polyak averaging smooths the noisy small-data updates); "
                             "0 off")

    def __post_init__(self):
        super().__post_init__()
        require(isinstance(self.batch_size, int) and 0 < self.batch_size <= 65536,
                f"--batch-size must be in 1..65536, got {self.batch_size}", "pass e.g. --batch-size 32")
        require(isinstance(self.min_count, int) and self.min_count >= 1, f"--min-count must be >= 1, got "
                f"{self.min_count}", "pass e.g. --min-count 1")
        require(0 <= self.shape_embed <= 1024, f"--shape-embed must be in 0..1024, got {self.shape_embed}",
                "pass e.g. --shape-embed 8")
        require(0.0 <= self.average < 1.0, f"--average must be in [0, 1), got {self.average}",
                "pass e.g. --average 0.999 (or 0 for none)")
        for name in ("head_dropout", "char_dropout"):
            v = getattr(self, name)
            require(0.0 <= v < 1.0, f"--{name.replace('_', '-')} must be in [0, 1), got {v}", "pass e.g. 0.5")

    def tagger_config(self, vocabs):
        """The TaggerConfig of these settings for a training split's vocabularies (tag_data.Vocabs)."""
        from ..models.char_features import CharConfig
        from ..models.encoder import EncoderConfig
        from ..models.tagger import TaggerConfig
        from .tag_data import SHAPES
        shape = self.encoder_shape({"kind": self.model, "embed": 100, "hidden": 200, "layers": 1})
        enc = EncoderConfig(vocab_size=vocabs.words.size, **shape, bidirectional=True,
                            input_dropout=self.input_dropout, dropout=self.dropout, word_dropout=self.word_dropout, weight_drop=self.weight_drop)
        chars = CharConfig(kind=self.char, vocab_size=vocabs.chars.size, embed=self.char_embed,
                           features=self.char_features, dropout=self.char_dropout)
        cfg = TaggerConfig(enc, chars, num_tags=len(vocabs.tags), shapes=len(SHAPES) if self.shape_embed else 0,
                           shape_embed=self.shape_embed or 8, head_dropout=self.head_dropout, crf=self.crf,
                           outside=vocabs.tags.index.get("O", -1), average=self.average)
        enc.check()
        chars.check()
        return cfg
