"""`rnnlab serve`: LSTMVis's match, the JSON endpoints, the streamed continuation, bad input (always a 4xx JSON
answer, never a 500 or a hang), several clients at once, the command, and the page in a real browser."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from rnnlab import cli
from rnnlab.errors import RnnlabError
from rnnlab.inspect.activations import collect, tokenize
from rnnlab.inspect.match import match, units_on
from rnnlab.runs import load_run
from rnnlab.serve import explorer as explorer_module
from rnnlab.serve.app import ExplorerServer, Handler
from rnnlab.serve.explorer import Explorer, cut

from .browser import chromium

from .conftest import SHAKESPEARE, run_cli

TEXT = "ROMEO:\nBut, soft! what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n"
MAX_CHARS, MAX_LENGTH = 500, 300
TIMEOUT = 20


# -- LSTMVis's match on hand-made activations ---------------------------------------------------------------
def _pattern():
    """(12, 4): units 0 and 1 on at 1-2 (the selection), 5-6 and 9-10; unit 2 also on at 9-10; unit 3 at 5."""
    v = np.zeros((12, 4))
    v[[1, 2, 5, 6, 9, 10], 0] = v[[1, 2, 5, 6, 9, 10], 1] = 0.9
    v[[9, 10], 2] = 0.8
    v[5, 3] = 0.5
    return v


def test_units_on_are_above_threshold_over_the_whole_span():
    v = _pattern()
    assert units_on(v, 1, 3, 0.3).tolist() == [0, 1]
    assert units_on(v, 4, 7, 0.3).tolist() == []                 # off at 4
    assert units_on(v, 5, 6, 0.4).tolist() == [0, 1, 3]


def test_match_ranks_spans_with_the_same_units_on_and_fewest_extra():
    found = match(_pattern(), 1, 3, threshold=0.3)
    assert found.units.tolist() == [0, 1]
    spans = [(s.start, s.end, s.shared, s.extra) for s in found.spans]
    assert spans == [(5, 7, 2, 0), (9, 11, 2, 1)]                # 5-6: unit 3 is on at 5 only; 9-10: unit 2 extra
    assert all(not (s.start < 3 and 1 < s.end) for s in found.spans)   # the selection itself is left out


def test_match_with_no_unit_on_and_bad_spans():
    v = _pattern()
    assert match(v, 3, 5, threshold=0.3).units.size == 0 and match(v, 3, 5).spans == []
    loose = match(np.where(np.arange(4) == 1, 0.0, v), 1, 3, threshold=0.3, min_share=0.5)   # unit 1 off: S = {0}
    assert loose.units.tolist() == [0]
    for start, end in [(3, 3), (-1, 2), (5, 13)]:
        with pytest.raises(RnnlabError, match="not a span"):
            match(v, start, end)


def test_cut_groups_the_bytes_of_a_character_into_one_piece():
    text = "aé b"
    pieces, last = cut(text, np.array([0, 1, 1, 2, 3]))         # byte tokens: é is two bytes
    assert pieces == ["a", "é", " ", "b"] and last.tolist() == [0, 2, 3, 4]
    pieces, last = cut("  to be", np.array([2, 5]))            # words: leading spaces join the first piece
    assert pieces == ["  to ", "be"] and last.tolist() == [0, 1]


# -- a tiny run and a server over it ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    data = root / "small.txt"
    data.write_text(SHAKESPEARE.read_text()[:60000])
    out = root / "run"
    code = cli.main(["train", "--data", str(data), "--hidden", "16", "--layers", "1", "--batch-size", "4",
                     "--seq-len", "16", "--max-steps", "4", "--sample-chars", "0", "--no-progress",
                     "--seed", "1", "--out", str(out)])
    assert code == 0
    return out


def _serve(run, **limits):
    server = ExplorerServer(Explorer(load_run(run, device="cpu"), **limits), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def server(run_dir):
    server, thread = _serve(run_dir, max_chars=MAX_CHARS, max_length=MAX_LENGTH)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(TIMEOUT)


def request(server, path, body=None, raw: bytes | None = None):
    """(status, parsed JSON) of a GET (body None) or a POST of body as JSON (or raw bytes)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def events(server, post=False, **query):
    """The Server-Sent Events of GET (or POST) /api/generate as (name, data) pairs, read as they arrive."""
    req = urllib.request.Request(server.url + "api/generate", data=json.dumps(query).encode()) if post else \
        urllib.request.Request(server.url + "api/generate?" + urllib.parse.urlencode(query))
    with urllib.request.urlopen(req, timeout=TIMEOUT) as res:
        assert res.headers["Content-Type"].startswith("text/event-stream")
        name = "message"
        for line in res:
            line = line.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                yield name, json.loads(line[6:])
                name = "message"


