"""``sacct --json`` output as a canonical job frame.

Slurm's JSON (``openapi/dbv0.0.37`` in 21.08, ``data_parser/v0.0.39`` and later) holds a top-level
``jobs`` list; per job the fields read are ``job_id``, ``user``, ``account``, ``partition``,
``qos`` (each also from ``association`` when absent), ``time.submission`` / ``start`` / ``end``
(epoch seconds; 0: never), ``time.limit`` (minutes), ``state.current`` (a string, or a list of
flags whose first is the state), ``exit_code``, ``nodes`` (a hostlist), ``allocation_nodes``,
``tres.allocated`` / ``tres.requested`` (lists of ``{type, name, count}``), ``required.CPUs``
and ``required.memory`` / ``memory_per_node`` / ``memory_per_cpu`` (MiB).  Numbers may be plain
or Slurm's ``{"set": true, "infinite": false, "number": N}``; unset or infinite is missing (an
infinite time limit is UNLIMITED).  The job's steps (``steps``) are part of the job: counted in
a note, not read.

The values are checked as the text formats' are (the job is mapped onto sacct's column names
and read by :func:`~.frames._frame_from_columns`): a field of the wrong kind (an object where a
number belongs, a number beyond 2^63, ``NaN``), a file over :data:`MAX_JSON_BYTES` or nested
deeper than Python's parser goes raises :class:`JobFormatError` naming the file and the job.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

from schedlab.errors import JobFormatError
from schedlab.workload.cleaning_report import CleaningReport

#: the largest ``sacct --json`` file read (after decompression); use --parsable2 beyond it
MAX_JSON_BYTES = 512 << 20
#: the longest text field accepted (user, account, node list, ...)
MAX_TEXT = 1 << 16
#: Slurm's NO_VAL / INFINITE markers of 32- and 64-bit fields: not a value
_NO_VALUES = (2**32 - 2, 2**32 - 1, 2**64 - 2, 2**64 - 1)
_MEM_PER_CPU = 2**63  # the flag bit of v0.0.37's required.memory
_COLUMNS = (
    "JobID",
    "User",
    "Account",
    "Partition",
    "QOS",
    "Submit",
    "Start",
    "End",
    "time_limit_s",
    "State",
    "ExitCode",
    "NodeList",
    "NNodes",
    "NCPUS",
    "ReqCPUS",
    "ReqMem",
    "AllocTRES",
    "ReqTRES",
    "nice",
)


class _Bad(Exception):
    """A field of the wrong kind; turned into a JobFormatError naming the job."""


def load_json(path: Path) -> dict:
    """The document, bounded in size, strict (no NaN/Infinity), nesting errors as JobFormatError."""
    try:
        if Path(path).stat().st_size > MAX_JSON_BYTES:
            raise JobFormatError(f"{path}: over {MAX_JSON_BYTES >> 20} MiB of JSON; export with sacct --parsable2")
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        with (gzip.open if gz else open)(path, "rb") as fh:
            data = fh.read(MAX_JSON_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise JobFormatError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    if len(data) > MAX_JSON_BYTES:
        raise JobFormatError(f"{path}: over {MAX_JSON_BYTES >> 20} MiB of JSON; export with sacct --parsable2")

    def no_constant(name):
        raise _Bad(f"{name} is not a number JSON allows")

    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=no_constant)
    except UnicodeDecodeError as exc:
        raise JobFormatError(f"{path}: not UTF-8 text (byte offset {exc.start})") from None
    except RecursionError:
        raise JobFormatError(f"{path}: JSON nested too deeply") from None
    except (json.JSONDecodeError, _Bad) as exc:
        raise JobFormatError(f"{path}: not valid JSON ({str(exc)[:200]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("jobs"), list):
        raise JobFormatError(f"{path}: not sacct --json output (no top-level 'jobs' list)")
    return doc


def read_sacct_json(path: Path, tz: str, report: CleaningReport):
    """``sacct --json`` (see the module docstring) as a canonical frame."""
    import pandas as pd

    from schedlab.workload.jobtables.frames import _frame_from_columns

    doc = load_json(path)
    rows, steps = [], 0
    for i, job in enumerate(doc["jobs"]):
        where = f"{path}: job {i + 1}"
        try:
            if not isinstance(job, dict):
                raise _Bad("not an object")
            where += f" (id {str(job.get('job_id'))[:20]})"
            rows.append(_job_row(job))
            steps += len(job["steps"]) if isinstance(job.get("steps"), list) else 0
        except _Bad as exc:
            raise JobFormatError(f"{where}: {str(exc)[:200]}") from None
    report.read = len(rows)
    _note_version(doc, report)
    report.notes.append(f"{steps:,} job step(s) (each job's steps list) are part of their jobs: not read")
    df = pd.DataFrame(rows, columns=list(_COLUMNS))
    return _frame_from_columns(df, str(path), tz, report)


def _note_version(doc: dict, report: CleaningReport) -> None:
    meta = doc.get("meta") or doc.get("metadata")
    if not isinstance(meta, dict):
        return
    slurm = meta.get("slurm") or meta.get("Slurm")
    plugin = meta.get("plugin")
    release = slurm.get("release") if isinstance(slurm, dict) else None
    kind = plugin.get("type") or plugin.get("data_parser") if isinstance(plugin, dict) else None
    if isinstance(release, str) or isinstance(kind, str):
        report.notes.append(f"sacct --json of Slurm {str(release)[:40]} ({str(kind)[:60]})")


def _num(v, field: str, *, zero_is_none: bool = False):
    """A plain or ``{set, infinite, number}`` number -> float or None (unset, infinite, NO_VAL)."""
    if isinstance(v, dict):
        if not v.get("set", True) or v.get("infinite", False):
            return None
        v = v.get("number")
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _Bad(f"field {field}: {str(v)[:40]!r} is not a number")
    if isinstance(v, int) and (abs(v) > 2**64 or v in _NO_VALUES):
        if v in _NO_VALUES:
            return None
        raise _Bad(f"field {field}: {v:.3g} is out of range")
    if zero_is_none and v == 0:
        return None
    return float(v)


def _text(v, field: str):
    if v is None or v == "":
        return None
    if isinstance(v, int | float) and not isinstance(v, bool):
        return str(v)
    if not isinstance(v, str):
        raise _Bad(f"field {field}: expected text, found {type(v).__name__}")
    if len(v) > MAX_TEXT:
        raise _Bad(f"field {field}: {len(v):,} characters")
    return v


def _get(obj: dict, key: str, kind=dict):
    v = obj.get(key)
    if v is None:
        return kind()
    if not isinstance(v, kind):
        raise _Bad(f"field {key}: expected {'an object' if kind is dict else 'a list'}, found {type(v).__name__}")
    return v


def _job_row(job: dict) -> list:
    """One job as the values of :data:`_COLUMNS`."""
    assoc = _get(job, "association")
    t = _get(job, "time")
    if job.get("job_id") is None:
        raise _Bad("no job_id")
    job_id = _num(job.get("job_id"), "job_id")
    if job_id is None or job_id < 0 or job_id != int(job_id):
        raise _Bad(f"job_id {job.get('job_id')!r} is not a job number")
    limit = _num(t.get("limit"), "time.limit")
    tres = _get(job, "tres")
    allocated = _get(tres, "allocated", list)
    alloc = _tres_text(allocated, "tres.allocated")
    ncpus = next((_num(i.get("count"), "tres.allocated.count") for i in allocated if _is_cpu(i)), None)
    nodes = _num(job.get("allocation_nodes"), "allocation_nodes", zero_is_none=True)
    req_cpus, req_mem = _required(_get(job, "required"))
    return [
        str(int(job_id)),
        _text(job.get("user") or assoc.get("user"), "user"),
        _text(job.get("account") or assoc.get("account"), "account"),
        _text(job.get("partition") or assoc.get("partition"), "partition"),
        _text(job.get("qos"), "qos"),
        _num(t.get("submission"), "time.submission", zero_is_none=True),
        _num(t.get("start"), "time.start", zero_is_none=True),
        _num(t.get("end"), "time.end", zero_is_none=True),
        None if limit is None else limit * 60.0,
        _state(job.get("state")),
        _exit_code(job.get("exit_code")),
        _text(job.get("nodes"), "nodes"),
        nodes,
        ncpus,
        req_cpus,
        req_mem,
        alloc,
        _tres_text(_get(tres, "requested", list), "tres.requested"),
        _num(job.get("nice"), "nice"),
    ]


def _state(v):
    """``state.current`` (string or list: the first entry), or a plain string state."""
    if isinstance(v, dict):
        v = v.get("current")
    if isinstance(v, list):
        v = v[0] if v else None
    return _text(v, "state.current")


def _exit_code(v):
    """``code:signal`` as sacct prints it; None when the object has no return code."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f"{int(v)}:0"
    if not isinstance(v, dict):
        return None
    try:
        rc = _num(v.get("return_code"), "exit_code.return_code")
        sig = v.get("signal")
        sig = _num(sig.get("id") if isinstance(sig, dict) else sig, "exit_code.signal")
    except _Bad:
        return None
    return None if rc is None else f"{int(rc)}:{int(sig or 0)}"


