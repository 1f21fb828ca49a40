"""The settings of a captioning run, declared once (flags, defaults, help and resume rules come from here).

Kept free of torch so that `rnnlab caption train --help` is instant.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import LoopConfig
from ..errors import require
from ..settings import setting


@dataclass
class CaptionConfig(LoopConfig):
    """A captioning run: the rendered data set, the encoder's and decoder's sizes, and the loop's settings."""
    DEFAULT_STEPS = None
    DEFAULT_MINUTES = 18.0
    DEFAULT_EPOCHS = 40
    lr: float = setting(2e-3, "peak learning rate (Adam)", resumable=True)
    warmup_steps: int = setting(100, "linear warmup steps")
    grad_clip: float = setting(5.0, "clip gradients to this global norm; 0 disables", resumable=True, metavar="C")
    eval_every: int = setting(500, "steps between validation passes (greedy captions of the val split) and "
                              "checkpoints", resumable=True)
    dtype: str = setting("float32", "float32 or bfloat16 (autocast; losses and softmaxes stay float32)",
                         resumable=True)
    data: str = setting("shapes", "directory written by `rnnlab caption make-data` (captions.jsonl + images/)",
                        metavar="DIR")
    batch_size: int = setting(64, "images per batch (one of each image's captions drawn per step)")
    channels: str = setting("32,64,64,128,128", "widths of the encoder's conv layers (strides 2,2,1,2,1: a 64x64 "
                            "image becomes an 8x8 grid of the last width)")
    embed: int = setting(128, "word embedding size (also the deep output layer's)")
    hidden: int = setting(256, "units of the decoder LSTM")
    attention: int = setting(128, "size of the attention MLP (W_a a_i + W_h h)")
    dropout: float = setting(0.2, "dropout before the output layer")
    word_dropout: float = setting(0.25, "probability of feeding <unk> instead of the previous word in training, so "
                                  "that the next word is read from the image more than from the words before it")
    attribute_input: str = setting("colours-query", "what the decoder reads of the attribute words it has written: "
                                   "colours-query (colour words read as <colour> by the LSTM and the output layer, "
                                   "so a colour cannot pull the shape after it; the colour just written steers the "
                                   "next attention, so that it finds the object of that colour, and the LSTM reads "
                                   "it one word late, so that it knows which colours it has said), colours-late (the "
                                   "same without the attention query), colours (colour words read as <colour> "
                                   "only), kinds (<size>, <colour>, <shape>) or words (the words themselves, which "
                                   "lets the language prior override the image on unseen combinations); README "
                                   "measures each")
    beam: int = setting(3, "beam size of the final test and held-out evaluation (validation during training is "
                        "greedy)")
    max_len: int = setting(30, "the most words a caption may have")

    def __post_init__(self):
        super().__post_init__()
        require(isinstance(self.batch_size, int) and 0 < self.batch_size <= 65536,
                f"--batch-size must be in 1..65536, got {self.batch_size}", "pass e.g. --batch-size 64")
        for name in ("embed", "hidden", "attention", "beam", "max_len"):
            v = getattr(self, name)
            require(0 < v <= 65536, f"--{name.replace('_', '-')} must be in 1..65536, got {v}", f"pass e.g. --{name} 3")
        for name in ("dropout", "word_dropout"):
            v = getattr(self, name)
            require(0.0 <= v < 1.0, f"--{name.replace('_', '-')} must be in [0, 1), got {v}", "pass e.g. 0.1")
        self.widths()
        require(self.attribute_input in ("kinds", "colours", "colours-late", "colours-query", "words"),
                f"unknown --attribute-input {self.attribute_input!r}",
                "use --attribute-input words, colours, colours-late, colours-query or kinds")

    def widths(self) -> tuple[int, ...]:
        try:
            widths = tuple(int(w) for w in self.channels.split(","))
        except ValueError:
            widths = ()
        require(len(widths) == 5 and all(0 < w <= 4096 for w in widths), f"--channels must be five widths, got "
                f"{self.channels!r}", "pass e.g. --channels 32,64,64,128,128")
        return widths

    def model_config(self, vocab):
        """The CaptionerConfig of these settings for a caption_data.Vocab."""
        from ..models.caption_decoder import CaptionerConfig
        from ..models.image_encoder import ImageEncoderConfig
        return CaptionerConfig(vocab=vocab.size, encoder=ImageEncoderConfig(channels=self.widths()), embed=self.embed,
                               no_emit=vocab.no_emit(), input_map=vocab.input_map(self.attribute_input),
                               late=vocab.late(self.attribute_input),
                               query=self.attribute_input == "colours-query",
                               hidden=self.hidden, attention=self.attention, dropout=self.dropout,
                               word_dropout=self.word_dropout)