def generated(server, post=False, **query) -> tuple[str, list]:
    pieces, names = [], []
    for name, data in events(server, post, **query):
        names.append(name)
        if name == "message":
            pieces.append(data["text"])
    return "".join(pieces), names


# -- the endpoints ---------------------------------------------------------------------------------------
def test_page_and_its_files(server):
    with urllib.request.urlopen(server.url, timeout=TIMEOUT) as res:
        page = res.read().decode()
    assert res.status == 200 and "/static/explorer.js" in page and "http" not in page.replace("http-equiv", "")
    for name in ("explorer.js", "explorer.css"):
        with urllib.request.urlopen(server.url + "static/" + name, timeout=TIMEOUT) as res:
            assert res.status == 200 and len(res.read()) > 1000
    assert request(server, "/static/../app.py")[0] == 404
    status, info = request(server, "/api/info")
    assert status == 200 and info["model"] == "lstm" and info["kinds"] == ["h", "c", "i", "f", "g", "o"]
    assert info["layers"] == 1 and info["hidden"] == 16 and info["max_chars"] == MAX_CHARS
    assert len(info["labels"]) == info["vocab_size"] and "\n" in info["labels"]


def test_analyze_gives_the_units_values_and_top5_of_every_character(server, run_dir):
    status, got = request(server, "/api/analyze", {"text": TEXT, "layer": 0, "kind": "h", "unit": 3})
    assert status == 200 and "".join(got["pieces"]) == TEXT and len(got["pieces"]) == len(TEXT)
    ckpt = load_run(run_dir, device="cpu")
    tokens, _ = tokenize(ckpt.vocab, TEXT)
    acts = collect(ckpt.model, tokens, k=5)
    np.testing.assert_allclose(got["values"], acts.h[0, :, 3], atol=1e-4)
    np.testing.assert_array_equal(got["top_ids"], acts.top_ids)
    probs = np.array(got["top_probs"])
    assert probs.shape == (len(TEXT), 5) and (np.diff(probs, axis=1) <= 1e-4).all() and probs.sum(1).max() <= 1.001
    assert got["range"] == [-1.0, 1.0] and got["unknown"] == []
    status, unit = request(server, "/api/unit", {"text": TEXT, "layer": 0, "kind": "c", "unit": 5})
    np.testing.assert_allclose(unit["values"], acts.c[0, :, 5], atol=1e-4)
    assert unit["range"][0] == -unit["range"][1] == pytest.approx(-np.abs(acts.c[0, :, 5]).max(), abs=1e-4)
    assert request(server, "/api/unit", {"text": TEXT, "layer": 0, "kind": "f", "unit": 0})[1]["range"] == [0, 1]


def test_match_endpoint_is_lstmvis_match_over_the_characters(server, run_dir):
    ckpt = load_run(run_dir, device="cpu")
    h = collect(ckpt.model, tokenize(ckpt.vocab, TEXT)[0]).h[0]
    status, got = request(server, "/api/match", {"text": TEXT, "layer": 0, "kind": "h", "start": 8, "end": 11,
                                                  "threshold": 0.1})
    want = match(h, 8, 11, threshold=0.1)
    assert status == 200 and got["units"] == want.units.tolist()
    assert [(s["start"], s["end"], s["score"]) for s in got["spans"]] == [(s.start, s.end, s.score) for s in want.spans]
    assert all(s["text"] == TEXT[s["start"]:s["end"]] for s in got["spans"])
    status, none = request(server, "/api/match", {"text": TEXT, "layer": 0, "kind": "f", "start": 0, "end": 40,
                                                   "threshold": 0.999})
    assert status == 200 and none["units"] == [] and "lower the threshold" in none["note"]


