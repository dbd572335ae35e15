"""Serving the dashboard: the settings from the command line, the token from its file, and waitress
(a maintained, pure-Python production WSGI server: Werkzeug's own server is for development only)."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

from hepstack.context import Context
from hepstack.errors import HepstackError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_dashboard(
    *,
    host: str,
    port: int,
    inventory: Path | None,
    allow_actions: bool,
    token_file: Path | None,
    threads: int,
) -> None:
    try:
        from waitress.server import create_server

        from hepstack.web.app import create_app
        from hepstack.web.settings import Settings
    except ImportError as exc:
        raise HepstackError(
            f"the dashboard needs its extra: {exc}", hint="pip install 'hepstack[web]' (Flask and waitress)"
        ) from None
    from hepstack.batch.store import state_url
    from hepstack.web.data import Sources
    from hepstack.web.security import load_token

    context = Context.from_environment()
    if inventory is not None:
        from hepstack.inventory.model import load_inventory

        load_inventory(inventory)  # a bad file stops here, with file:line, not on the first page view
    token = None
    if allow_actions:
        token = load_token(token_file or context.data_path() / "serve-token")
    listener = _listen(host, port)
    bound_port = listener.getsockname()[1]
    settings = Settings(host=host, port=bound_port, allow_actions=allow_actions, token=token)
    application = create_app(Sources(context, state_url(context), inventory), settings)
    server = create_server(application, sockets=[listener], threads=threads, ident="hepstack")
    shown = f"[{host}]" if ":" in host else host
    print(f"hepstack dashboard on http://{shown}:{bound_port}/ (Ctrl-C stops it)", flush=True)
    if not is_loopback(host):
        print(f"warning: listening on {host}: anyone who can reach it sees the dashboard", file=sys.stderr)
    if allow_actions:
        where = token_file or context.data_path() / "serve-token"
        print(f"actions allowed for sessions that log in with the token in {where}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, made here so that port 0 gives a free port the URL can name."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(64)
    except OSError as exc:
        raise HepstackError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="choose another --port (0 picks a free one), or stop what uses it",
        ) from None
    return listener
