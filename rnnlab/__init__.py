"""rnnlab: recurrent sequence models (RNN, LSTM, GRU) for text: train, sample, evaluate, look inside."""
__version__ = "0.1.0"

from .config import ModelConfig, SampleConfig, TrainConfig  # noqa: E402
from .errors import RnnlabError  # noqa: E402
from .evaluation import Score, evaluate  # noqa: E402
from .generate import generate  # noqa: E402
from .models.language_model import LanguageModel  # noqa: E402
from .runs import evaluate_run, load_run, resume, sample, sample_text, train  # noqa: E402
from .text.corpus import load_corpus  # noqa: E402
from .text.vocab import ByteVocab, CharVocab, WordVocab  # noqa: E402

__all__ = [
    "ModelConfig", "TrainConfig", "SampleConfig", "RnnlabError", "LanguageModel", "Score",
    "train", "resume", "load_run", "sample", "sample_text", "evaluate", "evaluate_run", "generate",
    "load_corpus", "CharVocab", "ByteVocab", "WordVocab", "__version__",
]
