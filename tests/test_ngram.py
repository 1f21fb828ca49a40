"""Kneser-Ney n-grams: hand-computed probabilities, a dict-based reference, proper distributions, files, CLI."""
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rnnlab.errors import RnnlabError
from rnnlab.ngram.level import estimate_discounts
from rnnlab.ngram.model import KneserNey

SHAKESPEARE = Path(__file__).resolve().parents[1] / "rnnlab" / "text" / "datasets" / "tiny_shakespeare.txt"


def ids(text: str, alphabet: str) -> np.ndarray:
    return np.array([alphabet.index(c) for c in text])


# ---------------------------------------------------------------- a brute-force reference with dicts

def reference_discounts(counts: Counter, modified: bool) -> dict:
    """D(c) for c = 1, 2, 3 (3 standing for 3+), written out from the count-of-counts."""
    n = Counter(min(c, 5) for c in counts.values() if c > 0)
    standard = n[1] / (n[1] + 2 * n[2]) if n[1] else 0.5
    d = {1: standard, 2: standard, 3: standard}
    if modified and n[1]:
        for r in (1, 2, 3):          # D(r) = r - (r + 1) Y n_{r+1} / n_r where defined and in (0, r)
            value = r - (r + 1) * standard * n[r + 1] / n[r] if n[r] else None
            if value is not None and 0 < value < r:
                d[r] = value
    return d


class ReferenceKN:
    """Interpolated Kneser-Ney straight from the definition, with tuples in Counters (small texts only)."""

    def __init__(self, tokens, V, order, modified=True, discount=None):
        t = [int(x) for x in tokens]
        grams = {k: Counter(tuple(t[i - k + 1:i + 1]) for i in range(k - 1, len(t))) for k in range(1, order + 1)}
        self.counts = {order: grams[order]}
        for k in range(1, order):            # N1+(. g): the distinct tokens seen right before g
            self.counts[k] = Counter(g[1:] for g in grams[k + 1])
        self.D = {k: reference_discounts(c, modified) if discount is None else {1: discount, 2: discount, 3: discount}
                  for k, c in self.counts.items()}
        self.V, self.order = V, order

    def p(self, w, context):
        h = tuple(context)[max(0, len(context) - self.order + 1):] if self.order > 1 else ()
        return self._p(w, tuple(h))

    def _p(self, w, h):
        k = len(h) + 1
        lower = self._p(w, h[1:]) if h else 1 / self.V
        c, D = self.counts[k], self.D[k]
        total = sum(c.get(h + (v,), 0) for v in range(self.V))
        if total == 0:
            return lower
        gamma = sum(D[min(c[h + (v,)], 3)] for v in range(self.V) if c.get(h + (v,), 0) > 0)
        cw = c.get(h + (w,), 0)
        return (max(cw - D[min(cw, 3)], 0) if cw else 0) / total + gamma * lower / total

    def logprob(self, tokens):
        tokens = [int(x) for x in tokens]
        return np.array([math.log(self.p(w, tokens[max(0, i - self.order + 1):i])) for i, w in enumerate(tokens)])


# ---------------------------------------------------------------- textbook numbers by hand

ABRA = "abcdrz"          # z never occurs: it lives on the uniform floor alone


