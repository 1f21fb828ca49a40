"""The CoNLL reader: tab or space columns, blank or whitespace-only separators, errors with line numbers."""
import pytest

from rnnlab.errors import RnnlabError
from rnnlab.text.conll import parse_conll, read_conll, resolve_splits


def test_tab_and_space_columns_and_separators():
    text = "-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\t\nGood\tO\nTaylor\tB-person\n\n\n"
    d = parse_conll(text)
    assert d.tokens == [["EU", "rejects"], ["Good", "Taylor"]]
    assert d.tags == [["B-ORG", "O"], ["O", "B-person"]]
    assert len(d) == 2 and d.n_tokens == 4 and d.tag_set() == {"B-ORG", "O", "B-person"}


def test_line_without_a_tag_names_the_line(tmp_path):
    with pytest.raises(RnnlabError, match="line 3: 'oops' has no tag"):
        parse_conll("a\tO\n\noops\nb\tO\n", "x.conll")
    with pytest.raises(RnnlabError, match="has no tag"):
        parse_conll("a\t\n")
    (tmp_path / "empty.conll").write_text("\n\n")
    with pytest.raises(RnnlabError, match="is empty"):
        read_conll(tmp_path / "empty.conll")
    with pytest.raises(RnnlabError, match="no such file"):
        read_conll(tmp_path / "missing.conll")
    (tmp_path / "latin.conll").write_bytes(b"a\tO\ncaf\xe9\tO\n")
    with pytest.raises(RnnlabError, match="line 2 is not UTF-8"):
        read_conll(tmp_path / "latin.conll")


def test_named_corpus_and_files():
    assert resolve_splits("a.conll", "b.conll") == {"train": "a.conll", "val": "b.conll"}
    try:
        splits = resolve_splits("wnut17")
    except RnnlabError:
        pytest.skip("the shared WNUT-17 folder is not here")
    assert set(splits) == {"train", "val", "test"}
    train = read_conll(splits["train"])
    assert (len(train), train.n_tokens) == (3394, 62730)    # SOURCE.md's counts