def test_search_finds_a_unit_per_feature(server):
    status, got = request(server, "/api/search", {"text": TEXT})
    assert status == 200 and got["cells"]
    for cell in got["cells"]:
        assert cell["layer"] == 0 and cell["kind"] in ("h", "c") and 0 <= cell["unit"] < 16
        assert -1 <= cell["correlation"] <= 1 and TEXT[cell["piece"]:].startswith(TEXT[cell["position"]:][:1])


def test_generate_streams_the_prime_then_the_continuation(server):
    text, names = generated(server, prime="ROMEO:", length=40, temperature=0.8, seed=3)
    assert names[0] == "message" and names[-1] == "done" and names.count("message") == 41
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 40
    assert generated(server, prime="ROMEO:", length=40, temperature=0.8, seed=3)[0] == text   # seeded
    assert generated(server, post=True, prime="ROMEO:", length=40, temperature=0.8, seed=3)[0] == text
    assert len(generated(server, length=5)[0]) == 5                                          # no prime


def test_a_client_that_goes_away_stops_its_generation(server, monkeypatch):
    steps = []
    real = explorer_module.sample

    def counting(*args, **kwargs):
        for piece in real(*args, **kwargs):
            steps.append(piece)
            yield piece
    monkeypatch.setattr(explorer_module, "sample", counting)
    stream = events(server, prime="A", length=MAX_LENGTH, temperature=1.0)
    next(stream), next(stream)
    stream.close()                                                   # the client disconnects
    time.sleep(1.0)
    done = len(steps)
    time.sleep(0.5)
    assert len(steps) == done < MAX_LENGTH + 1                      # it stopped, long before the end
    assert request(server, "/api/info")[0] == 200


BAD_POSTS = [
    ("/api/analyze", {"text": "a" * (MAX_CHARS + 1)}, 400, "more than the limit of 500"),
    ("/api/analyze", {"text": "hello é"}, 400, "characters the model never saw: 'é'"),
    ("/api/analyze", {"text": ""}, 400, "the text is empty"),
    ("/api/analyze", {}, 400, "text is missing"),
    ("/api/analyze", {"text": 12}, 400, "text must be text"),
    ("/api/analyze", {"text": "hi", "unit": 16}, 400, "unit must be between 0 and 15"),
    ("/api/analyze", {"text": "hi", "unit": True}, 400, "unit must be a whole number"),
    ("/api/analyze", {"text": "hi", "layer": "abc"}, 400, "layer must be a whole number"),
    ("/api/analyze", {"text": "hi", "kind": "q"}, 400, "kind must be one of h, c, i, f, g, o"),
    ("/api/unit", {"text": "hi", "kind": "h", "unit": 0}, 400, "layer is missing"),
    ("/api/match", {"text": "hello", "layer": 0, "kind": "h", "start": 3, "end": 3}, 400, "not within"),
    ("/api/match", {"text": "hello", "layer": 0, "kind": "h", "start": 0, "end": 9}, 400, "not within"),
    ("/api/match", {"text": "hello", "layer": 0, "kind": "h", "start": 0, "end": 2, "threshold": "abc"}, 400,
     "threshold must be a number"),
    ("/api/search", {"text": "é"}, 400, "never saw"),
    ("/api/nothing", {"text": "hi"}, 404, "no such page or endpoint"),
]


@pytest.mark.parametrize("path, body, status, needle", BAD_POSTS)
def test_bad_requests_get_a_4xx_json_error_naming_the_problem(server, path, body, status, needle):
    code, got = request(server, path, body)
    assert code == status and needle in got["error"] and got["hint"]
    if "never saw" in needle:
        assert got["unknown"] == ["é"]


@pytest.mark.parametrize("raw, needle", [(b"not json", "not JSON"), (b"[1, 2]", "must be a JSON object"),
                                         (b"\xff\xfe", "not JSON"), (b'{"text": "hi", "unit": NaN}', "whole number"),
                                         (b'{"text": "hi", "unit": 1' + b"0" * 5000 + b"}", "not JSON")])
def test_bodies_that_are_not_a_json_object(server, raw, needle):
    code, got = request(server, "/api/analyze", raw=raw)
    assert code == 400 and needle in got["error"]


