"""The Alibaba GPU cluster pod list (``openb_pod_list_*.csv``, clusterdata ``cluster-trace-gpu-v2023``,
the trace of "Beware of Fragmentation", USENIX ATC 2023) as a canonical job frame.

Columns: ``name``, ``cpu_milli`` (CPUs x 1000), ``memory_mib``, ``num_gpu`` (0-8), ``gpu_milli``
(the share of each GPU, 0-1000: below 1000 only for GPU-sharing pods, which have one GPU),
``gpu_spec`` (allowed GPU types, ``|``-separated; empty: any), ``qos`` (LS, BE, Burstable,
Guaranteed), ``pod_phase`` (Running, Succeeded, Failed, Pending), ``creation_time``,
``scheduled_time`` and ``deletion_time`` (seconds from the start of the capture).

Mapping: job_id = name, submit = creation_time, start = scheduled_time (empty: never scheduled),
end = deletion_time, one node per pod, cpus = cpu_milli / 1000 (cores: rounded up), gpus =
num_gpu whole devices with gpu_share = gpu_milli / 1000 of each (so the GPUs held are num_gpu x
gpu_milli / 1000), mem_per_node = memory_mib, gpu_type = gpu_spec, qos = qos; pod phases
Succeeded / Failed / Running / Pending become COMPLETED / FAILED / RUNNING / PENDING (any other
phase is kept as written, upper case).  There is no user, account, partition or time limit.
Values outside those ranges (or not plain numbers) raise :class:`JobFormatError` naming the line.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from schedlab.errors import JobFormatError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.fields import MAX_COUNT
from schedlab.workload.jobtables.tres import MAX_MEM_MIB, _numeric

POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "pod_phase", "creation_time")
PHASES = {"Succeeded": "COMPLETED", "Failed": "FAILED", "Running": "RUNNING", "Pending": "PENDING"}
#: the latest time accepted, seconds from the start of the capture (about 3,000 years)
MAX_POD_TIME = 1e11


def read_alibaba_pods(path: Path, tz: str, report: CleaningReport):
    """The pod list (see the module docstring) as a canonical frame."""
    import io

    import pandas as pd

    from schedlab.workload.jobtables.frames import _frame_from_columns
    from schedlab.workload.jobtables.text import read_text_lines

    text = "\n".join(read_text_lines(path, "Alibaba pod list"))
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise JobFormatError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in POD_COLUMNS if c not in df.columns]
    if missing:
        raise JobFormatError(
            f"{path}: not an Alibaba pod list with times: missing {', '.join(missing)} (found {', '.join(df.columns)})"
        )
    rows = np.arange(len(df)) + 2
    p = str(path)
    num = {c: _numeric(df, c, p, rows, lo=0, hi=MAX_COUNT * 1000, whole=True) for c in ("cpu_milli", "num_gpu")}
    check = {"memory_mib": (0, MAX_MEM_MIB), "gpu_milli": (0, 1000)}
    for c, (lo, hi) in check.items():
        num[c] = _numeric(df, c, p, rows, lo=lo, hi=hi, whole=True)
    for c in ("creation_time", "scheduled_time", "deletion_time"):
        num[c] = _numeric(df, c, p, rows, lo=0, hi=MAX_POD_TIME) if c in df.columns else np.full(len(df), np.nan)
    for c in ("cpu_milli", "num_gpu", "memory_mib", "gpu_milli", "creation_time"):
        if np.isnan(num[c]).any():
            i = int(np.flatnonzero(np.isnan(num[c]))[0])
            raise JobFormatError(f"{path}: column {c!r}, line {rows[i]}: empty")
    report.read = len(df)
    cpus = num["cpu_milli"] / 1000.0
    phase = df["pod_phase"].astype("string").str.strip()
    frame = pd.DataFrame(
        {
            "job_id": df["name"].astype("string"),
            "submit": num["creation_time"],
            "start": num["scheduled_time"],
            "end": num["deletion_time"],
            "nodes": np.ones(len(df), dtype=np.int64),
            "cores": np.ceil(cpus),
            "cpus": cpus,
            "gpus": num["num_gpu"],
            "gpu_share": np.where(num["num_gpu"] > 0, num["gpu_milli"] / 1000.0, np.nan),
            "mem_per_node": num["memory_mib"],
            "gpu_type": df["gpu_spec"].astype("string") if "gpu_spec" in df.columns else pd.NA,
            "qos": df["qos"].astype("string") if "qos" in df.columns else pd.NA,
            "state": phase.map(lambda s: PHASES.get(s, str(s).upper())).astype("string"),
        }
    )
    running = int((phase == "Running").sum())
    report.notes.append(
        "Alibaba pod list: times are seconds from the start of the capture (not dates); no user, account, "
        "partition or time limit; gpus = whole GPUs, gpu_share = gpu_milli / 1000 of each; "
        f"{running:,} pods in phase Running (alive at the capture: runtime up to deletion_time as recorded)"
    )
    return _frame_from_columns(frame, p, tz, report, rows=rows)


__all__ = ["PHASES", "POD_COLUMNS", "read_alibaba_pods"]
