"""`rnnlab inspect report`: one self-contained HTML page (no network) of what a run has learned.

The text is coloured per token by one unit (the lectures' colouring: blue for -1, white for 0, red for +1;
a cell state is scaled by its largest |value| on the page), the five likeliest next tokens appear under the
pointer, a menu switches between the units found by the cell search, and the gate and error figures are
embedded as PNG data.
"""
from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path

import numpy as np

from .activations import collect
from .cells import scan_cells
from .error_analysis import analyse, plot as plot_errors
from .export import token_strings
from .gates import plot as plot_gates, saturation

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 70em; color: #222; }
#text { font-family: ui-monospace, monospace; white-space: pre-wrap; line-height: 1.5; border: 1px solid #ccc;
        padding: 1em; }
#text span { cursor: default; }
#tip { position: fixed; background: #fffbe6; border: 1px solid #aaa; padding: 4px 8px; font-family: monospace;
       display: none; pointer-events: none; white-space: pre; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; }
td.snip { font-family: ui-monospace, monospace; white-space: pre; }
.legend span { display: inline-block; width: 2em; text-align: center; font-size: 80%; }
"""

_SCRIPT = """
const D = JSON.parse(document.getElementById('data').textContent);
const spans = document.querySelectorAll('#text span');
function colour(v) {           // -1 blue, 0 white, +1 red
  const a = Math.min(1, Math.abs(v)), c = Math.round(255 * (1 - a));
  return v >= 0 ? `rgb(255,${c},${c})` : `rgb(${c},${c},255)`;
}
function show(key) {
  const u = D.units[key], scale = u.scale;
  spans.forEach((s, t) => { s.style.background = colour(u.values[t] / scale); });
  document.getElementById('which').textContent = u.label;
}
const pick = document.getElementById('unit');
pick.addEventListener('change', () => show(pick.value));
show(pick.value);
const tip = document.getElementById('tip');
spans.forEach((s, t) => {
  s.addEventListener('mousemove', e => {
    const u = D.units[pick.value];
    tip.textContent = `after ${JSON.stringify(D.pieces[t])}  (${u.label} = ${u.values[t].toFixed(3)})\\n` +
      D.top[t].map(([tok, p]) => `${JSON.stringify(tok).padEnd(8)} ${(100 * p).toFixed(1)}%`).join('\\n');
    tip.style.left = (e.clientX + 12) + 'px'; tip.style.top = (e.clientY + 12) + 'px'; tip.style.display = 'block';
  });
  s.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
});
"""


def _png(draw) -> str:
    """Draw a figure with draw(path) and return it as a data: URI."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "figure.png"
        draw(path)
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _unit_entry(acts, layer: int, kind: str, unit: int, label: str) -> dict:
    values = acts.units(kind)[layer][:, unit]
    scale = 1.0 if kind != "c" else max(float(np.abs(values).max()), 1e-6)
    return {"label": label, "values": [round(float(v), 4) for v in values], "scale": scale}


def _label(layer: int, kind: str, unit: int) -> str:
    return f"layer {layer + 1} {kind} unit {unit}"


