"""A job table (``sacct --parsable2`` or ``--json``, CSV, Parquet, OpenDC, the Alibaba GPU pod list,
a ``schedlab simulate --out`` table) as a :class:`~schedlab.workload.Workload` with multi-resource
requests (:class:`~schedlab.workload.resources.JobResources`), every change counted.

The file is read by the reader layer ``schedlab analyze`` uses (:mod:`schedlab.workload.jobtables`,
one canonical frame), then cleaned for a simulation.  Dropped, in this order (a job is counted
under the first rule that drops it):

1. job-step lines (``123.batch``, ``123.0``; sacct text) - by the reader;
2. jobs that never started: state PENDING, or no start time;
3. jobs cancelled before they started (state CANCELLED, end = start);
4. end before start (negative runtime); 5. no end time (still running); 6. runtime 0 (end = start);
7. no submit time; 8. (pod list) a pod phase other than Running / Succeeded / Failed / Pending;
9. with ``partitions`` given, jobs in a partition the machine does not have ("unknown partition X";
   a job with no partition goes to the default one and stays).

Changed (counted): start before submit -> submit := start; no time limit (missing, UNLIMITED, 0)
-> the runtime ("no time limit: estimate = runtime"); a runtime over the limit is kept as it ran
(counted); nodes missing -> 1; CPUs missing or 0 -> 1 per node; GPUs, memory or nice missing on a
job of a table that has them -> 0; whole CPUs or GPUs that do not divide evenly over the nodes ->
the per-node count rounded up; job ids that are not all whole numbers (``123_4``, pod names) ->
numbered 1..n in file order; jobs submitted out of order -> sorted (stable); duplicate ids kept.
What the table lacks altogether (users, partitions, GPUs, memory, time limits, ...) is one note.

Units: times in seconds, submit relative to the first job (``unix_start``: its epoch second, None
for tables with relative times: the pod list, simulation output), ``procs`` = total CPUs rounded up
(at least one per node), ``resources.cpus_per_node`` = CPUs / nodes, ``gpus_per_node`` = GPUs x
GPU share / nodes, ``mem_per_node`` in MiB (0: not stated).  Users are coded 0, 1, ... in order of
first submit (-1: unknown).  The machine is taken as the largest job (noted): pass the workload to
a cluster description for the real one.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.table import Workload

#: formats whose times count from the start of the trace, not from the Unix epoch
RELATIVE_TIMES = ("alibaba_pods", "schedlab")
NO_LIMIT_RULE = "no time limit: estimate = runtime"
ID_RULE = "job ids not all whole numbers -> numbered 1..n in file order"
_POD_STATES = ("COMPLETED", "FAILED", "RUNNING", "PENDING")
_STATUS = {"COMPLETED": 1, "CANCELLED": 5, "UNKNOWN": -1, "RUNNING": -1}  # anything else: 0 (failed)
_INT_ID = r"[0-9]{1,18}"


def workload_from_jobs(
    path: str | Path,
    format: str | None = None,
    timezone: str = "UTC",
    partitions: Collection[str] | None = None,
) -> Workload:
    """Read a job table of any format the analytics layer reads (``format`` None or "auto": guessed)
    and clean it for simulation (rules and units: see the module docstring).  ``timezone``: the zone
    of naive time stamps.  ``partitions``: the partition names the machine has, or None (keep all)."""
    from schedlab.workload.jobtables.source import read_frame

    frame, fmt, report = read_frame(path, format or "auto", timezone, steps="drop")
    c = _columns(frame)
    keep = np.ones(len(frame), dtype=bool)
    _drop_rules(c, keep, report, fmt, partitions)
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        raise SchedlabError(f"{report.source}: no jobs left after cleaning ({report.summary()})")
    c = {k: v[idx] for k, v in c.items()}
    _note_absent(c, report, fmt)
    submit, run, req_time = _times(c, report)
    req = _requests(c, report)
    order = np.argsort(submit, kind="stable")
    out_of_order = int(np.sum(submit[1:] < np.maximum.accumulate(submit)[:-1])) if len(submit) > 1 else 0
    report.change("submitted out of order -> sorted by submit time", out_of_order)
    return _build(path, fmt, c, order, submit, run, req_time, req, report)


def _columns(frame) -> dict[str, np.ndarray]:
    """The canonical frame as numpy arrays: numbers float64 (NaN missing), text object (None missing)."""
    import pandas as pd

    out = {}
    for k in ("submit", "start", "end", "nodes", "cpus", "gpus", "gpu_share", "mem_per_node", "nice", "time_limit"):
        out[k] = pd.to_numeric(frame[k], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    for k in ("job_id", "user", "partition", "account", "qos", "gpu_type", "state"):
        s = frame[k].astype("string").str.strip()
        out[k] = s.mask(s == "").astype(object).where(s.notna() & (s != ""), None).to_numpy()
    out["state"] = np.array([str(s).upper() if s is not None else "UNKNOWN" for s in out["state"]], dtype=object)
    out["row"] = np.arange(len(frame), dtype=np.int64)
    return out


def _drop_rules(c: dict, keep: np.ndarray, report: CleaningReport, fmt: str, partitions) -> None:
    """The drop rules 2-9 of the module docstring, in order, each counted."""
    start, end, state = c["start"], c["end"], c["state"]
    with np.errstate(invalid="ignore"):
        report.drop_where(keep, np.isnan(start) | (state == "PENDING"), "never started (pending, or no start time)")
        report.drop_where(
            keep, (state == "CANCELLED") & (end == start), "cancelled before it started (CANCELLED, end = start)"
        )
        report.drop_where(keep, end < start, "with end before start (negative runtime)")
        report.drop_where(keep, np.isnan(end), "with no end time (still running)")
        report.drop_where(keep, end == start, "with runtime 0 (end = start)")
    report.drop_where(keep, np.isnan(c["submit"]), "with no submit time")
    if fmt == "alibaba_pods":
        odd = ~np.isin(state, _POD_STATES)
        report.drop_where(keep, odd, "with a pod phase other than Running, Succeeded, Failed or Pending")
    if partitions is not None:
        known = {str(p) for p in partitions}
        part = c["partition"]
        for p in sorted({p for p in part[keep] if p is not None and p not in known}):
            report.drop_where(keep, part == p, f"unknown partition {p}")


def _note_absent(c: dict, report: CleaningReport, fmt: str) -> None:
    """One note naming what the table does not have at all (never guessed silently)."""
    lacks = {
        "user": "users (user -1)",
        "partition": "partitions (default partition)",
        "account": "accounts",
        "qos": "QOS",
        "nodes": "node counts (1 node per job)",
        "cpus": "CPU counts (1 CPU per node)",
        "gpus": "GPU counts (no GPUs)",
        "mem_per_node": "memory (0: not stated)",
        "nice": "nice values (0)",
        "time_limit": f"time limits ({NO_LIMIT_RULE})",
    }
    missing = [
        text
        for k, text in lacks.items()
        if (all(v is None for v in c[k]) if c[k].dtype == object else bool(np.isnan(c[k]).all()))
    ]
    has_gpus = bool(np.nansum(c["gpus"]) > 0)
    if has_gpus and all(v is None for v in c["gpu_type"]):
        missing.append("GPU types (any GPU)")
    if missing:
        report.notes.append(f"not in this {fmt} table: " + "; ".join(missing))


def _times(c: dict, report: CleaningReport) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(submit, runtime, requested time) in seconds; submit on the source clock."""
    submit, start = c["submit"].copy(), c["start"]
    early = start < submit
    report.change("started before submit -> submit := start (wait 0)", int(early.sum()))
    submit[early] = start[early]
    run = c["end"] - start
    limit = c["time_limit"].copy()
    with np.errstate(invalid="ignore"):
        none = np.isnan(limit) | (limit <= 0)
    report.change(NO_LIMIT_RULE, int(none.sum()))
    limit[none] = run[none]
    report.change("ran longer than its time limit (kept as it ran)", int(np.sum(run > limit)))
    return submit, run, limit


