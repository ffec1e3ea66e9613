"""Reading Slurm through slurmrestd (``schedlab deploy daemon --rest URL``): the queue and the nodes.

Slurm 22.05's REST API v0.0.38 answers ``GET /slurm/v0.0.38/jobs`` and ``GET /slurm/v0.0.38/nodes``
with the documents ``squeue --json`` and ``sinfo --json`` print (the same OpenAPI plugin writes
both), so they are parsed by the same bounded readers (:func:`schedlab.slurm.daemon.parse_queue`,
:func:`schedlab.slurm.daemon_model.parse_nodes`).

``URL`` is ``unix:/path/to/slurmrestd.sock`` (authenticated by the socket's peer, rest_auth/local:
no token) or ``http://host:port`` (rest_auth/jwt: the ``X-SLURM-USER-NAME`` and
``X-SLURM-USER-TOKEN`` headers, the token from ``$SLURM_JWT`` or else ``scontrol token``).  Each
request has a timeout and reads at most :data:`~schedlab.slurm.daemon.MAX_QUEUE_BYTES`; an HTTP
error or a non-empty ``errors`` list in the answer is a one-line SchedlabError.  Writes
(SiteFactor) stay on ``scontrol``: v0.0.38 has no job update that sets it.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from schedlab.errors import SchedlabError
from schedlab.slurm.daemon import COMMAND_TIMEOUT_S, MAX_QUEUE_BYTES, QueueJob, _run, parse_queue

API = "v0.0.38"


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (slurmrestd's ``unix:`` listener)."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


@dataclass
class RestClient:
    """slurmrestd at ``url`` (see the module docstring); ``environ`` is where ``scontrol token`` runs."""

    url: str
    environ: dict = field(default_factory=lambda: dict(os.environ), repr=False)
    _headers: dict | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or len(self.url) > 4096 or "\x00" in self.url:
            raise SchedlabError("--rest must be unix:/path/to/socket or http://host:port")
        if self.url.startswith("unix:"):
            self.socket = self.url.removeprefix("unix:").removeprefix("//")
            if not self.socket.startswith("/"):
                raise SchedlabError(f"--rest {self.url}: give the socket's absolute path (unix:/path/to/socket)")
            return
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SchedlabError(f"--rest {self.url}: not unix:/path/to/socket or http(s)://host:port")
        self.socket, self._parts = None, parts

    def _connection(self) -> http.client.HTTPConnection:
        if self.socket:
            return _UnixConnection(self.socket, COMMAND_TIMEOUT_S)
        cls = http.client.HTTPSConnection if self._parts.scheme == "https" else http.client.HTTPConnection
        return cls(self._parts.hostname, self._parts.port, timeout=COMMAND_TIMEOUT_S)

    def headers(self) -> dict:
        """The JWT headers a TCP slurmrestd needs (none on a unix socket)."""
        if self.socket:
            return {}
        if self._headers is None:
            token = self.environ.get("SLURM_JWT") or _scontrol_token(self.environ)
            user = self.environ.get("USER") or pwd.getpwuid(os.geteuid()).pw_name
            self._headers = {"X-SLURM-USER-NAME": user, "X-SLURM-USER-TOKEN": token}
        return self._headers

    def get(self, path: str) -> str:
        """The body of ``GET path`` (a JSON text), checked and bounded."""
        conn = self._connection()
        try:
            conn.request("GET", path, headers={"Accept": "application/json", **self.headers()})
            resp = conn.getresponse()
            body = resp.read(MAX_QUEUE_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise SchedlabError(f"slurmrestd at {self.url} did not answer GET {path} ({str(exc)[:120]})") from None
        finally:
            conn.close()
        if len(body) > MAX_QUEUE_BYTES:
            raise SchedlabError(f"slurmrestd GET {path}: more than {MAX_QUEUE_BYTES:,} bytes")
        text = body.decode("utf-8", errors="replace")
        if resp.status != 200:
            first = (text.strip().splitlines() or [""])[0][:160]
            raise SchedlabError(f"slurmrestd GET {path}: HTTP {resp.status} {resp.reason} {first}".rstrip())
        _check_errors(text, path)
        return text

    def jobs(self) -> list[QueueJob]:
        """The queue, as :func:`schedlab.slurm.daemon.read_queue` reads it from squeue."""
        return parse_queue(self.get(f"/slurm/{API}/jobs"))

    def nodes(self):
        """The nodes' usable capacity (:class:`schedlab.slurm.daemon_model.Machine`)."""
        from schedlab.slurm.daemon_model import parse_nodes

        return parse_nodes(self.get(f"/slurm/{API}/nodes"))


def _check_errors(text: str, path: str) -> None:
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return  # the parser of the document says it better
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errors, list) and errors:
        e = errors[0] if isinstance(errors[0], dict) else {}
        what = str(e.get("description") or e.get("error") or errors[0])[:160]
        raise SchedlabError(f"slurmrestd GET {path} answered an error: {what}")


def _scontrol_token(environ: dict) -> str:
    r = _run(["scontrol", "token"], environ)
    for line in r.stdout.splitlines():
        if line.startswith("SLURM_JWT="):
            return line.split("=", 1)[1].strip()
    why = (r.stderr.strip().splitlines() or ["no token"])[-1][:160]
    raise SchedlabError(
        f"a TCP slurmrestd needs a JWT and `scontrol token` gave none ({why}): set SLURM_JWT, or use its unix socket"
    )


__all__ = ["API", "RestClient"]
