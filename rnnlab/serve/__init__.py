"""The live explorer (`rnnlab serve RUN`): a local web page that colours text by a unit, shows the top-5 next
tokens, matches activation patterns (LSTMVis) and streams continuations. explorer.py computes, app.py serves,
static/ is the page."""
