// rnnlab explorer: the page's behaviour. No libraries, no network beyond this server.
"use strict";

const $ = (id) => document.getElementById(id);
const COOL = [33, 102, 172], WARM = [178, 24, 43];
const KIND_NOTES = {
  h: "hidden state h (the layer's output, a tanh): −1 cool, +1 excited",
  c: "cell state c, scaled to its largest |c| on this text",
  i: "input gate (sigmoid): 0 closed, 1 open", f: "forget gate (sigmoid): 0 forgets, 1 keeps",
  o: "output gate (sigmoid): 0 closed, 1 open", g: "candidate g (tanh): −1 … +1",
  r: "reset gate (sigmoid): 0 … 1", z: "update gate (sigmoid): 0 … 1", n: "candidate n (tanh): −1 … +1",
};
const state = { info: null, main: null, generated: null, seq: 0, unitSeq: 0, selection: null, abort: null };

// -- talking to the server -----------------------------------------------------------------------------
async function api(path, body) {
  let res;
  try {
    res = await fetch(path, body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  } catch (e) {
    throw { error: "the server did not answer: " + e.message, hint: "is rnnlab serve still running?" };
  }
  let data;
  try { data = await res.json(); } catch (e) { throw { error: `the server answered ${res.status} without JSON` }; }
  if (!res.ok) throw data;
  return data;
}

function showError(err) {
  const box = $("error");
  box.textContent = (err && err.error ? err.error : String(err)) + (err && err.hint ? ` (${err.hint})` : "");
  box.hidden = false;
}
function clearError() { $("error").hidden = true; $("error").textContent = ""; }

// -- colours and labels --------------------------------------------------------------------------------
function colour(v, lo, hi) {
  const t = Math.max(-1, Math.min(1, (2 * (v - lo)) / (hi - lo) - 1));
  const end = t < 0 ? COOL : WARM, a = Math.abs(t);
  const rgb = end.map((c) => Math.round(255 + (c - 255) * a));
  return { background: `rgb(${rgb.join(",")})`, text: a > 0.6 ? "#fff" : "#1d232b" };
}
const visible = (s) => s.replace(/\n/g, "⏎").replace(/\t/g, "⇥").replace(/^ $/, "␣");
const unitName = (u) => `layer ${u.layer + 1} ${u.kind}[${u.unit}]`;   // layers shown from 1, as rnnlab inspect does

function unitChoice() {
  const H = state.info ? state.info.hidden : 1;
  const unit = Math.max(0, Math.min(H - 1, parseInt($("unit").value, 10) || 0));
  $("unit").value = unit;
  return { layer: parseInt($("layer").value, 10) || 0, kind: $("kind").value || "h", unit };
}

function updateLegend(view) {
  const u = unitChoice();
  $("unit-name").textContent = unitName(u);
  if (!view) return;
  const [lo, hi] = view.data.range;
  $("legend-lo").textContent = lo.toFixed(2);
  $("legend-hi").textContent = "+" + hi.toFixed(2);
  $("legend-note").textContent = KIND_NOTES[u.kind] || u.kind;
}

// -- rendering a text as coloured pieces -----------------------------------------------------------------
function render(view) {
  const frag = document.createDocumentFragment();
  view.data.pieces.forEach((piece, i) => {
    const span = document.createElement("span");
    span.className = piece.trim() === "" && piece.includes("\n") ? "p nl" : "p";
    span.dataset.i = i;
    span.textContent = piece.replace(/\n/g, "↵\n");
    frag.appendChild(span);
  });
  view.el.replaceChildren(frag);
  view.el.view = view;
  recolour(view);
}

function recolour(view) {
  const [lo, hi] = view.data.range, values = view.data.values;
  for (const span of view.el.children) {
    const c = colour(values[span.dataset.i], lo, hi);
    span.style.backgroundColor = c.background;
    span.style.color = c.text;
    span.title = `${values[span.dataset.i].toFixed(3)}`;
  }
  updateLegend(view);
}

function renderUnknown(el, text, unknown) {
  const bad = new Set(unknown), frag = document.createDocumentFragment();
  for (const ch of text) {
    const span = document.createElement("span");
    if (bad.has(ch)) span.className = "unknown";
    span.textContent = ch;
    frag.appendChild(span);
  }
  el.replaceChildren(frag);
  el.view = null;
}

function showTop5(view, i) {
  const d = view.data, labels = state.info.labels;
  $("top5-title").textContent = `after “${visible(d.pieces[i])}” (position ${i}, value ${d.values[i].toFixed(3)}), next:`;
  const actual = i + 1 < d.pieces.length ? d.pieces[i + 1].trim() || d.pieces[i + 1] : null;
  const list = $("top5-list");
  list.replaceChildren(...d.top_ids[i].map((id, k) => {
    const li = document.createElement("li"), bar = document.createElement("span");
    const label = labels[id];
    if (actual !== null && (label === actual || label === d.pieces[i + 1])) li.className = "actual";
    const key = document.createElement("b");
    key.textContent = visible(label);
    li.append(key, ` ${d.top_probs[i][k].toFixed(3)}`);
    bar.className = "bar";
    bar.style.width = `${Math.round(60 * d.top_probs[i][k])}px`;
    li.appendChild(bar);
    return li;
  }));
}

function onHover(event) {
  const span = event.target.closest("span.p"), view = event.currentTarget.view;
  if (!span || !view) return;
  for (const old of document.querySelectorAll("span.p.hover")) old.classList.remove("hover");
  span.classList.add("hover");
  showTop5(view, +span.dataset.i);
}

// -- analysis of the typed text ----------------------------------------------------------------------------
async function analyzeMain() {
  const text = $("text").value, seq = ++state.seq, max = state.info.max_chars;
  $("text-count").textContent = `${text.length.toLocaleString()} / ${max.toLocaleString()} characters`;
  if (!text) { $("rendered").replaceChildren(); state.main = null; clearError(); return; }
  try {
    const data = await api("/api/analyze", { text, ...unitChoice() });
    if (seq !== state.seq) return;                                   // a newer text is on its way
    clearError();
    state.main = { el: $("rendered"), text, data };
    state.selection = null;
    render(state.main);
    showTop5(state.main, data.pieces.length - 1);
    if (data.unknown.length) showError({ error: `words the model never saw (read as <unk>): ${data.unknown.slice(0, 10).join(" ")}` });
  } catch (err) {
    if (seq !== state.seq) return;
    showError(err);
    state.main = null;
    if (err.unknown) renderUnknown($("rendered"), text, err.unknown);
  }
}

async function refreshUnit() {
  const u = unitChoice(), seq = ++state.unitSeq;
  updateLegend(null);
  for (const view of [state.main, state.generated]) {
    if (!view) continue;
    try {
      const r = await api("/api/unit", { text: view.text, ...u });
      if (seq !== state.unitSeq) return;
      view.data.values = r.values;
      view.data.range = r.range;
      recolour(view);
    } catch (err) { showError(err); }
  }
}

function setUnit(layer, kind, unit) {
  $("layer").value = layer; $("kind").value = kind; $("unit").value = unit;
  refreshUnit();
}

// -- cell search and LSTMVis's match -------------------------------------------------------------------
function scrollToPiece(i) {
  const span = $("rendered").querySelector(`span.p[data-i="${i}"]`);
  if (span) span.scrollIntoView({ block: "center" });
}

async function searchCells() {
  if (!state.main) { $("search-status").textContent = "analyze a text first"; return; }
  $("search-status").textContent = "searching…";
  try {
    const { cells } = await api("/api/search", { text: state.main.text });
    $("search-status").textContent = `${cells.length} features`;
    $("search-results").replaceChildren(...cells.map((c) => {
      const li = document.createElement("li"), snip = document.createElement("span");
      li.textContent = `${c.feature}: layer ${c.layer + 1} ${c.kind}[${c.unit}] r=${c.correlation.toFixed(2)} `;
      snip.className = "snippet";
      snip.textContent = visible(c.snippet.slice(0, 40));
      li.appendChild(snip);
      li.addEventListener("click", () => { setUnit(c.layer, c.kind, c.unit); scrollToPiece(c.piece); });
      return li;
    }));
  } catch (err) { $("search-status").textContent = ""; showError(err); }
}

function readSelection() {
  const sel = window.getSelection();
  if (!state.main || !sel.rangeCount || sel.isCollapsed) return;
  const range = sel.getRangeAt(0);
  const hit = [...$("rendered").children].filter((s) => range.intersectsNode(s)).map((s) => +s.dataset.i);
  if (!hit.length) return;
  state.selection = { start: Math.min(...hit), end: Math.max(...hit) + 1 };
  markSpans("selected", [state.selection]);
  const t = state.main.data.pieces.slice(state.selection.start, state.selection.end).join("");
  $("match-status").textContent = `selected positions ${state.selection.start}–${state.selection.end - 1}: “${visible(t)}”`;
}

function markSpans(cls, spans) {
  for (const old of $("rendered").querySelectorAll(`span.${cls}`)) old.classList.remove(cls);
  const spansEl = $("rendered").children;
  for (const s of spans) for (let i = s.start; i < s.end; i++) spansEl[i].classList.add(cls);
}

async function matchSelection() {
  if (!state.main || !state.selection) { $("match-status").textContent = "select a span of the coloured text first"; return; }
  const u = unitChoice(), threshold = parseFloat($("threshold").value);
  try {
    const r = await api("/api/match", { text: state.main.text, layer: u.layer, kind: u.kind, ...state.selection,
                                        threshold: isNaN(threshold) ? $("threshold").value : threshold });
    markSpans("matched", r.spans);
    const status = $("match-status");
    status.replaceChildren(r.note || `${r.units.length} units on over the selection, ${r.spans.length} other spans:`);
    if (r.units.length) {
      const units = document.createElement("div");
      units.className = "units";
      for (const unit of r.units.slice(0, 40)) {
        const b = document.createElement("button");
        b.textContent = unit;
        b.title = `colour by ${u.kind}[${unit}]`;
        b.addEventListener("click", () => setUnit(u.layer, u.kind, unit));
        units.appendChild(b);
      }
      status.appendChild(units);
    }
    $("match-results").replaceChildren(...r.spans.map((s) => {
      const li = document.createElement("li"), snip = document.createElement("span");
      snip.className = "snippet";
      snip.textContent = visible(s.text.slice(0, 40));
      li.append(`positions ${s.start}–${s.end - 1}, score ${s.score} (${s.shared} shared, ${s.extra} extra)`, snip);
      li.addEventListener("click", () => scrollToPiece(s.start));
      return li;
    }));
  } catch (err) { showError(err); }
}

// -- streamed continuation -----------------------------------------------------------------------------
async function generate() {
  const settings = { prime: $("prime").value, length: $("length").value, temperature: $("temperature").value };
  if ($("seed").value !== "") settings.seed = $("seed").value;
  const out = $("generated"), status = $("generate-status");
  const stream = document.createElement("span");
  stream.className = "streaming";
  out.replaceChildren(stream);
  out.view = null;
  state.generated = null;
  state.abort = new AbortController();
  $("generate").disabled = true; $("stop").disabled = false; $("inspect-generated").disabled = true;
  status.textContent = "generating…";
  let text = "", pieces = 0, finished = false;
  try {
    const res = await fetch("/api/generate", { method: "POST", headers: { "Content-Type": "application/json" },
                                               body: JSON.stringify(settings), signal: state.abort.signal });
    if (!res.ok) throw await res.json().catch(() => ({ error: `the server answered ${res.status}` }));
    clearError();
    const reader = res.body.getReader(), decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (event.name === "message") { text += event.data.text; pieces++; stream.textContent = text; }
        else if (event.name === "done") finished = true;
        else if (event.name === "error") showError(event.data);
      }
      status.textContent = `generating… ${pieces} pieces`;
    }
    status.textContent = finished ? `done: ${text.length} characters` : "the stream ended early";
  } catch (err) {
    if (err.name === "AbortError") status.textContent = `stopped after ${text.length} characters`;
    else { status.textContent = ""; showError(err); }
  } finally {
    $("generate").disabled = false; $("stop").disabled = true;
    state.abort = null;
  }
  if (text) await colourGenerated(text);
}

