"""Starting a task's encoder from something trained elsewhere, for the classifier and the tagger alike:

    --embeddings FILE    GloVe/word2vec text vectors into the embedding table (models/pretrained.py)
    --encoder-from RUN   a language-model run's embedding rows and forward recurrent layers (encoder_from.py)

The three settings are declared here once; a task config mixes PretrainedStart in before LoopConfig
(`class TagConfig(PretrainedStart, LoopConfig)`) and must have `model`, `embed`, `hidden` and `layers`
settings, whose None means "the task's default, or what the vectors / the run fix".
Kept free of torch so that `--help` stays instant.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Optional

from ..errors import require
from ..settings import setting


@dataclass
class PretrainedStart:
    """--embeddings, --freeze-embeddings and --encoder-from, their checks, and the encoder shape they fix."""
    embeddings: Optional[str] = setting(None, "pretrained word vectors (GloVe or word2vec text format) for the "
                                        "embedding table; words it lacks start random (a line counts them)",
                                        metavar="FILE")
    freeze_embeddings: bool = setting(False, "with --embeddings: keep the vectors fixed (default: fine-tune them)")
    encoder_from: Optional[str] = setting(None, "start the embedding and recurrent layers from a language-model "
                                          "run (rnnlab train --tokenizer word) with the same vocabulary kind: rows "
                                          "mapped by token, the model shape taken from the run", metavar="RUN")

    def __post_init__(self):
        super().__post_init__()
        require(not (self.embeddings and self.encoder_from), "--embeddings and --encoder-from both set the "
                "embedding table", "give one of them")
        require(not self.freeze_embeddings or self.embeddings, "--freeze-embeddings needs --embeddings FILE",
                "add --embeddings FILE or drop --freeze-embeddings")

    def encoder_shape(self, defaults: dict) -> dict:
        """{"kind", "embed", "hidden", "layers"}: --encoder-from's run fixes all four, --embeddings' width the
        embedding; flags given otherwise win over `defaults`. A flag that contradicts the run is refused."""
        given = {"kind": self.model, "embed": self.embed, "hidden": self.hidden, "layers": self.layers}
        model_default = {f.name: f.default for f in dataclasses.fields(self)}["model"]
        if self.encoder_from:
            from .encoder_from import lm_encoder_settings
            lm = lm_encoder_settings(self.encoder_from)
            for key, flag in (("embed", "embed"), ("hidden", "hidden"), ("layers", "layers"), ("kind", "model")):
                ok = given[key] in (None, lm[key]) or (key == "kind" and given[key] == model_default)
                require(ok, f"--{flag} {given[key]} differs from --encoder-from's {lm[key]}",
                        f"leave --{flag} out: the shape comes from the language model")
            return {k: lm[k] for k in ("kind", "embed", "hidden", "layers")}
        shape = {k: v if v is not None else defaults[k] for k, v in given.items()}
        if self.embeddings:
            from ..models.pretrained import vectors_width
            width = vectors_width(self.embeddings)
            require(self.embed in (None, width), f"--embed {self.embed} differs from the width {width} of "
                    f"--embeddings", "leave --embed out")
            shape["embed"] = width
        return shape

    def start_encoder(self, encoder, tokens: list[str], tokenizer: str, say: Callable[[str], None],
                      key: Callable[[str], str] | None = None) -> None:
        """Fill a fresh models.encoder.Encoder from --encoder-from or --embeddings (nothing when neither is
        set). `key` maps a word of the run or the vectors file to the form the task's vocabulary holds
        (the tagger's normalise); an exact match wins over it."""
        if self.encoder_from:
            from .encoder_from import init_encoder_from
            init_encoder_from(encoder, tokens, tokenizer, self.encoder_from, say, key=key)
        if self.embeddings:
            from ..models.pretrained import load_pretrained
            load_pretrained(encoder.embed, tokens, self.embeddings, self.freeze_embeddings, say=say, key=key)