def _tres_text(items: list, field: str):
    """A TRES list -> ``cpu=4,mem=2048M,node=1,gres/gpu:a100=2`` (sacct's AllocTRES form); None if empty."""
    parts = []
    for k, item in enumerate(items[:256]):
        if not isinstance(item, dict):
            raise _Bad(f"field {field}[{k}]: expected an object")
        kind, name = _text(item.get("type"), f"{field}[{k}].type"), _text(item.get("name"), f"{field}[{k}].name")
        count = _num(item.get("count"), f"{field}[{k}].count")
        if count is not None and count < 0:
            raise _Bad(f"field {field}[{k}].count: {count:g} is negative")
        if count is None or kind is None:
            continue
        value = f"{count:.0f}" if count == int(count) else repr(count)
        if kind in ("cpu", "node"):
            parts.append(f"{kind}={value}")
        elif kind == "mem":
            parts.append(f"mem={value}M")
        elif kind == "gres" and name is not None and (name == "gpu" or name.startswith("gpu:")):
            parts.append(f"gres/{name}={value}")
    return ",".join(parts) or None


def _is_cpu(item) -> bool:
    return isinstance(item, dict) and item.get("type") == "cpu"


def _required(req: dict) -> tuple:
    """(ReqCPUS, ReqMem) from ``required``: ``{CPUs, memory}`` (v0.0.37/38; the MEM_PER_CPU flag bit
    marks per-CPU memory) or ``{CPUs, memory_per_node, memory_per_cpu}`` (v0.0.39 and later)."""
    cpus = _num(req.get("CPUs"), "required.CPUs")
    per_node = _num(req.get("memory_per_node"), "required.memory_per_node")
    per_cpu = _num(req.get("memory_per_cpu"), "required.memory_per_cpu")
    old = req.get("memory")
    if isinstance(old, int) and not isinstance(old, bool) and old >= _MEM_PER_CPU and old not in _NO_VALUES:
        per_cpu = float(old - _MEM_PER_CPU)
    elif per_node is None and per_cpu is None:
        per_node = _num(old, "required.memory")
    if per_node:
        return cpus, f"{per_node:.0f}Mn"
    if per_cpu:
        return cpus, f"{per_cpu:.0f}Mc"
    return cpus, None


__all__ = ["MAX_JSON_BYTES", "load_json", "read_sacct_json"]
