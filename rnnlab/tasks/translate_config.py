"""The settings of a translation run, declared once (flags, defaults, help and resume rules come from here).

Kept free of torch so that `rnnlab translate train --help` is instant.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..config import LoopConfig
from ..errors import require
from ..settings import setting


@dataclass
class TranslateConfig(LoopConfig):
    """A translation run: the parallel data, the encoder-decoder's sizes, and the loop's settings."""
    DEFAULT_STEPS = None
    DEFAULT_MINUTES = 60.0
    DEFAULT_EPOCHS = 30
    lr: float = setting(2e-3, "peak learning rate (Adam)", resumable=True)
    warmup_steps: int = setting(200, "linear warmup steps")
    grad_clip: float = setting(1.0, "clip gradients to this global norm; 0 disables", resumable=True, metavar="C")
    eval_every: int = setting(454, "steps between validation passes (loss and greedy BLEU) and checkpoints "
                              "(454 = two Multi30k epochs at --batch-size 128)", resumable=True)
    dtype: str = setting("float32", "float32 or bfloat16 (autocast; losses and softmaxes stay float32)",
                         resumable=True)
    data: str = setting("multi30k", "multi30k: the shared Multi30k folder's train, val and test_2016_flickr "
                        "files (or give --src-file and --tgt-file)")
    src: str = setting("de", "source language of --data multi30k (de, en, fr)")
    tgt: str = setting("en", "target language of --data multi30k (de, en, fr)")
    src_file: Optional[str] = setting(None, "training source sentences, one a line (instead of --data)",
                                      metavar="FILE")
    tgt_file: Optional[str] = setting(None, "training target sentences, line-aligned with --src-file", metavar="FILE")
    val_src: Optional[str] = setting(None, "validation source file (default: multi30k's val, or the last 5% of "
                                     "the training lines)", metavar="FILE")
    val_tgt: Optional[str] = setting(None, "validation target file", metavar="FILE")
    test_src: Optional[str] = setting(None, "test source file, scored with beam search at the end and by "
                                      "`translate eval` (default: multi30k's test_2016_flickr)", metavar="FILE")
    test_tgt: Optional[str] = setting(None, "test target file", metavar="FILE")
    min_count: int = setting(2, "words seen fewer times in training become <unk> (an <unk> in the output is "
                             "replaced by the source word it attends to most)")
    batch_size: int = setting(128, "sentence pairs per batch (bucketed by source length)")
    model: str = setting("gru", "recurrent cell of the encoder and the decoder: gru or lstm")
    embed: int = setting(256, "word embedding size (source and target; also the attentional layer h̃)")
    hidden: int = setting(256, "units per direction of the bidirectional encoder")
    layers: int = setting(1, "stacked bidirectional encoder layers")
    dec_hidden: int = setting(512, "units of the decoder")
    dropout: float = setting(0.3, "dropout on embeddings, encoder layers, decoder states and h̃")
    label_smoothing: float = setting(0.1, "label smoothing of the training loss (0 off; validation loss is plain)")
    untied: bool = setting(False, "a separate output matrix instead of the target embedding's transpose")
    max_len_ratio: float = setting(2.0, "translations stop after max-len-ratio x source length + 5 tokens")
    beam: int = setting(5, "beam size of the final test evaluation (validation during training is greedy)")

    def __post_init__(self):
        super().__post_init__()
        require(isinstance(self.batch_size, int) and 0 < self.batch_size <= 65536,
                f"--batch-size must be in 1..65536, got {self.batch_size}", "pass e.g. --batch-size 128")
        require(self.min_count >= 1, f"--min-count must be >= 1, got {self.min_count}", "pass e.g. --min-count 2")
        require(self.model in ("gru", "lstm"), f"unknown --model {self.model!r}", "use --model gru or lstm")
        for name in ("embed", "hidden", "layers", "dec_hidden", "beam"):
            v = getattr(self, name)
            require(0 < v <= 65536, f"--{name.replace('_', '-')} must be in 1..65536, got {v}", f"pass e.g. --{name} 1")
        require(0.0 <= self.dropout < 1.0, f"--dropout must be in [0, 1), got {self.dropout}", "pass e.g. 0.3")
        require(0.0 <= self.label_smoothing < 1.0, f"--label-smoothing must be in [0, 1), got {self.label_smoothing}",
                "pass e.g. 0.1")
        require(0.0 < self.max_len_ratio <= 100, f"--max-len-ratio must be in (0, 100], got {self.max_len_ratio}",
                "pass e.g. 2")

    def model_config(self, vocabs):
        """The Seq2SeqConfig of these settings for a training split's vocabularies (translate_data.Vocabs)."""
        from ..models.seq2seq import Seq2SeqConfig
        return Seq2SeqConfig(kind=self.model, src_vocab=vocabs.src.size, tgt_vocab=vocabs.tgt.size, embed=self.embed,
                             enc_hidden=self.hidden, enc_layers=self.layers, dec_hidden=self.dec_hidden,
                             dropout=self.dropout, tie=not self.untied)