def test_abracadabra_bigram_by_hand():
    """Standard interpolated KN, order 2, on "abracadabra" (V = 6, z unseen), every number by hand.

    bigrams: ab 2, br 2, ra 2, ac 1, ca 1, ad 1, da 1  -> n1 = 4, n2 = 3, D2 = 4 / (4 + 6) = 0.4
    continuation counts N1+(.w): a 3 (after r, c, d), b 1, c 1, d 1, r 1 (the first a has no predecessor),
    so n1 = 4, n2 = 0, D1 = 1, and with 7 bigram types and gamma_1 = 1 * 5 followers:
        P1(a) = (3 - 1 + 5 * 1/6) / 7 = 17/42,   P1(b) = P1(z) = (0 + 5/6) / 7 = 5/42
    b occurs twice as often as c but only ever after a: as a new continuation it is no likelier than c.
    """
    model = KneserNey.fit(ids("abracadabra", ABRA), 6, order=2, modified=False)
    assert model.levels[1].discounts[1] == pytest.approx(0.4) and model.levels[0].discounts[1] == 1.0
    P1 = {"a": 17 / 42, "b": 5 / 42, "c": 5 / 42, "d": 5 / 42, "r": 5 / 42, "z": 5 / 42}
    np.testing.assert_allclose(model.distribution([]), [P1[c] for c in ABRA], rtol=1e-12)
    # after a: ab 2, ac 1, ad 1 -> total 4, 3 followers, gamma = 3 * 0.4
    after_a = {c: (max({"b": 2, "c": 1, "d": 1}.get(c, 0) - 0.4, 0) + 1.2 * P1[c]) / 4 for c in ABRA}
    assert after_a["b"] == pytest.approx((1.6 + 1.2 * 5 / 42) / 4)
    np.testing.assert_allclose(model.distribution(ids("a", ABRA)), [after_a[c] for c in ABRA], rtol=1e-12)
    # after r: ra 2 -> (2 - 0.4 + 0.4 P1(a)) / 2;  after z (never seen as a context): P1 itself
    assert model.distribution(ids("r", ABRA))[0] == pytest.approx((1.6 + 0.4 * 17 / 42) / 2, rel=1e-12)
    np.testing.assert_allclose(model.distribution(ids("z", ABRA)), [P1[c] for c in ABRA], rtol=1e-12)
    # the first token of a text has no context: it is scored by P1
    lp = model.logprob(ids("abz", ABRA))
    np.testing.assert_allclose(lp, np.log([P1["a"], after_a["b"], 0.4 * P1["z"] / 2]), rtol=1e-12)


def test_abracadabra_trigram_by_hand():
    """Order 3: raw trigram counts abr 2, bra 2, rac aca cad ada dab 1 -> n1 = 5, n2 = 2, D3 = 5/9.
    The middle order's continuation counts are all 1 (D2 = 1), so P2(w | b) = P1(w):
        P3(r | ab) = (2 - 5/9 + 5/9 * P1(r)) / 2."""
    model = KneserNey.fit(ids("abracadabra", ABRA), 6, order=3, modified=False)
    assert model.levels[2].discounts[1] == pytest.approx(5 / 9) and model.levels[1].discounts[1] == 1.0
    assert math.exp(model.logprob(ids("abr", ABRA))[2]) == pytest.approx((2 - 5 / 9 + 5 / 9 * 5 / 42) / 2, rel=1e-12)


def test_modified_discounts_from_count_of_counts():
    """n1..n4 = 3, 2, 1, 2: Y = 3/7, D1 = 1 - 2Y n2/n1 = 3/7, D2 = 2 - 3Y n3/n2 = 19/14, and
    D3+ = 3 - 4Y n4/n3 = -3/7 is out of range, so it falls back to the standard D = Y."""
    d = estimate_discounts(np.array([1, 1, 1, 2, 2, 3, 4, 4]), modified=True)
    np.testing.assert_allclose(d, [0, 3 / 7, 19 / 14, 3 / 7], rtol=1e-12)
    np.testing.assert_allclose(estimate_discounts(np.array([2, 2, 3])), [0, 0.5, 0.5, 0.5])   # no singletons


# ---------------------------------------------------------------- the vectorised model equals the definition

def markov_text(n, V, seed):
    """A sticky random chain, so that n-grams repeat with all sorts of counts."""
    rng = np.random.default_rng(seed)
    out = [0]
    for _ in range(n - 1):
        out.append(out[-1] if rng.random() < 0.3 else int(rng.integers(V - 1)))   # V-1 never occurs
    return np.array(out)


