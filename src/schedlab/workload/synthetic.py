"""Synthetic workloads made from a real one (for scaling studies and benchmarks)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.table import Workload


def resample(workload: Workload, n_jobs: int, seed: int = 0) -> Workload:
    """``n_jobs`` jobs drawn with replacement from ``workload``: each job's (runtime, request,
    processors, user) and each inter-arrival gap are resampled independently, so the offered
    load and the job mix stay those of the source trace while its length changes."""
    if n_jobs <= 0:
        raise SchedlabError("n_jobs must be positive")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(workload), size=n_jobs)
    gaps = np.diff(workload.submit)
    if len(gaps) == 0:
        gaps = np.zeros(1)
    submit = np.r_[0.0, np.cumsum(rng.choice(gaps, size=n_jobs - 1))] if n_jobs > 1 else np.zeros(1)
    return replace(
        workload,
        name=f"{workload.name}~{n_jobs}",
        job_id=np.arange(1, n_jobs + 1, dtype=np.int64),
        submit=submit,
        run=workload.run[idx].copy(),
        req_time=workload.req_time[idx].copy(),
        procs=workload.procs[idx].copy(),
        user=workload.user[idx].copy(),
        raw_submit=submit.copy(),
        status=workload.status[idx].copy(),
        cleaning=CleaningReport(source=f"resampled from {workload.name}", read=n_jobs, kept=n_jobs),
    )
