"""The explorer's HTTP server: the page, JSON endpoints and the streamed continuation (standard library only).

    GET  /                      the page (static/index.html; /static/NAME its script and style)
    GET  /api/info              the run: model, layers, units, kinds, token labels, limits
    POST /api/analyze           {text, layer?, kind?, unit?} -> pieces, the unit's values, top-5 next tokens
    POST /api/unit              {text, layer, kind, unit}    -> that unit's values over text
    POST /api/match             {text, layer, kind, start, end, threshold?, min_share?} -> units on, spans
    POST /api/search            {text} -> the best unit per character feature
    GET  /api/generate?prime=&length=&temperature=&seed=  Server-Sent Events: {"text": piece} ..., then done
    POST /api/generate          {prime, length, temperature, seed}: the same stream

Bad input answers 4xx with {"error", "hint"} (and "unknown" for symbols the model never saw); a client that
stops reading ends its generation; every socket read has a timeout, so no request holds a thread forever.
"""
from __future__ import annotations

import json
import socket
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ..errors import RnnlabError
from ..inspect.match import DEFAULT_THRESHOLD
from . import params
from .explorer import Busy, Explorer, UnknownText
from .limits import SOCKET_TIMEOUT

STATIC = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png"}


class HTTPError(Exception):
    def __init__(self, status: int, message: str, hint: str = ""):
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint


def static_files() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, content type) of the page's files, read once."""
    return {p.name: (p.read_bytes(), CONTENT_TYPES.get(p.suffix, "application/octet-stream"))
            for p in STATIC.iterdir() if p.is_file()}


