"""`rnnlab serve RUN [--port 8000] [--host 127.0.0.1]`: the live explorer on a local web page."""
from __future__ import annotations

import argparse
import ipaddress
import sys

from ..errors import RnnlabError
from .limits import DEFAULT_MAX_CHARS, DEFAULT_MAX_LENGTH

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port between 0 and 65535, got {text!r}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def add_parser(sub, parser_class) -> None:
    p = sub.add_parser("serve", help="the live explorer: a local web page over a trained run",
                       description="Serve a web page where you type text and see it coloured by one unit with the "
                       "top-5 next tokens, search for interpretable cells, match a selected span's activation "
                       "pattern elsewhere (LSTMVis) and stream continuations. Listens on loopback by default.")
    p.add_argument("run", metavar="RUN", help="a language-model run directory (its best/ is used) or a checkpoint")
    p.add_argument("--port", type=_port, default=8000, help="TCP port (default 8000; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)")
    p.add_argument("--which", choices=["best", "last"], default="best", help="checkpoint of a run (default best)")
    p.add_argument("--max-chars", type=_positive, default=DEFAULT_MAX_CHARS,
                   help=f"longest text or prime a request may send (default {DEFAULT_MAX_CHARS:,})")
    p.add_argument("--max-length", type=_positive, default=DEFAULT_MAX_LENGTH,
                   help=f"most tokens one continuation may generate (default {DEFAULT_MAX_LENGTH:,})")
    p.add_argument("--log-requests", action="store_true", help="print a line per request on stderr")


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args) -> int:
    from ..runs import load_run
    from .app import ExplorerServer
    from .explorer import Explorer
    explorer = Explorer(load_run(args.run, device="cpu", which=args.which), max_chars=args.max_chars,
                        max_length=args.max_length)
    try:
        server = ExplorerServer(explorer, args.host, args.port, log_requests=args.log_requests)
    except OSError as exc:
        raise RnnlabError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                          "pass another --port (0 picks a free one) or --host") from None
    if not is_loopback(args.host):
        print(f"rnnlab serve: warning: listening on {args.host}, so other machines can reach the explorer",
              file=sys.stderr)
    print(f"rnnlab serve: {explorer.ckpt.path} at {server.url} (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