def _fill(x: np.ndarray, value: float, report: CleaningReport, rule: str, bad=None) -> np.ndarray:
    """``x`` with NaN (and ``bad``) entries set to ``value``; counted only when the table has the column."""
    x = x.copy()
    miss = np.isnan(x) if bad is None else (np.isnan(x) | bad)
    if not np.isnan(x).all():
        report.change(rule, int(miss.sum()))
    x[miss] = value
    return x


def _per_node(total: np.ndarray, nodes: np.ndarray, report: CleaningReport, what: str) -> np.ndarray:
    """``total / nodes``; whole totals that do not divide evenly are rounded up per node (counted)."""
    per = total / nodes
    uneven = (total == np.floor(total)) & (per != np.floor(per))
    report.change(f"{what} not divisible by the nodes -> per-node count rounded up", int(uneven.sum()))
    return np.where(uneven, np.ceil(per), per)


def _requests(c: dict, report: CleaningReport) -> dict:
    """nodes, procs and the per-node requests of each kept job (see the module docstring)."""
    with np.errstate(invalid="ignore"):
        nodes = _fill(c["nodes"], 1.0, report, "nodes missing or < 1 -> 1", bad=c["nodes"] < 1)
        cpus = c["cpus"]
        no_cpus = np.isnan(cpus) | (cpus <= 0)
        cpus_per_node = _per_node(np.where(no_cpus, nodes, cpus), nodes, report, "CPUs")
        report.change("CPUs missing or 0 -> 1 per node", int(no_cpus.sum()) if not np.isnan(cpus).all() else 0)
        gpus = _fill(c["gpus"], 0.0, report, "GPU count missing -> 0")
        share = np.where(np.isnan(c["gpu_share"]), 1.0, c["gpu_share"])
        gpus_per_node = _per_node(gpus, nodes, report, "GPUs") * share
        mem = _fill(c["mem_per_node"], 0.0, report, "memory missing -> 0 (not stated)")
        nice = _fill(c["nice"], 0.0, report, "nice missing -> 0")
    procs = np.maximum(np.ceil(np.where(no_cpus, nodes, cpus) - 1e-9), nodes)
    return {
        "nodes": nodes.astype(np.int64),
        "procs": procs.astype(np.int64),
        "cpus_per_node": cpus_per_node,
        "gpus_per_node": gpus_per_node,
        "mem_per_node": mem,
        "nice": nice.astype(np.int64),
    }