def build_page(subject, found, gates_png: str | None, errors: dict, errors_png: str, unit, shown_chars: int) -> str:
    """The HTML text of the report."""
    model, vocab = subject.model, subject.ckpt.vocab
    shown = max(1, int(np.searchsorted(subject.offsets, shown_chars)))        # tokens starting before shown_chars
    acts = collect(model, subject.tokens[:shown], k=5)
    words = token_strings(vocab)
    ends = np.append(subject.offsets[1:], len(subject.text))[:shown]          # each token runs to the next one
    pieces = [subject.text[int(a):int(b)] for a, b in zip(subject.offsets[:shown], ends)]
    units = {}
    if unit is not None:
        units["chosen"] = _unit_entry(acts, *unit, _label(*unit))
    for m in found:
        key = f"{m.layer}:{m.kind}:{m.unit}"
        if key not in units:
            units[key] = _unit_entry(acts, m.layer, m.kind, m.unit, f"{_label(m.layer, m.kind, m.unit)} ({m.feature}, "
                                     f"r = {m.correlation:+.2f})")
    data = {"pieces": pieces, "units": units,
            "top": [[[words[int(i)], round(float(p), 4)] for i, p in zip(ids, probs)]
                    for ids, probs in zip(acts.top_ids, acts.top_probs)]}
    options = "".join(f'<option value="{html.escape(k)}">{html.escape(u["label"])}</option>' for k, u in units.items())
    spans = "".join(f"<span>{html.escape(p)}</span>" for p in pieces)
    rows = "".join(f"<tr><td>{html.escape(m.feature)}</td><td>{m.layer + 1}</td><td>{m.kind}</td><td>{m.unit}</td>"
                   f"<td>{m.correlation:+.3f}</td><td class=snip>{html.escape(repr(m.snippet))}</td></tr>" for m in found)
    err_rows = "".join(f"<tr><td>{o}-gram</td><td>{b:.3f}</td><td>{errors['run_better_fraction'][o]:.0%}</td></tr>"
                       for o, b in errors["ngram_bits_per_char"].items())
    rec = model.recurrent
    title = f"rnnlab report: {html.escape(str(subject.ckpt.path))}"
    gates_html = f'<h2>Gate saturation</h2><img src="{gates_png}" alt="gate saturation">' if gates_png else ""
    payload = json.dumps(data).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{_STYLE}</style></head>
<body>
<h1>What the model has learned</h1>
<p>{rec.num_layers}x{rec.hidden} {rec.kind.upper()} ({vocab.kind} tokens) from <code>{html.escape(str(subject.ckpt.path))}</code>,
run over {len(subject.tokens):,} tokens of {html.escape(subject.source)}; the first {len(pieces):,} are shown.</p>
<h2>The text, coloured by a unit</h2>
<p>Colour by <select id="unit">{options}</select> &mdash; showing <b id="which"></b>.
<span class="legend"><span style="background:rgb(0,0,255);color:#fff">-1</span><span>0</span><span
style="background:rgb(255,0,0);color:#fff">+1</span></span> Point at a character for the five likeliest next ones.</p>
<div id="text">{spans}</div><div id="tip"></div>
<h2>Interpretable cells</h2>
<table><tr><th>feature</th><th>layer</th><th>kind</th><th>unit</th><th>correlation</th><th>where it fires</th></tr>
{rows}</table>
{gates_html}
<h2>Errors against n-gram models</h2>
<table><tr><th>model</th><th>bits/{vocab.kind}</th><th>run better at</th></tr>
<tr><td>this run</td><td>{errors['run_bits_per_char']:.3f}</td><td></td></tr>{err_rows}</table>
<img src="{errors_png}" alt="error analysis">
<script type="application/json" id="data">{payload}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_report(subject, out, unit=None, features=None, orders=(2, 5, 10), shown_chars: int = 5000,
                 progress=None) -> Path:
    """Run the cell search, gate statistics and error analysis over the subject's text and write the page."""
    def part(lo, hi):
        return None if progress is None else (lambda f: progress(lo + (hi - lo) * f))
    model = subject.model
    found = scan_cells(model, subject.text, subject.tokens, subject.offsets, features, progress=part(0, 0.3))
    gates_png = None
    if model.recurrent.kind != "rnn":
        stats = saturation(model, subject.tokens, progress=part(0.3, 0.5))
        gates_png = _png(lambda path: plot_gates(stats, path))
    errors = analyse(subject, list(orders), progress=part(0.5, 0.95))
    errors_png = _png(lambda path: plot_errors(errors, path))
    page = build_page(subject, found, gates_png, errors, errors_png, unit, shown_chars)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    if progress:
        progress(1.0)
    return out
