"""What the machine-description readers share: bounded reading, Slurm time values, hostlists.

Slurm writes times as ``minutes``, ``minutes:seconds``, ``hours:minutes:seconds``, ``days-hours``,
``days-hours:minutes`` or ``days-hours:minutes:seconds``; ``UNLIMITED`` and ``INFINITE`` mean no
limit (slurm.conf(5), MaxTime).  :func:`slurm_seconds` reads all of them, :func:`format_slurm_time`
writes a number of seconds back the way ``scontrol`` shows it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from schedlab.errors import ClusterError, HostlistError

#: the largest machine-description file read (slurm.conf files of large sites are ~1 MiB)
MAX_FILE_BYTES = 16 * 2**20
INF = math.inf

_TIME = re.compile(r"(?:(\d{1,9})-)?(\d{1,9})(?::(\d{1,9}))?(?::(\d{1,9}))?")


def read_text(path: str | Path) -> str:
    """A description file's text: at most :data:`MAX_FILE_BYTES`, UTF-8, no NUL bytes (a BOM is
    dropped).  Reading through a symbolic link is fine.  Every failure is a one-line ClusterError."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise ClusterError(f"{p}: is a folder, not a machine description file") from None
    except OSError as exc:
        raise ClusterError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ClusterError(f"{p}: larger than {MAX_FILE_BYTES // 2**20} MiB; not a machine description")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClusterError(f"{p}: not UTF-8 text (bad byte at offset {exc.start})") from None
    if "\x00" in text:
        raise ClusterError(f"{p}: holds NUL bytes; not a text file")
    return text.removeprefix("\ufeff")


def slurm_seconds(value, what: str, where: str) -> float:
    """Seconds in a Slurm time value (see the module docstring); ``inf`` for UNLIMITED/INFINITE.

    A bare number is minutes, as in slurm.conf.  Raises :class:`ClusterError` naming ``where`` and
    ``what`` for anything else."""
    text = value.strip() if isinstance(value, str) else None
    if text is not None and text.upper() in ("UNLIMITED", "INFINITE"):
        return INF
    m = _TIME.fullmatch(text) if text is not None else None
    if m is None:
        raise ClusterError(
            f"{where}: {what} must be a Slurm time (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or "
            f"UNLIMITED), got {value!r}"
        )
    days, a, b, c = (int(g) if g is not None else None for g in m.groups())
    if days is not None:
        return float(days * 86400 + a * 3600 + (b or 0) * 60 + (c or 0))
    if b is None:
        return float(a * 60)
    if c is None:
        return float(a * 60 + b)
    return float(a * 3600 + b * 60 + c)


def format_slurm_time(seconds: float) -> str:
    """``seconds`` as Slurm prints a time limit: ``UNLIMITED``, ``H:MM:SS`` or ``D-HH:MM:SS``."""
    if seconds == INF:
        return "UNLIMITED"
    s = round(seconds)
    days, rest = divmod(s, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    return f"{days}-{h:02d}:{m:02d}:{sec:02d}" if days else f"{h}:{m:02d}:{sec:02d}"


def host_names(hostlist, where: str) -> list[str]:
    """The host names of a Slurm hostlist; a bad one is a ClusterError naming ``where``."""
    from schedlab.analytics.jobs.hostlist import expand_hostlist

    if not isinstance(hostlist, str):
        raise ClusterError(f"{where}: a hostlist must be text like 'nid[0001-0100]', got {hostlist!r}")
    try:
        names = expand_hostlist(hostlist)
    except HostlistError as exc:
        raise ClusterError(f"{where}: {exc}") from None
    if not names:
        raise ClusterError(f"{where}: the hostlist {hostlist!r} names no hosts")
    return names


def compress(names) -> str:
    """The Slurm hostlist of ``names`` (see :func:`schedlab.analytics.jobs.hostlist.compress_hostlist`)."""
    from schedlab.analytics.jobs.hostlist import compress_hostlist

    return compress_hostlist(names)


__all__ = ["MAX_FILE_BYTES", "compress", "format_slurm_time", "host_names", "read_text", "slurm_seconds"]
