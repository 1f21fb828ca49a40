"""Vocabularies, corpus loading and the TBPTT stream."""
import numpy as np
import pytest

from rnnlab.errors import RnnlabError
from rnnlab.text.corpus import load_corpus
from rnnlab.text.stream import TokenStream
from rnnlab.text.vocab import ByteVocab, CharVocab, WordVocab, vocab_from_dict

from .conftest import SHAKESPEARE


def test_char_vocab_roundtrip_unicode_and_compact_dtype():
    text = "naïve café — 東京 😀\n"
    v = CharVocab.fit(text)
    assert v.size == len(set(text))
    assert v.chars == sorted(set(text))
    ids = v.encode(text)
    assert ids.dtype == np.uint8
    assert v.decode(ids) == text
    assert vocab_from_dict(v.to_dict()).decode(ids) == text


def test_char_vocab_names_unknown_characters():
    v = CharVocab.fit("abc")
    with pytest.raises(RnnlabError, match="'§'"):
        v.encode("ab§")


def test_byte_vocab_reads_any_bytes_and_streams_utf8():
    v = ByteVocab()
    data = "é€".encode("utf-8") + b"\xff"
    ids = v.encode(data)
    assert list(ids) == list(data)
    step = v.decoder()
    assert "".join(step(i) for i in ids) == "é€\ufffd"


def test_word_vocab_min_count_unk_and_spacing():
    text = "the cat sat .\nthe dog , the cat !\n"
    v = WordVocab.fit(text, min_count=2)
    assert "<unk>" in v.words and "dog" not in v.words and "the" in v.words
    ids = v.encode("the dog sat")
    assert v.words[ids[1]] == "<unk>"
    full = WordVocab.fit(text + "the cat, the cat!\n")
    assert full.decode(full.encode("the cat, the cat!\nthe")) == "the cat, the cat!\nthe"


def test_bundled_shakespeare_split_is_nanogpt_90_10():
    c = load_corpus("tiny_shakespeare")
    assert len(c.train) == 1_003_854 and len(c.val) == 111_540
    assert c.vocab.size == 65 and c.train.dtype == np.uint8
    assert c.fingerprint == "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
    assert c.vocab.decode(c.train[:14]) == SHAKESPEARE.read_text()[:14]


def test_bad_data_files(tmp_path):
    with pytest.raises(RnnlabError, match="no such data file"):
        load_corpus(str(tmp_path / "nope.txt"))
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(RnnlabError, match="empty"):
        load_corpus(str(tmp_path / "empty.txt"))
    (tmp_path / "latin1.txt").write_bytes("café\n".encode("latin-1") * 50)
    with pytest.raises(RnnlabError, match="--tokenizer byte"):
        load_corpus(str(tmp_path / "latin1.txt"))
    c = load_corpus(str(tmp_path / "latin1.txt"), tokenizer="byte")
    assert c.vocab.size == 256 and len(c.train) + len(c.val) == 250


def test_stream_chunks_continue_each_row_and_targets_shift():
    tokens = np.arange(103, dtype=np.int32)
    s = TokenStream(tokens, batch_size=2, seq_len=10)   # rows of 51: 0..50 and 51..101
    assert s.chunks_per_epoch == 5
    x0, y0 = s.batch(0, "cpu")
    x1, _ = s.batch(1, "cpu")
    assert x0[0].tolist() == list(range(10)) and x0[1, 0] == 51
    assert (y0 == x0 + 1).all()
    assert x1[0, 0] == 10                                # row 0 continues where chunk 0 stopped
    assert s.starts_epoch(5) and not s.starts_epoch(4)
    assert s.batch(5, "cpu")[0].tolist() == x0.tolist()  # wraps


def test_stream_refuses_too_short_corpus():
    with pytest.raises(RnnlabError, match="corpus too short"):
        TokenStream(np.zeros(100, dtype=np.uint8), batch_size=64, seq_len=100)