function parseEvent(block) {
  let name = "message", data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event: ")) name = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  return { name, data: data ? JSON.parse(data) : {} };
}

async function colourGenerated(text) {
  try {
    const data = await api("/api/analyze", { text, ...unitChoice() });
    state.generated = { el: $("generated"), text, data };
    render(state.generated);
    $("inspect-generated").disabled = false;
  } catch (err) {
    $("generate-status").textContent += ` (not coloured: ${err.error})`;
  }
}

// -- wiring --------------------------------------------------------------------------------------------
function debounce(fn, ms) {
  let timer = null;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

async function start() {
  try {
    state.info = await api("/api/info");
  } catch (err) { showError(err); $("run-info").textContent = "the run could not be loaded"; return; }
  const info = state.info;
  $("run-info").textContent = `${info.run} · ${info.model.toUpperCase()} ${info.layers}×${info.hidden} · ` +
    `${info.tokenizer} vocabulary of ${info.vocab_size}`;
  $("layer").replaceChildren(...Array.from({ length: info.layers }, (_, k) => new Option(k + 1, k)));
  $("layer").value = info.layers - 1;
  $("kind").replaceChildren(...info.kinds.map((k) => new Option(k, k)));
  $("unit").max = info.hidden - 1;
  $("length").max = info.max_length;
  $("text").maxLength = info.max_chars + 1;          // one past the limit, so the server's message shows
  $("text-count").textContent = `0 / ${info.max_chars.toLocaleString()} characters`;
  updateLegend(null);

  const typed = debounce(analyzeMain, 300), unitChanged = debounce(refreshUnit, 150);
  $("text").addEventListener("input", typed);
  $("analyze").addEventListener("click", analyzeMain);
  for (const id of ["layer", "kind"]) $(id).addEventListener("change", refreshUnit);
  $("unit").addEventListener("input", unitChanged);
  $("prev-unit").addEventListener("click", () => { $("unit").value = +$("unit").value - 1; refreshUnit(); });
  $("next-unit").addEventListener("click", () => { $("unit").value = +$("unit").value + 1; refreshUnit(); });
  for (const id of ["rendered", "generated"]) $(id).addEventListener("mouseover", onHover);
  $("rendered").addEventListener("mouseup", readSelection);
  $("match").addEventListener("click", matchSelection);
  $("search").addEventListener("click", searchCells);
  $("generate").addEventListener("click", generate);
  $("stop").addEventListener("click", () => state.abort && state.abort.abort());
  $("inspect-generated").addEventListener("click", () => {
    if (!state.generated) return;
    $("text").value = state.generated.text;
    analyzeMain();
  });
}

start();
