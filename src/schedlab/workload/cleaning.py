"""Cleaning rules: from a parsed SWF file to a :class:`Workload`, every change counted.

Three rule sets, chosen by the simulation preset:

``textbook`` (default)
  1. requested processors (field 8) <= 0  -> use allocated processors (field 5)
  2. still no processor count              -> job dropped
  3. requested time (field 9) <= 0         -> use the actual runtime (estimate = actual)
  4. runtime <= 0 (or missing)             -> job dropped
  5. submit time < 0 (missing)             -> job dropped
  6. MaxProcs header missing               -> MaxNodes; both missing -> largest job (noted)
  7. job needs more processors than MaxProcs -> job dropped
  8. submit times not monotone             -> stable sort by submit (count of jobs moved)
  9. submit times re-based so the first job submits at 0
  Runtime longer than requested is kept (counted); the simulator kills at the request by default.

All three rule sets: a kept job whose id an earlier kept job already has stays (each peer keeps
it) and is counted as ``duplicate job id (job kept; ids not unique)``.  What the reader refuses
before any rule runs (non-numbers, inf/nan, values beyond 2^53, fractional processor counts or ids,
more than 10^8 processors, MaxNodes > MaxProcs, absurd headers) is listed in
:mod:`schedlab.workload.swf`; with ``lenient`` such lines are counted as malformed instead.

``rlscheduler``  RLScheduler SchedGym's loader (SC20): runtime < 0 -> 10, runtime == 0
  dropped, processors = max(allocated, requested), requested time -1 -> runtime, jobs kept in
  job-number order.  Nothing else is filtered, except jobs with no processor count at all (both
  fields <= 0; none in RLScheduler's traces), dropped and counted.

``cqsim``  CQSim's loader (``Filter_job_SWF.input_check``): runtime clipped to the requested time,
  then jobs with requested processors <= 0, requested time <= 0, runtime <= 0, job id <= 0 or
  submit time < 0 dropped (fields compared as int(), as CQSim does).  The machine is MaxProcs
  processors.  Jobs kept in submit order (CQSim reads them in file order).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.swf import RawTrace
from schedlab.workload.table import Workload

RULE_SETS = ("textbook", "rlscheduler", "cqsim")
#: the cleaning-report entry for jobs kept although an earlier kept job has the same id
DUPLICATE_ID_RULE = "duplicate job id (job kept; ids not unique)"


def _machine_size(raw: RawTrace, procs: np.ndarray, report: CleaningReport) -> tuple[int, int]:
    max_procs, max_nodes = raw.machine()  # each <= MAX_PROCS, MaxNodes <= MaxProcs (else refused)
    if max_procs is None and max_nodes is not None:
        max_procs = max_nodes
        report.notes.append(f"MaxProcs header missing: using MaxNodes = {max_nodes}")
    if max_procs is None:
        max_procs = int(procs.max()) if len(procs) else 1
        report.notes.append(
            f"MaxProcs and MaxNodes headers missing: machine size taken as the largest job, {max_procs}"
        )
    if max_nodes is None:
        max_nodes = max_procs
        report.notes.append(f"MaxNodes header missing: assuming one processor per node ({max_nodes} nodes)")
    return max_procs, max_nodes


def _build(
    raw: RawTrace,
    keep: np.ndarray,
    procs,
    req_time,
    run,
    report: CleaningReport,
    max_procs: int,
    max_nodes: int,
    rules: str,
    order: np.ndarray | None = None,
) -> Workload:
    f = raw.fields
    idx = np.flatnonzero(keep)
    if order is None:
        order = np.argsort(f[idx, 1], kind="stable")
    idx_sorted = idx[order]
    submit_raw = f[idx_sorted, 1]
    first = submit_raw[0] if len(submit_raw) else 0.0
    report.kept = len(idx_sorted)
    _count_duplicate_ids(f[idx_sorted, 0], report)
    unix = raw.unix_start()
    return Workload(
        name=Path(raw.source).name.replace(".gz", "").replace(".swf", ""),
        job_id=f[idx_sorted, 0].astype(np.int64),
        submit=(submit_raw - first).astype(np.float64),
        run=np.asarray(run, dtype=np.float64)[idx_sorted],
        req_time=np.asarray(req_time, dtype=np.float64)[idx_sorted],
        procs=np.asarray(procs, dtype=np.int64)[idx_sorted],
        user=f[idx_sorted, 11].astype(np.int64),
        raw_submit=submit_raw.astype(np.float64),
        status=f[idx_sorted, 10].astype(np.int64),
        max_procs=int(max_procs),
        max_nodes=int(max_nodes),
        unix_start=unix,
        cleaning=report,
        rules=rules,
    )


def _count_duplicate_ids(ids: np.ndarray, report: CleaningReport) -> None:
    """Jobs that share their id with another kept job are kept (all three peers' loaders do) and counted."""
    report.change(DUPLICATE_ID_RULE, len(ids) - len(np.unique(ids)))


def _new_report(raw: RawTrace) -> CleaningReport:
    return CleaningReport(
        source=raw.source, read=len(raw) + raw.malformed_skipped, malformed_skipped=raw.malformed_skipped
    )


def clean_textbook(raw: RawTrace) -> Workload:
    report = _new_report(raw)
    f = raw.fields
    run = f[:, 3].copy()
    procs = f[:, 7].copy()
    no_req_procs = procs <= 0
    report.change("requested procs missing -> allocated procs", int(np.sum(no_req_procs & (f[:, 4] > 0))))
    procs[no_req_procs] = f[no_req_procs, 4]
    req_time = f[:, 8].copy()
    no_req_time = req_time <= 0
    report.change("requested time missing -> runtime (estimate = actual)", int(np.sum(no_req_time & (run > 0))))
    req_time[no_req_time] = run[no_req_time]

    keep = np.ones(len(raw), dtype=bool)
    drop = partial(report.drop_where, keep)

    drop(procs <= 0, "with no processor count")
    drop(run <= 0, "with runtime <= 0")
    drop(f[:, 1] < 0, "with no submit time")
    max_procs, max_nodes = _machine_size(raw, procs[keep], report)
    drop(procs > max_procs, f"requesting more than MaxProcs ({max_procs})")
    report.change("ran longer than requested (killed at the request by default)", int(np.sum(keep & (run > req_time))))
    sub = f[keep, 1]
    out_of_order = int(np.sum(sub[1:] < np.maximum.accumulate(sub)[:-1])) if len(sub) > 1 else 0
    report.change("submitted out of order -> sorted by submit time", out_of_order)
    return _build(raw, keep, procs, req_time, run, report, max_procs, max_nodes, "textbook")


def clean_rlscheduler(raw: RawTrace) -> Workload:
    report = _new_report(raw)
    f = raw.fields
    run = f[:, 3].copy()
    procs = np.maximum(f[:, 4], f[:, 7])
    req_time = f[:, 8].copy()
    # As their Job(): requested time -1 takes the runtime as written, before Workloads turns a
    # negative runtime into 10 s (so such a job keeps a negative requested time).
    report.change("requested time -1 -> runtime", int(np.sum(req_time == -1)))
    req_time[req_time == -1] = run[req_time == -1]
    report.change("runtime < 0 -> 10 s (RLScheduler rule)", int(np.sum(run < 0)))
    run[run < 0] = 10
    keep = run > 0
    report.drop("with runtime == 0", int(np.sum(~keep)))
    # not in RLScheduler's loader (its traces have none): a job with no processor count cannot run
    report.drop_where(keep, procs <= 0, "with no processor count (allocated and requested <= 0)")
    max_procs, max_nodes = _machine_size(raw, procs[keep], report)
    idx = np.flatnonzero(keep)
    order = np.argsort(f[idx, 0], kind="stable")  # RLScheduler sorts jobs by job number
    return _build(raw, keep, procs, req_time, run, report, max_procs, max_nodes, "rlscheduler", order)


def clean_cqsim(raw: RawTrace) -> Workload:
    # CQSim's Filter_job_SWF.input_check compares int() of the fields: the runtime is clipped when
    # int(run) > int(reqTime), then a job is dropped if int() of its id, submit, (clipped) runtime,
    # requested time or requested processors fails the test below.
    report = _new_report(raw)
    f = raw.fields
    run = f[:, 3].copy()
    req_time = f[:, 8].copy()
    procs = f[:, 7].copy()
    clip = np.trunc(run) > np.trunc(req_time)
    run[clip] = req_time[clip]
    keep = np.ones(len(raw), dtype=bool)
    drop = partial(report.drop_where, keep)

    drop(np.trunc(procs) <= 0, "with requested procs <= 0 (CQSim rule)")
    drop(np.trunc(req_time) <= 0, "with requested time <= 0 (CQSim rule)")
    drop(np.trunc(run) <= 0, "with runtime <= 0 after clipping (CQSim rule)")
    drop(np.trunc(f[:, 0]) <= 0, "with job id <= 0 (CQSim rule)")
    drop(np.trunc(f[:, 1]) < 0, "with submit time < 0 (CQSim rule)")
    report.change("runtime clipped to requested time", int(np.sum(keep & clip)))
    max_procs, max_nodes = _machine_size(raw, procs[keep], report)
    return _build(raw, keep, procs, req_time, run, report, max_procs, max_nodes, "cqsim")


CLEANERS = {"textbook": clean_textbook, "rlscheduler": clean_rlscheduler, "cqsim": clean_cqsim}


def clean(raw: RawTrace, rules: str = "textbook") -> Workload:
    """Apply a named rule set (see module docstring) and return the cleaned workload."""
    try:
        cleaner = CLEANERS[rules]
    except KeyError:
        raise SchedlabError(f"unknown cleaning rules {rules!r}; choose one of {', '.join(CLEANERS)}") from None
    wl = cleaner(raw)
    if len(wl) == 0:
        raise SchedlabError(f"{raw.source}: no jobs left after cleaning ({wl.cleaning.summary()})")
    return wl
