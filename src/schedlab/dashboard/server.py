"""Serving the app: a threaded WSGI server on one address, and a clear error when the port is taken."""

from __future__ import annotations

import errno
import logging

from schedlab.errors import SchedlabError


def _probe(host: str, port: int) -> None:
    """Bind ``host:port`` the way the server will (address reuse on), then let it go."""
    import socket

    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))


def make_server(app, host: str = "127.0.0.1", port: int = 8050):
    """A werkzeug server bound to ``host:port`` (raises SchedlabError when it cannot bind)."""
    from werkzeug.serving import make_server as _make

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    try:
        _probe(host, port)  # werkzeug prints its own text and exits on a taken port: check first
        return _make(host, port, app.server, threaded=True)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise SchedlabError(
                f"port {port} on {host} is already in use (another dashboard?); give another with --port"
            ) from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
            raise SchedlabError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        raise SchedlabError(f"cannot listen on {host}:{port}: {exc}") from None
    except (SystemExit, ValueError) as exc:
        raise SchedlabError(f"cannot listen on {host}:{port}: {exc}") from None


def serve(server, on_ready=None) -> None:
    """Serve until interrupted (Ctrl-C); ``on_ready(url)`` is called once listening."""
    host, port = server.server_address[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    if on_ready is not None:
        on_ready(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()


__all__ = ["make_server", "serve"]