def _job_ids(ids: np.ndarray, rows: np.ndarray, report: CleaningReport) -> np.ndarray:
    """Whole-number ids as int64; if any is not (``123_4``, a pod name), all numbered by file row."""
    import re

    pat = re.compile(_INT_ID, re.ASCII)
    if all(v is not None and pat.fullmatch(v) for v in ids):
        return np.array([int(v) for v in ids], dtype=np.int64)
    example = next((v for v in ids if v is None or not pat.fullmatch(v)), None)
    report.change(ID_RULE, len(ids))
    report.notes.append(f"job ids such as {str(example)[:40]!r} are not whole numbers: jobs numbered by file row")
    return rows + 1


def _codes(values: np.ndarray) -> np.ndarray:
    """Names -> 0, 1, ... in order of first appearance; None -> -1."""
    seen: dict = {}
    return np.array([-1 if v is None else seen.setdefault(v, len(seen)) for v in values], dtype=np.int64)


def _build(path, fmt: str, c: dict, order, submit, run, req_time, req: dict, report: CleaningReport) -> Workload:
    """The sorted Workload with its resources, machine size and counted report."""
    from schedlab.workload.cleaning import DUPLICATE_ID_RULE
    from schedlab.workload.resources import JobResources

    c = {k: v[order] for k, v in c.items()}
    req = {k: v[order] for k, v in req.items()}
    raw = submit[order]
    ids = _job_ids(c["job_id"], c["row"], report)
    report.change(DUPLICATE_ID_RULE, len(ids) - len(np.unique(ids)))
    n = len(ids)
    res = JobResources.build(
        n,
        **{k: req[k] for k in ("nodes", "cpus_per_node", "gpus_per_node", "mem_per_node", "nice")},
        **{k: c[k] for k in ("partition", "qos", "account", "gpu_type")},
    )
    max_procs, max_nodes = int(req["procs"].max()), int(req["nodes"].max())
    report.notes.append(
        f"machine size not in a job table: without a machine description (--cluster), taken as the largest job, "
        f"{max_procs:,} CPUs on {max_nodes:,} node(s)"
    )
    report.kept = n
    relative = fmt in RELATIVE_TIMES or any("no UnixStartTime" in note for note in report.notes)
    return Workload(
        name=_name(Path(report.source)),
        job_id=ids,
        submit=raw - raw[0],
        run=run[order],
        req_time=req_time[order],
        procs=req["procs"],
        user=_codes(c["user"]),
        raw_submit=raw,
        status=np.array([_STATUS.get(s, 0) for s in c["state"]], dtype=np.int64),
        max_procs=max_procs,
        max_nodes=max_nodes,
        unix_start=None if relative else int(np.floor(raw[0])),
        cleaning=report,
        rules="textbook",
        resources=res,
    )


def _name(path: Path) -> str:
    """``sacct_2024.txt`` -> sacct_2024; ``surf_week/tasks.parquet`` -> surf_week."""
    name = path.name
    for ext in (".gz", ".txt", ".csv", ".json", ".parquet", ".swf"):
        name = name.removesuffix(ext)
    return path.parent.name if name in ("tasks", "jobs") and path.parent.name else name


__all__ = ["ID_RULE", "NO_LIMIT_RULE", "RELATIVE_TIMES", "workload_from_jobs"]
