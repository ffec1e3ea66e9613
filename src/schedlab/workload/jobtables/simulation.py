"""``schedlab simulate --out`` output (a folder or its jobs table) as a canonical job frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from schedlab.errors import JobFormatError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.schema import absent_resources


def _schedlab_frame(path: Path, report: CleaningReport):
    """``schedlab simulate --out DIR`` output (DIR or its jobs.parquet/jobs.csv).

    Simulated times are seconds from the first submit (placed at the Unix epoch); the simulator
    models no job outcomes, so state is UNKNOWN; ``size`` is nodes only when the run held whole
    nodes (``capacity_unit = nodes`` in summary.json), else nodes are unknown.
    """
    import pandas as pd

    folder = path if path.is_dir() else path.parent
    f = next((p for p in (path / "jobs.parquet", path / "jobs.csv") if p.exists()), None) if path.is_dir() else path
    if f is None:
        raise JobFormatError(f"{path}: no jobs.parquet or jobs.csv (write one with `schedlab simulate --out {path}`)")
    df = pd.read_parquet(f) if f.suffix == ".parquet" else pd.read_csv(f)
    need = [c for c in ("job_id", "submit", "start", "end", "procs") if c not in df.columns]
    if need:
        raise JobFormatError(f"{f}: not a schedlab simulation table: missing {', '.join(need)}")
    unit = "procs"
    summ = folder / "summary.json"
    if summ.exists():
        try:
            cfg = json.loads(summ.read_text()).get("config", {})
            unit = cfg.get("capacity_unit", unit)
            report.notes.append(
                f"simulation: policy {cfg.get('policy')} + {cfg.get('backfill')} backfill "
                f"({cfg.get('preset')}), capacity unit {unit}"
            )
        except (OSError, ValueError):
            report.notes.append(f"{summ}: unreadable, capacity unit assumed procs")
    report.read = len(df)
    report.notes.append(
        "simulated times count from the first submit (shown as 1970-01-01 00:00 UTC); "
        "the simulator models no job outcomes (state UNKNOWN)"
    )
    n = len(df)
    return pd.DataFrame(
        {
            "job_id": df["job_id"].astype("string"),
            "user": df["user"].astype("string") if "user" in df else pd.Series([pd.NA] * n, dtype="string"),
            "partition": pd.Series([pd.NA] * n, dtype="string"),
            "node_type": pd.Series([pd.NA] * n, dtype="string"),
            "submit": df["submit"].astype(float),
            "start": df["start"].astype(float),
            "end": df["end"].astype(float),
            "nodes": (df["size"] if unit == "nodes" and "size" in df else pd.Series([pd.NA] * n)).astype("Int64"),
            "cores": df["procs"].astype("Int64"),
            "gpus": pd.Series([pd.NA] * n, dtype="Int64"),
            "time_limit": df["req_time"].astype(float) if "req_time" in df else np.nan,
            "state": "UNKNOWN",
            "exit_code": pd.Series([pd.NA] * n, dtype="string"),
            "nodelist": pd.Series([pd.NA] * n, dtype="string"),
            **absent_resources(n, cpus=df["procs"].astype(float).to_numpy()),
        }
    )
