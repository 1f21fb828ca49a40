"""Character features of rnnlab.inspect.features, on hand-made texts."""
import numpy as np
import pytest

from rnnlab.errors import RnnlabError
from rnnlab.inspect import features as f


def on(values):
    return "".join("1" if v else "0" for v in values)


def test_inside_delimiters_excludes_the_delimiters():
    assert on(f.inside_quotes('a "bc" d "e')) == "00011000001"
    assert on(f.BUILTIN["inside parentheses"]("f(a(b)c)d")) == "001111100"
    assert on(f.inside_double_brackets("x [[ab]] [c]")) == "000011000000"
    assert on(f.inside_math(r"a $x+y$ \$ $$z$$")) == "0001110000000100"
    assert on(f.inside_c_comment("a /* b */ c // d\ne")) == "000011100000001100"


def test_depth_position_and_indentation_count():
    assert list(f.bracket_depth("a(b[c]d)e")) == [0, 0, 1, 1, 2, 1, 1, 0, 0]
    assert list(f.BUILTIN["brace depth"]("{a(b{c}d)}")) == [0, 1, 1, 1, 1, 2, 1, 1, 1, 0]
    assert list(f.position_in_line("ab\ncd")) == [0, 1, 2, 0, 1]
    assert list(f.indentation("x\n  y\n\tz")) == [0, 0, 2, 2, 2, 2, 4, 4]


def test_url_if_block_word_starts_newlines_vowels():
    text = "see http://a.b/c ok"
    assert on(f.inside_url(text)) == "0000" + "1" * 12 + "000"
    code = "if (x) { y; { z; } } w { v; }"
    inside = f.inside_if_block(code)
    assert inside[code.index("y")] == 1 and inside[code.index("z")] == 1
    assert inside[code.index("w")] == 0 and inside[code.index("v")] == 0     # a block that is not an if's
    assert on(f.start_of_word("ab cd,e1")) == "10010010"
    assert on(f.after_newline("a\nb\n\nc")) == "001011"[:6]
    assert on(f.vowel("bAnE")) == "0101"


def test_user_features_are_regex_matches():
    name, fn = f.parse_feature("digits=[0-9]+")
    assert name == "digits" and on(fn("a12b3")) == "01101"
    assert "digits" in f.compute("a1", ["digits=[0-9]+"])
    for bad in ["noequals", "=x", "x=("]:
        with pytest.raises(RnnlabError):
            f.parse_feature(bad)


def test_every_feature_has_one_value_per_character():
    text = 'He said "x(1)" {if (a) {b}} [[w]] $m$ https://x.y\n  z'
    for name, values in f.compute(text).items():
        assert values.shape == (len(text),) and values.dtype == np.float32, name