class Handler(BaseHTTPRequestHandler):
    server_version = "rnnlab-serve"
    timeout = SOCKET_TIMEOUT
    server: "ExplorerServer"

    # -- routing ------------------------------------------------------------------------------------------
    def do_GET(self):
        url = urlsplit(self.path)
        fields = parse_qs(url.query, keep_blank_values=True)
        if url.path in ("/", "/index.html"):
            return self._guard(lambda: self._send_static("index.html"))
        if url.path.startswith("/static/"):
            return self._guard(lambda: self._send_static(url.path[len("/static/"):]))
        if url.path == "/api/info":
            return self._guard(lambda: self._send_json(200, self.server.explorer.info()))
        if url.path == "/api/generate":
            return self._guard(lambda: self._stream(fields))
        self._guard(self._not_found)

    def do_POST(self):
        routes = {"/api/analyze": self._analyze, "/api/unit": self._unit, "/api/match": self._match,
                  "/api/search": self._search}
        path = urlsplit(self.path).path
        if path == "/api/generate":                 # the same settings as the GET, for primes too long for a URL
            return self._guard(lambda: self._stream(self._json_body()))
        route = routes.get(path)
        self._guard(lambda: self._send_json(200, route(self._json_body())) if route else self._not_found())

    def _not_found(self):
        raise HTTPError(404, f"no such page or endpoint: {urlsplit(self.path).path}", "see / for the explorer")

    def _guard(self, respond) -> None:
        """Run a response; turn bad input into a 4xx JSON answer and anything else into a 500 JSON answer."""
        try:
            respond()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except HTTPError as exc:
            self._send_error(exc.status, exc.message, exc.hint)
        except Busy as exc:
            self._send_error(503, exc.message, exc.hint)
        except UnknownText as exc:
            self._send_error(400, exc.message, exc.hint, unknown=exc.unknown)
        except RnnlabError as exc:
            self._send_error(400, exc.message, exc.hint)
        except Exception as exc:        # a bug: say so in JSON, keep serving, log the traceback
            traceback.print_exc(file=sys.stderr)
            self._send_error(500, f"internal error: {type(exc).__name__}: {exc}", "report this with the text")

    # -- requests -------------------------------------------------------------------------------------------
    def _json_body(self) -> dict:
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self.close_connection = True
            raise HTTPError(411, "the request has no Content-Length", "send a JSON body with its length")
        size, limit = int(length), self.server.body_limit
        if size > limit:
            self.close_connection = True
            raise HTTPError(413, f"the request body has {size:,} bytes, more than {limit:,}",
                            f"send at most {self.server.explorer.max_chars:,} characters of text")
        try:
            raw = self.rfile.read(size)
        except TimeoutError:
            self.close_connection = True
            raise HTTPError(408, f"the request body did not arrive within {self.timeout:g} s", "send it again") from None
        if len(raw) < size:
            raise HTTPError(400, "the request body ended early", "send the whole body")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise HTTPError(400, "the request body is not JSON", 'send e.g. {"text": "hello"}') from None
        if not isinstance(body, dict):
            raise HTTPError(400, f"the request body must be a JSON object, got {type(body).__name__}",
                            'send e.g. {"text": "hello"}')
        return body

    def _unit_fields(self, body: dict, default: bool) -> tuple[int, str, int]:
        info = self.server.explorer.model.recurrent
        layer = params.integer(body, "layer", info.num_layers - 1 if default else params.REQUIRED,
                               0, info.num_layers - 1)
        kind = params.choice(body, "kind", self.server.explorer.kinds, "h" if default else params.REQUIRED)
        unit = params.integer(body, "unit", 0 if default else params.REQUIRED, 0, info.hidden - 1)
        return layer, kind, unit

    def _analyze(self, body: dict) -> dict:
        text = params.text(body, "text")
        return self.server.explorer.analyze(text, *self._unit_fields(body, default=True))

    def _unit(self, body: dict) -> dict:
        explorer = self.server.explorer
        return explorer.unit_values(explorer.analysis(params.text(body, "text")),
                                    *self._unit_fields(body, default=False))

    def _match(self, body: dict) -> dict:
        text = params.text(body, "text")
        layer, kind, _ = self._unit_fields({**body, "unit": 0}, default=False)
        start = params.integer(body, "start", lo=0)
        end = params.integer(body, "end", lo=1)
        threshold = params.number(body, "threshold", DEFAULT_THRESHOLD, lo=-1e6, hi=1e6)
        min_share = params.number(body, "min_share", 1.0, hi=1.0, above=0.0)
        return self.server.explorer.match(text, layer, kind, start, end, threshold, min_share)

    def _search(self, body: dict) -> dict:
        return {"cells": self.server.explorer.search(params.text(body, "text"))}

    def _stream(self, fields: dict) -> None:
        """Server-Sent Events: one `data: {"text": piece}` per piece, then `event: done` (or `event: error`)."""
        explorer = self.server.explorer
        prime = params.text(fields, "prime", "")
        length = params.integer(fields, "length", 200, lo=1)
        temperature = params.number(fields, "temperature", 1.0, hi=100.0, above=0.0)
        seed = params.integer(fields, "seed", None, 0, 2 ** 32 - 1)
        pieces = explorer.generate(prime, length, temperature, seed)      # bad settings raise here, as a 4xx
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        self.close_connection = True
        produced = 0
        try:
            for piece in pieces:
                self._event("message", {"text": piece})
                produced += 1
            self._event("done", {"pieces": produced})
        except RnnlabError as exc:                                        # e.g. non-finite logits, busy model
            self._event("error", {"error": exc.message, "hint": exc.hint})
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:                                          # a bug, after the headers went out
            traceback.print_exc(file=sys.stderr)
            self._event("error", {"error": f"internal error: {type(exc).__name__}: {exc}", "hint": ""})
        finally:
            pieces.close()                                                # a gone client ends the generation

    def _event(self, name: str, data: dict) -> None:
        head = "" if name == "message" else f"event: {name}\n"
        self.wfile.write(f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode("utf-8"))
        self.wfile.flush()

    # -- responses ----------------------------------------------------------------------------------------
    def _send_static(self, name: str) -> None:
        found = self.server.static.get(name)
        if found is None:
            raise HTTPError(404, f"no such file: {name}", "see / for the explorer")
        self._send(200, *found)

    def _send_json(self, status: int, obj) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _send_error(self, status: int, message: str, hint: str, **extra) -> None:
        try:
            self._send_json(status, {"error": message, "hint": hint, **extra})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (a malformed request line, an unsupported method) as JSON too."""
        self.close_connection = True
        self._send_error(code, message or self.responses.get(code, ("error",))[0], explain or "")

    def log_message(self, format, *args):        # quiet: the CLI prints the address; errors print tracebacks
        if self.server.log_requests:
            super().log_message(format, *args)


class ExplorerServer(ThreadingHTTPServer):
    """A thread per request; threads do not keep the process alive."""
    daemon_threads = True

    def __init__(self, explorer: Explorer, host: str = "127.0.0.1", port: int = 8000, log_requests: bool = False):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), Handler)
        self.explorer, self.log_requests = explorer, log_requests
        self.static = static_files()
        self.body_limit = 12 * explorer.max_chars + 4096       # max_chars of text even as \uXXXX pairs

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"