@pytest.mark.parametrize("query, needle", [
    ({"temperature": "0"}, "temperature must be above 0"), ({"temperature": "-1"}, "temperature must be above 0"),
    ({"temperature": "abc"}, "temperature must be a number"), ({"temperature": "nan"}, "finite number"),
    ({"temperature": "inf"}, "finite number"), ({"length": "0"}, "length must be"),
    ({"length": str(MAX_LENGTH + 1)}, "length must be between 1 and 300"), ({"length": "2.5"}, "whole number"),
    ({"seed": "-1"}, "seed must be between"), ({"prime": "é"}, "the prime has characters the model never saw: 'é'"),
    ({"prime": "a" * (MAX_CHARS + 1)}, "the prime has 501 characters"),
])
def test_bad_generation_settings_are_refused_before_streaming(server, query, needle):
    code, got = request(server, "/api/generate?" + urllib.parse.urlencode(query))
    assert code == 400 and needle in got["error"], got
    code, got = request(server, "/api/generate", query)
    assert code == 400 and needle in got["error"], got


def test_oversized_bodies_missing_lengths_and_stalled_clients(server, monkeypatch):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    conn.request("POST", "/api/analyze", body=b"x" * (12 * MAX_CHARS + 5000))
    res = conn.getresponse()
    assert res.status == 413 and "more than" in json.loads(res.read())["error"]
    conn.close()
    with socket.create_connection((host, port), timeout=TIMEOUT) as raw:
        raw.sendall(b"POST /api/analyze HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = raw.makefile("rb").read()
    assert reply.startswith(b"HTTP/1.0 411") and b"Content-Length" in reply
    for method in ("PUT", "DELETE"):                                            # http.server's own errors
        conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        conn.request(method, "/api/analyze")
        res = conn.getresponse()
        assert res.status == 501 and "Unsupported method" in json.loads(res.read())["error"]
        conn.close()
    monkeypatch.setattr(Handler, "timeout", 1)
    with socket.create_connection((host, port), timeout=TIMEOUT) as stalled:   # promises 100 bytes, sends 1
        stalled.sendall(b"POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        assert request(server, "/api/info")[0] == 200                          # others are still served
        reply = stalled.makefile("rb").read()
    assert reply.startswith(b"HTTP/1.0 408")


def test_several_clients_at_once_get_what_each_would_get_alone(server):
    texts = [TEXT[i:i + 60] for i in range(0, 40, 5)]
    alone = {t: request(server, "/api/analyze", {"text": t, "unit": 2})[1]["values"] for t in texts}
    sample = generated(server, prime="JULIET:", length=60, seed=9)[0]
    results, errors = {}, []

    def analyze(t):
        try:
            results[t] = request(server, "/api/analyze", {"text": t + " ", "unit": 2})[1]["values"][:-1]
        except Exception as exc:   # noqa: BLE001 - reported below
            errors.append(exc)

    def generate():
        try:
            results["sample"] = generated(server, prime="JULIET:", length=60, seed=9)[0]
        except Exception as exc:   # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=analyze, args=(t,)) for t in texts] + [threading.Thread(target=generate)
                                                                               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    assert not errors and not any(t.is_alive() for t in threads)
    assert results["sample"] == sample
    for t in texts:                                       # a text one space longer: the same prefix values
        np.testing.assert_allclose(results[t], alone[t], atol=1e-4)


# -- the command -----------------------------------------------------------------------------------------
def test_serve_command_help_errors_and_a_real_start(run_dir):
    code, out, _ = run_cli("serve", "--help")
    assert code == 0 and "--port" in out and "--host" in out and "--max-chars" in out
    code, out, err = run_cli("serve", "/no/such/run")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no such run" in err
    code, _, err = run_cli("serve", run_dir, "--port", "99999")
    assert code == 2 and "expected a port" in err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = run_cli("serve", run_dir, "--port", taken.getsockname()[1])
    assert code == 2 and "cannot listen on 127.0.0.1" in err and "--port" in err
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab", "serve", str(run_dir), "--port", "0"],
                            stderr=subprocess.PIPE, text=True,     # Ctrl-C as in a terminal, even where the
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # suite runs in
                                                                   # a background job that ignores SIGINT
    try:
        line = proc.stderr.readline()
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/info", timeout=TIMEOUT) as res:
            assert json.loads(res.read())["hidden"] == 16
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(TIMEOUT) == 0


# -- the page in a real browser ----------------------------------------------------------------------------
def _backgrounds(page, where):
    return page.execute_script(f"return [...document.querySelectorAll('{where} span.p')]"
                               ".map(s => s.style.backgroundColor)")


def test_the_page_in_a_headless_browser(run_dir, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    run = Path(os.environ.get("RNNLAB_SERVE_RUN", run_dir))      # a better-trained run for the README's picture
    server, thread = _serve(run)
    page = chromium()
    wait = WebDriverWait(page, TIMEOUT)
    try:
        page.get(server.url)
        wait.until(lambda p: "vocabulary of" in p.find_element(By.ID, "run-info").text)
        box = page.find_element(By.ID, "text")

        box.send_keys("ROMEO: é")                                  # a character the model never saw
        error = page.find_element(By.ID, "error")
        wait.until(lambda p: error.is_displayed() and "never saw" in error.text)
        assert "'é'" in error.text and page.find_elements(By.CSS_SELECTOR, "#rendered span.unknown")

        box.clear()
        box.send_keys(TEXT * 3)
        wait.until(lambda p: len(_backgrounds(p, "#rendered")) == len(TEXT) * 3)
        assert not error.is_displayed()
        before = _backgrounds(page, "#rendered")
        assert len(set(before)) > 5 and all(b.startswith("rgb") for b in before)

        spans = page.find_elements(By.CSS_SELECTOR, "#rendered span.p")
        ActionChains(page).move_to_element(spans[9]).perform()      # hover: the top-5 next characters
        wait.until(lambda p: len(p.find_elements(By.CSS_SELECTOR, "#top5-list li")) == 5)
        assert "position 9" in page.find_element(By.ID, "top5-title").text

        unit = page.find_element(By.ID, "unit")                    # pick a unit by number
        unit.send_keys(Keys.CONTROL, "a")
        unit.send_keys("7")
        wait.until(lambda p: _backgrounds(p, "#rendered") != before)
        assert "h[7]" in page.find_element(By.ID, "unit-name").text

        page.find_element(By.ID, "search").click()                 # pick one from the cell search
        wait.until(lambda p: p.find_elements(By.CSS_SELECTOR, "#search-results li"))
        first = page.find_element(By.CSS_SELECTOR, "#search-results li")
        chosen = first.text.split(": ", 1)[1].split(" r=")[0]       # "layer 1 h[3]"
        shown = _backgrounds(page, "#rendered")
        first.click()
        wait.until(lambda p: chosen in p.find_element(By.ID, "unit-name").text)

        threshold = page.find_element(By.ID, "threshold")          # select a span, match it
        threshold.send_keys(Keys.CONTROL, "a")
        threshold.send_keys("0.1")
        ActionChains(page).click_and_hold(spans[8]).move_to_element(spans[12]).release().perform()
        wait.until(lambda p: "selected positions" in p.find_element(By.ID, "match-status").text)
        page.find_element(By.ID, "match").click()
        status = page.find_element(By.ID, "match-status")
        wait.until(lambda p: "units on over the selection" in status.text or "lower the threshold" in status.text)
        results = page.find_elements(By.CSS_SELECTOR, "#match-results li")
        assert bool(results) == bool(page.find_elements(By.CSS_SELECTOR, "#rendered span.matched"))

        prime = page.find_element(By.ID, "prime")                  # generate: it streams in, then is coloured
        prime.send_keys("JULIET:")
        length = page.find_element(By.ID, "length")
        length.send_keys(Keys.CONTROL, "a")
        length.send_keys("150")
        page.find_element(By.ID, "generate").click()
        wait.until(lambda p: "done" in p.find_element(By.ID, "generate-status").text)
        out = page.find_element(By.ID, "generated")
        wait.until(lambda p: len(_backgrounds(p, "#generated")) == len("JULIET:") + 150)
        assert out.text.startswith("JULIET:")
        ActionChains(page).move_to_element(out.find_elements(By.CSS_SELECTOR, "span.p")[3]).perform()
        wait.until(lambda p: "position 3" in p.find_element(By.ID, "top5-title").text)
        assert not error.is_displayed() and shown

        shot = tmp_path / "explorer.png"
        assert page.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        if os.environ.get("RNNLAB_SCREENSHOT"):
            shutil.copyfile(shot, os.environ["RNNLAB_SCREENSHOT"])
    finally:
        page.quit()
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)
