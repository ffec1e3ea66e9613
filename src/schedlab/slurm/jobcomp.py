"""Slurm's ``jobcomp/filetxt`` job records (one line per finished job, ``Key=Value`` pairs: the log a
Slurm without slurmdbd keeps), read into dicts, and written as ``sacct --parsable2`` text so that
schedlab's job-table readers (``load_trace``, ``schedlab analyze``, ``simulate --trace``) load them.

A line looks like ``JobId=3 UserId=root(0) GroupId=root(0) Name=wrap JobState=COMPLETED
Partition=cpu TimeLimit=1 StartTime=2026-12-06T22:27:38 EndTime=... NodeList=n[1-2] NodeCnt=2
ProcCnt=2 ... SubmitTime=... EligibleTime=... ExitCode=0:0``; times are the controller's local
time, ``TimeLimit`` is in minutes (or UNLIMITED).  The records carry no GPU count (without
slurmdbd Slurm tracks no ``gres/gpu`` TRES): a caller that knows it passes it to :func:`to_sacct`.
"""

from __future__ import annotations

import time
from pathlib import Path

from schedlab.errors import SchedlabError

#: bounds on what is read: lines and characters per line
MAX_LINES = 1_000_000
MAX_LINE = 64 * 1024
TIME_KEYS = ("StartTime", "EndTime", "SubmitTime", "EligibleTime")
SACCT_COLUMNS = (
    "JobID", "JobName", "User", "Partition", "Submit", "Eligible", "Start", "End", "Timelimit", "NNodes", "NCPUS",
    "AllocTRES", "State", "ExitCode", "NodeList",
)  # fmt: skip


def _epoch(text: str, where: str) -> float | None:
    if text in ("", "Unknown", "None", "N/A"):
        return None
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        raise SchedlabError(f"{where}: time {text[:40]!r} is not YYYY-MM-DDTHH:MM:SS") from None


def parse_line(line: str, where: str = "jobcomp") -> dict:
    """One record: the ``Key=Value`` pairs (values without spaces, as filetxt writes them), times
    as epoch seconds (local time, as the controller wrote them) under ``start``, ``end``, ``submit``,
    ``eligible``; ``job_id`` int and ``time_limit_min`` (None: unlimited)."""
    fields: dict[str, str] = {}
    for item in line.split():
        key, eq, value = item.partition("=")
        if eq:
            fields[key] = value
    if "JobId" not in fields or not fields["JobId"].isdigit():
        raise SchedlabError(f"{where}: not a jobcomp/filetxt record (no JobId=N)")
    rec: dict = dict(fields)
    rec["job_id"] = int(fields["JobId"])
    for key in TIME_KEYS:
        rec[key.removesuffix("Time").lower()] = _epoch(fields.get(key, ""), where)
    limit = fields.get("TimeLimit", "")
    rec["time_limit_min"] = int(limit) if limit.isdigit() else None
    return rec


def read_jobcomp(path: str | Path) -> list[dict]:
    """Every record of a jobcomp/filetxt log (see :func:`parse_line`); a missing file: no records."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines(MAX_LINES * 200)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SchedlabError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    out = []
    for i, line in enumerate(lines[:MAX_LINES], start=1):
        if line.strip():
            out.append(parse_line(line[:MAX_LINE], f"{path}:{i}"))
    return out


def _iso(t: float | None) -> str:
    return "Unknown" if t is None else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))


def _limit(minutes: int | None) -> str:
    if minutes is None:
        return "UNLIMITED"
    d, rest = divmod(minutes, 1440)
    return (f"{d}-" if d else "") + f"{rest // 60:02d}:{rest % 60:02d}:00"


def to_sacct(records: list[dict], gpus: dict | None = None, users: dict | None = None) -> str:
    """The records as ``sacct --parsable2`` text (times in UTC, without an offset, as the readers
    assume by default).  ``gpus``: job id -> GPUs of the whole job (added to AllocTRES as gres/gpu);
    ``users``: job id -> user name to write instead of the one Slurm recorded."""
    gpus, users = gpus or {}, users or {}
    lines = ["|".join(SACCT_COLUMNS)]
    for r in records:
        jid = r["job_id"]
        tres = f"cpu={r.get('ProcCnt', '')},node={r.get('NodeCnt', '')}"
        if gpus.get(jid):
            tres += f",gres/gpu={int(gpus[jid])}"
        user = users.get(jid) or r.get("UserId", "").split("(")[0]
        row = [
            str(jid), r.get("Name", ""), user, r.get("Partition", ""), _iso(r["submit"]), _iso(r["eligible"]),
            _iso(r["start"]), _iso(r["end"]), _limit(r["time_limit_min"]), r.get("NodeCnt", ""),
            r.get("ProcCnt", ""), tres, r.get("JobState", ""), r.get("ExitCode", ""), r.get("NodeList", ""),
        ]  # fmt: skip
        lines.append("|".join(v.replace("|", "/") for v in row))
    return "\n".join(lines) + "\n"


__all__ = ["parse_line", "read_jobcomp", "to_sacct"]