@pytest.mark.parametrize("order", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("modified", [False, True])
def test_equals_the_dict_reference(order, modified):
    V = 5
    train, test = markov_text(400, V, order), markov_text(60, V, 100 + order)
    test[10:14] = [4, 4, 3, 4]                                 # unseen tokens and contexts
    model, ref = KneserNey.fit(train, V, order, modified=modified), ReferenceKN(train, V, order, modified)
    np.testing.assert_allclose(model.logprob(test), ref.logprob(test), rtol=0, atol=1e-12)
    for context in ([], [0], [4, 4], list(test[20:30])):
        np.testing.assert_allclose(model.distribution(context), [ref.p(w, context) for w in range(V)], atol=1e-12)


def test_equals_the_reference_on_shakespeare_and_with_a_fixed_discount():
    text = SHAKESPEARE.read_text()[:600]
    alphabet = sorted(set(text))
    train, test = ids(text[:500], alphabet), ids(text[500:], alphabet)
    for discount in (None, 0.75):
        model = KneserNey.fit(train, len(alphabet), 4, discount=discount)
        ref = ReferenceKN(train, len(alphabet), 4, discount=discount)
        np.testing.assert_allclose(model.logprob(test), ref.logprob(test), rtol=0, atol=1e-12)


def test_history_gives_the_first_tokens_their_context():
    train = markov_text(300, 4, 1)
    model = KneserNey.fit(train, 4, 3)
    whole = model.logprob(train[:50])
    np.testing.assert_allclose(model.logprob(train[20:50], history=train[:20]), whole[20:], atol=1e-15)


# ---------------------------------------------------------------- invariants

@pytest.mark.parametrize("order", [1, 2, 3, 5, 10])
@pytest.mark.parametrize("modified", [False, True])
def test_every_distribution_sums_to_one_and_nothing_is_impossible(order, modified):
    text = SHAKESPEARE.read_text()[:5000]
    alphabet = sorted(set(text)) + ["~"]                        # ~ is in the vocabulary but never in the text
    tokens = ids(text, alphabet)
    model = KneserNey.fit(tokens, len(alphabet), order, modified=modified)
    unseen = len(alphabet) - 1
    for context in ([], tokens[:1], tokens[100:120], tokens[-order:], [unseen], [unseen] * 12, tokens[[5, 900, 3]]):
        p = model.distribution(context)
        assert p.shape == (len(alphabet),) and p.min() > 0
        assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_unseen_contexts_back_off_to_the_order_below():
    """In "abracadabra" the context "ba" never occurs but "a" does: P3(. | b a) is the model's P2(. | a);
    z never occurs at all, so every context ending in z gets P1."""
    model = KneserNey.fit(ids("abracadabra", ABRA), 6, order=3, modified=False)
    np.testing.assert_array_equal(model.distribution(ids("ba", ABRA)), model.distribution(ids("a", ABRA)))
    np.testing.assert_array_equal(model.distribution(ids("zz", ABRA)), model.distribution([]))
    np.testing.assert_array_equal(model.distribution(ids("az", ABRA)), model.distribution([]))
    assert not np.allclose(model.distribution(ids("ab", ABRA)), model.distribution(ids("b", ABRA)))


def test_order_one_is_the_smoothed_unigram():
    tokens = markov_text(1000, 6, 2)
    c = np.bincount(tokens, minlength=6).astype(float)
    n1, n2 = np.sum(c == 1), np.sum(c == 2)
    D = n1 / (n1 + 2 * n2) if n1 else 0.5
    expected = (np.maximum(c - D, 0) * (c > 0) + D * np.sum(c > 0) / 6) / c.sum()
    np.testing.assert_allclose(KneserNey.fit(tokens, 6, 1, modified=False).distribution([5, 5]), expected, atol=1e-15)


def test_a_higher_order_is_never_worse_on_the_training_text():
    text = SHAKESPEARE.read_text()[:20000]
    alphabet = sorted(set(text))
    tokens = ids(text, alphabet)
    nats = [-KneserNey.fit(tokens, len(alphabet), order).logprob(tokens).mean() for order in range(1, 9)]
    assert all(b <= a for a, b in zip(nats, nats[1:])), nats


def test_save_and_load_round_trip(tmp_path):
    tokens = markov_text(800, 7, 5)
    model = KneserNey.fit(tokens, 7, 4)
    model.save(tmp_path / "m", {"note": "kept"})
    again = KneserNey.load(tmp_path / "m")
    assert again.config() == model.config()
    np.testing.assert_array_equal(again.logprob(tokens[::-1]), model.logprob(tokens[::-1]))
    assert json.loads((tmp_path / "m" / "config.json").read_text())["note"] == "kept"
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())          # no temporary left behind


