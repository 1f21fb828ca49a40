"""rnnlab inspect: cell search, gate saturation, error analysis, report and export on a small trained run."""
import json
import re

import numpy as np
import pytest
import torch

from rnnlab import cli
from rnnlab.inspect.activations import Activations, collect
from rnnlab.inspect.cells import _Moments, find_cells, scan_cells
from rnnlab.inspect.commands import load_subject
from rnnlab.inspect.error_analysis import analyse, closing_pairs
from rnnlab.inspect.gates import saturation
from rnnlab.text.vocab import CharVocab

from .browser import chromium
from .conftest import SHAKESPEARE

TEXT = ('He said "go (now) [[Home]]" and {if (x) {y}} at http://a.b/c, $x^2$.\n  Indented line: "a (b (c) d) e".\n'
        * 12)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A 2x24 LSTM trained for a few steps on Shakespeare plus some text with quotes, brackets and URLs."""
    root = tmp_path_factory.mktemp("inspect")
    data = root / "data.txt"
    data.write_text(SHAKESPEARE.read_text()[:30000] + TEXT * 20)
    code = cli.main(["train", "--data", str(data), "--hidden", "24", "--layers", "2", "--batch-size", "8",
                     "--seq-len", "32", "--max-steps", "20", "--sample-chars", "0", "--out", str(root / "run"),
                     "--no-progress"])
    assert code == 0
    (root / "text.txt").write_text(TEXT)
    return root


def test_moments_give_pearson_correlations():
    rng = np.random.default_rng(0)
    x, feats = rng.normal(size=(200, 5)), rng.integers(0, 2, size=(200, 3)).astype(float)
    m = _Moments()
    m.add(x[:70], feats[:70])
    m.add(x[70:], feats[70:])                         # chunked sums give the correlation of the whole
    expected = np.corrcoef(x.T, feats.T)[:5, 5:]
    np.testing.assert_allclose(m.correlation(feats), expected, atol=1e-10)


def test_find_cells_finds_a_planted_unit():
    text = ("abc de\nfghij\n" * 30)[:300]
    vocab = CharVocab.fit(text)
    tokens = vocab.encode(text).astype(np.int64)
    rng = np.random.default_rng(1)
    h = rng.normal(size=(2, len(text), 8)).astype(np.float32)
    pos = np.zeros(len(text), np.float32)
    col = 0
    for t, ch in enumerate(text):
        pos[t], col = col, (0 if ch == "\n" else col + 1)
    h[1, :, 5] = -0.1 * pos + 0.01 * rng.normal(size=len(text))      # layer 2, unit 5 counts the column, negated
    acts = Activations(start=0, tokens=tokens, h=h, c=None)
    found = {m.feature: m for m in find_cells(acts, text, np.arange(len(text)))}
    best = found["position in line"]
    assert (best.layer, best.kind, best.unit) == (1, "h", 5) and best.correlation < -0.99
    assert pos[best.position] == pos.max()                                 # fires most (most negative) at the longest column
    assert "inside double quotes" not in found                      # no quotes in this text: left out


def test_streamed_search_equals_the_in_memory_one(run_dir):
    s = load_subject(str(run_dir / "run"), str(run_dir / "text.txt"), 10_000)
    streamed = scan_cells(s.model, s.text, s.tokens, s.offsets, top=2, chunk=100)
    whole = find_cells(collect(s.model, s.tokens), s.text, s.offsets, top=2)
    assert [(m.feature, m.layer, m.kind, m.unit) for m in streamed] == [(m.feature, m.layer, m.kind, m.unit)
                                                                         for m in whole]
    np.testing.assert_allclose([m.correlation for m in streamed], [m.correlation for m in whole], atol=1e-3)
    assert {"inside double quotes", "inside parentheses", "inside a URL", "bracket depth"} <= {m.feature for m in whole}


def test_gate_saturation_counts_positions(run_dir):
    s = load_subject(str(run_dir / "run"), str(run_dir / "text.txt"), 10_000)
    stats = saturation(s.model, s.tokens, chunk=333)
    acts = collect(s.model, s.tokens)
    assert set(stats) == {"i", "f", "o"}                            # g is tanh, not a gate that saturates at 0/1
    np.testing.assert_allclose(stats["f"]["left"], (acts.gates["f"] < 0.1).mean(axis=1))
    np.testing.assert_allclose(stats["o"]["right"], (acts.gates["o"] > 0.9).mean(axis=1))


def test_closing_pairs_measure_the_distance_to_the_opener():
    text = 'a(bc)d"ef"[g(h)]'
    vocab = CharVocab.fit(text)
    tokens = vocab.encode(text).astype(np.int64)
    pairs = closing_pairs(text, tokens, np.arange(len(text)), vocab)
    assert [(t, d, ch) for t, d, ch in pairs] == [(4, 3, ")"), (9, 3, '"'), (14, 2, ")"), (15, 5, "]")]


def test_error_analysis_scores_the_same_predictions(run_dir):
    from rnnlab.ngram.model import KneserNey
    from rnnlab.runs import _training_corpus
    s = load_subject(str(run_dir / "run"), str(run_dir / "text.txt"), 10_000)
    result = analyse(s, [2, 5])
    model = s.model.eval()
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(s.tokens)[None])
    logp = torch.log_softmax(logits[0, :-1], -1)[torch.arange(len(s.tokens) - 1), torch.from_numpy(s.tokens[1:])]
    assert result["run_bits_per_char"] == pytest.approx(float(-logp.mean()) / np.log(2), abs=1e-4)
    train = _training_corpus(s.ckpt, s.ckpt.train_cfg.data, "").train
    five = KneserNey.fit(train, s.model.cfg.vocab_size, 5).logprob(s.tokens)[1:]
    assert result["ngram_bits_per_char"]["5"] == pytest.approx(float(-five.mean() / np.log(2)), abs=1e-4)
    assert result["closing"]["n"] > 100 and set(result["closing"]) >= {"run", "2", "5"}
    n_by_class = sum(v["n"] for v in result["by_class"].values())
    assert n_by_class == result["predictions"] == len(s.tokens) - 1
    assert len(result["wins"]) == 5 and result["wins"][0]["bits_gained"] >= result["losses"][0]["bits_gained"]


def test_the_default_text_starts_at_a_paragraph():
    """The validation split starts mid-text, maybe inside $...$: a feature with parity would flip everywhere."""
    from rnnlab.inspect.commands import paragraph_start
    from rnnlab.inspect.features import inside_math
    text = "a$ and more.\n\nWe have $x$ here."
    assert paragraph_start(text) == "We have $x$ here."
    assert inside_math(paragraph_start(text))[9] == 1                      # the x is inside
    assert paragraph_start("no break at all") == "no break at all"


def test_commands_write_their_files(run_dir, tmp_path, capsys):
    run, text = str(run_dir / "run"), str(run_dir / "text.txt")
    assert cli.main(["inspect", "cells", run, "--text", text, "--json", "--no-progress",
                     "--feature", "said=said"]) == 0
    rows = json.loads(capsys.readouterr().out)["features"]
    assert {"feature", "layer", "unit", "kind", "correlation", "snippet"} <= set(rows[0])
    assert "said" in {r["feature"] for r in rows} and all(1 <= r["layer"] <= 2 for r in rows)
    assert cli.main(["inspect", "gates", run, "--text", text, "--out", str(tmp_path / "g"), "--no-progress"]) == 0
    assert "f gate, layer 2" in capsys.readouterr().out and (tmp_path / "g" / "gates.png").stat().st_size > 10_000
    assert len(json.loads((tmp_path / "g" / "gates.json").read_text())["gates"]["f"]) == 2
    assert cli.main(["inspect", "errors", run, "--text", text, "--orders", "2,3", "--out", str(tmp_path / "e"),
                     "--json", "--no-progress"]) == 0
    errors = json.loads(capsys.readouterr().out)
    assert set(errors["ngram_bits_per_char"]) == {"2", "3"} and (tmp_path / "e" / "errors.png").exists()
    assert cli.main(["inspect", "export", run, "--text", text, "--out", str(tmp_path / "a.npz")]) == 0
    saved = np.load(tmp_path / "a.npz")
    assert saved["h"].shape[:2] == (2, len(TEXT)) and saved["gate_f"].shape == saved["c"].shape


def test_report_is_one_self_contained_page(run_dir, tmp_path):
    out = tmp_path / "report.html"
    assert cli.main(["inspect", "report", str(run_dir / "run"), "--text", str(run_dir / "text.txt"), "--out",
                     str(out), "--unit", "2:c:3", "--report-chars", "300", "--orders", "2", "--no-progress"]) == 0
    page = out.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)      # nothing fetched from the network
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))
    assert len(data["pieces"]) == 300 and "".join(data["pieces"]) == TEXT[:300]
    assert data["units"]["chosen"]["label"] == "layer 2 c unit 3" and len(data["top"][0]) == 5
    coloured = re.search(r'<div id="text">(.*?)</div>', page, re.S).group(1)
    assert coloured.count("<span>") == 300 and page.count("data:image/png;base64,") == 2


def test_report_in_a_headless_browser(run_dir, tmp_path):
    """The page colours every piece, switches units from its menu and shows the top-5 under the pointer."""
    out = tmp_path / "report.html"
    assert cli.main(["inspect", "report", str(run_dir / "run"), "--text", str(run_dir / "text.txt"), "--out",
                     str(out), "--report-chars", "200", "--orders", "2", "--no-progress"]) == 0
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    page = chromium()
    try:
        page.get(out.as_uri())
        colours = "return [...document.querySelectorAll('#text span')].map(s => s.style.backgroundColor)"
        first = page.execute_script(colours)
        assert len(first) == 200 and all(c.startswith("rgb") for c in first) and len(set(first)) > 5
        menu = Select(page.find_element(By.ID, "unit"))
        assert len(menu.options) >= 3
        menu.select_by_index(len(menu.options) - 1)
        assert page.execute_script(colours) != first
        ActionChains(page).move_to_element(page.find_elements(By.CSS_SELECTOR, "#text span")[5]).perform()
        tip = page.find_element(By.ID, "tip")
        assert tip.is_displayed() and len(tip.text.splitlines()) == 6 and "%" in tip.text
        page.save_screenshot(str(tmp_path / "report.png"))
    finally:
        page.quit()


def test_lstmvis_export(run_dir, tmp_path):
    h5py = pytest.importorskip("h5py")
    out = tmp_path / "lstmvis"
    assert cli.main(["inspect", "export", str(run_dir / "run"), "--text", str(run_dir / "text.txt"), "--out",
                     str(out), "--format", "lstmvis"]) == 0
    with h5py.File(out / "states.hdf5") as f:
        assert f["states2"].shape == (len(TEXT), 24) and f["output1"].shape == (len(TEXT), 24)
    with h5py.File(out / "train.hdf5") as f:
        assert f["word_ids"][0] >= 1
    assert "path: word_ids" in (out / "lstm.yml").read_text() and len((out / "words.dict").read_text().split("\n")) > 10


@pytest.mark.parametrize("argv, message", [
    (["cells", "RUN", "--text", "nope.txt"], "no such text file"),
    (["cells", "RUN", "--text", "BIN"], "not valid UTF-8"),
    (["cells", "RUN", "--text", "ODD"], "never saw"),
    (["cells", "RUN", "--feature", "x=("], "not a regular expression"),
    (["cells", "RUN", "--max-chars", "0"], "--max-chars must be positive"),
    (["errors", "RUN", "--orders", "0,5"], "orders go from 1 to 20"),
    (["errors", "RUN", "--orders", "two"], "not a list of numbers"),
    (["report", "RUN", "--out", "r.html", "--unit", "3:h:0"], "layers 1..2"),
    (["report", "RUN", "--out", "r.html", "--unit", "1:x:0"], "LAYER:KIND:UNIT"),
    (["report", "RUN", "--out", "r.txt"], "not an .html file"),
    (["cells", "NOTARUN"], ""),
])
def test_bad_input_is_one_line_and_exit_2(run_dir, tmp_path, capsys, argv, message):
    (tmp_path / "bin.txt").write_bytes(b"ab\xff\xfe")
    (tmp_path / "odd.txt").write_text("caf\u00e9 \u2603")
    swap = {"RUN": str(run_dir / "run"), "BIN": str(tmp_path / "bin.txt"), "ODD": str(tmp_path / "odd.txt"),
            "NOTARUN": str(tmp_path), "r.html": str(tmp_path / "r.html"), "r.txt": str(tmp_path / "r.txt")}
    assert cli.main(["inspect"] + [swap.get(a, a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
