"""Standard Workload Format (SWF) traces as a canonical job frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.schema import absent_resources


def read_swf_jobs(path: Path, report: CleaningReport):
    """An SWF trace via :func:`schedlab.workload.read_swf`: submit + wait = start, status 1/0/5 =
    COMPLETED/FAILED/CANCELLED, processors = cores, nodes from the MaxProcs/MaxNodes header.

    Read leniently: lines the SWF reader refuses (non-numbers, inf/nan, values beyond 2^53,
    fractional ids or processor counts) are skipped and counted as malformed; a negative submit
    time (SWF's -1, unknown) is missing, so the job is dropped by the "no job id or submit time"
    rule; a negative wait or runtime leaves the job without start/end (never started)."""
    import pandas as pd

    from schedlab.workload import read_swf
    from schedlab.workload.swf import COL

    raw = read_swf(path, lenient=True)
    report.read = len(raw) + raw.malformed_skipped
    report.malformed_skipped = raw.malformed_skipped
    f = raw.fields
    origin = raw.unix_start()
    if origin is None:
        origin = 0
        report.notes.append("SWF has no UnixStartTime header: times count from 1970-01-01 00:00 UTC")
    sub = f[:, COL["submit"]]
    # SWF writes -1 for an unknown submit time: missing (the job is dropped and counted in cleaning)
    submit = np.where(sub >= 0, origin + sub, np.nan)
    wait = f[:, COL["wait"]]
    run = f[:, COL["run"]]
    # wait or runtime -1 (unknown; e.g. cancelled before start): no start, kept for state counts
    start = np.where((wait >= 0) & (run >= 0), submit + np.maximum(wait, 0), np.nan)
    end = np.where(run >= 0, start + run, np.nan)
    procs = np.where(f[:, COL["alloc_procs"]] > 0, f[:, COL["alloc_procs"]], f[:, COL["req_procs"]])
    mp, mn = raw.machine()
    # no processor count: nodes unknown, set to 1 by the counted "nodes missing or < 1 -> 1" rule
    nodes = np.where(procs > 0, np.ceil(procs * mn / mp - 1e-9), np.nan) if mp and mn else np.ones(len(f))
    if not (mp and mn):
        report.notes.append("SWF has no MaxProcs/MaxNodes header: each job counted as one node")
    status = f[:, COL["status"]].astype(int)
    if len(status) > 1 and np.all(status == 0) and np.any(f[:, COL["run"]] > 0):
        # "failed" for every job that ran is a trace that does not record the status (theta_2022
        # writes 0 throughout), not a machine where nothing succeeded
        report.change("SWF status 0 (failed) on every job: taken as not recorded (state UNKNOWN)", len(status))
        status = np.full(len(status), -1)
    state = pd.Series(status).map({1: "COMPLETED", 0: "FAILED", 5: "CANCELLED"}).fillna("UNKNOWN")
    user = f[:, COL["user"]]
    req = f[:, COL["req_time"]]
    queue = f[:, COL["queue"]]
    partition = f[:, COL["partition"]]
    return pd.DataFrame(
        {
            "job_id": pd.Series(f[:, COL["job_id"]].astype(np.int64)).astype("string"),
            "user": pd.Series(np.where(user >= 0, user, np.nan)).astype("Int64").astype("string"),
            "partition": pd.Series(np.where(partition >= 0, partition, np.where(queue >= 0, queue, np.nan)))
            .astype("Int64")
            .astype("string"),
            "node_type": pd.Series([pd.NA] * len(f), dtype="string"),
            "submit": submit,
            "start": start,
            "end": end,
            "nodes": pd.Series(np.maximum(nodes, 1)).astype("Int64"),
            "cores": pd.Series(np.where(procs > 0, procs, np.nan)).round().astype("Int64"),
            "gpus": pd.Series([pd.NA] * len(f), dtype="Int64"),
            "time_limit": np.where(req > 0, req, np.nan),
            "state": state.astype("string"),
            "exit_code": pd.Series([pd.NA] * len(f), dtype="string"),
            "nodelist": pd.Series([pd.NA] * len(f), dtype="string"),
            **absent_resources(len(f), cpus=np.where(procs > 0, procs, np.nan)),
        }
    )