def test_loading_refuses_foreign_and_damaged_files(tmp_path):
    model = KneserNey.fit(markov_text(300, 4, 6), 4, 3)
    model.save(tmp_path / "m")
    config = (tmp_path / "m" / "config.json").read_text()
    (tmp_path / "empty").mkdir()
    with pytest.raises(RnnlabError, match="not an n-gram run"):
        KneserNey.load(tmp_path / "empty")
    with pytest.raises(RnnlabError, match="no such n-gram run"):
        KneserNey.load(tmp_path / "missing")
    (tmp_path / "m" / "config.json").write_text(config.replace('"format_version": 1', '"format_version": 9'))
    with pytest.raises(RnnlabError, match="format 9"):
        KneserNey.load(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text("{not json")
    with pytest.raises(RnnlabError, match="damaged"):
        KneserNey.load(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text(config)
    arrays = dict(np.load(tmp_path / "m" / "ngram.npz"))
    np.savez(tmp_path / "m" / "ngram.npz", **{**arrays, "keys_2": arrays["keys_2"][::-1]})
    with pytest.raises(RnnlabError, match="out of order"):
        KneserNey.load(tmp_path / "m")
    data = (tmp_path / "m" / "ngram.npz").read_bytes()
    (tmp_path / "m" / "ngram.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(RnnlabError, match="cannot be read"):
        KneserNey.load(tmp_path / "m")


def test_samples_are_reproducible_and_in_the_vocabulary():
    tokens = markov_text(2000, 6, 7)
    model = KneserNey.fit(tokens, 6, 3)
    a = model.sample(200, prime=[1, 2], generator=np.random.default_rng(4))
    b = model.sample(200, prime=[1, 2], generator=np.random.default_rng(4))
    c = model.sample(200, prime=[1, 2], generator=np.random.default_rng(5))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() < 6
    cold = model.sample(1, prime=[1, 2], generator=np.random.default_rng(0), temperature=1e-3)
    assert cold[0] == np.argmax(model.distribution([1, 2]))
    draws = KneserNey.fit(tokens, 6, 1).sample(4000, generator=np.random.default_rng(1))
    expected = KneserNey.fit(tokens, 6, 1).distribution([])
    np.testing.assert_allclose(np.bincount(draws, minlength=6) / 4000, expected, atol=0.03)


def test_bad_arguments_are_refused():
    tokens = markov_text(100, 4, 8)
    for bad in (dict(order=0), dict(order=21), dict(order=3, discount=1.5), dict(order=3, discount=0.0)):
        with pytest.raises(RnnlabError):
            KneserNey.fit(tokens, 4, **bad)
    with pytest.raises(RnnlabError, match="lie in 0..3"):
        KneserNey.fit(tokens, 4, 2).logprob([1, 4])
    with pytest.raises(RnnlabError, match="temperature"):
        KneserNey.fit(tokens, 4, 2).generate(5, temperature=0)


# ---------------------------------------------------------------- the command line

def cli(capsys, *args):
    from rnnlab.cli import main
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_eval_sample(tmp_path, small_text, capsys):
    code, out, err = cli(capsys, "ngram", "train", "--data", small_text, "--order", 4, "--out", tmp_path / "ng",
                         "--json", "--no-progress")
    assert code == 0, err
    trained = json.loads(out)
    assert trained["n_chars"] == 6000 - 1 and trained["order"] == 4 and len(trained["ngrams"]) == 4
    assert trained["bits_per_char"] == pytest.approx(trained["nats_per_char"] / math.log(2))
    code, out, err = cli(capsys, "ngram", "eval", tmp_path / "ng", "--json")
    assert code == 0, err
    scored = json.loads(out)
    assert scored["nats_per_char"] == trained["nats_per_char"] and scored["n_chars"] == trained["n_chars"]
    code, out, _ = cli(capsys, "ngram", "eval", tmp_path / "ng", "--data", small_text)
    assert code == 0 and "(59,999 chars scored)" in out
    first = cli(capsys, "ngram", "sample", tmp_path / "ng", "-n", 80, "--seed", 3, "--prime", "ROMEO:")
    second = cli(capsys, "ngram", "sample", tmp_path / "ng", "-n", 80, "--seed", 3, "--prime", "ROMEO:")
    assert first == second and first[0] == 0 and first[1].startswith("ROMEO:") and len(first[1]) == 6 + 80 + 1


def test_word_runs_score_words(tmp_path, small_text, capsys):
    code, out, err = cli(capsys, "ngram", "train", "--data", small_text, "--tokenizer", "word", "--order", 3,
                         "--out", tmp_path / "w", "--json", "--kn", "standard")
    assert code == 0, err
    result = json.loads(out)
    assert "perplexity" in result and "n_words" in result and result["modified"] is False
    code, out, _ = cli(capsys, "ngram", "sample", tmp_path / "w", "-n", 20, "--seed", 1)
    assert code == 0 and len(out.split()) >= 10


def test_bad_input_is_one_line_and_exit_2(tmp_path, small_text, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    (tmp_path / "rnn" / "best").mkdir(parents=True)
    cli(capsys, "ngram", "train", "--data", small_text, "--order", 2, "--out", tmp_path / "ng", "--no-progress")
    cases = [
        (("train", "--order", 0, "--data", small_text, "--out", tmp_path / "a"), "--order must be from 1 to 20"),
        (("train", "--order", 21, "--data", small_text, "--out", tmp_path / "a"), "--order must be from 1 to 20"),
        (("train", "--data", tmp_path / "missing.txt", "--out", tmp_path / "a"), "no such data file"),
        (("train", "--data", empty, "--out", tmp_path / "a"), "is empty"),
        (("train", "--data", small_text, "--out", tmp_path / "full"), "is not empty"),
        (("train", "--data", small_text, "--out", tmp_path / "ng"), "already holds an n-gram run"),
        (("train", "--data", small_text, "--out", small_text / "sub"), "cannot be created"),
        (("train", "--data", small_text, "--discount", 2, "--out", tmp_path / "a"), "fixed discount"),
        (("eval", tmp_path / "full"), "is not an n-gram run"),
        (("eval", tmp_path / "rnn"), "recurrent run"),
        (("sample", tmp_path / "nowhere"), "no such n-gram run"),
        (("sample", tmp_path / "ng", "--prime", "caf\u00e9"), "never saw: '\u00e9'"),
        (("sample", tmp_path / "ng", "--temperature", 0), "temperature"),
        (("sample", tmp_path / "ng", "-n", 0), "-n must be"),
    ]
    for args, message in cases:
        code, out, err = cli(capsys, "ngram", *args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and not out, (args, err)
    assert not (tmp_path / "a").exists()


def test_help_does_not_import_torch():
    probe = ("import sys\nfrom rnnlab.cli import main\ntry:\n    main(['ngram', 'train', '--help'])\n"
             "except SystemExit:\n    pass\nprint('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
