"""Text job tables parsed with pandas: ``sacct --parsable2`` output and CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schedlab.analytics.jobs.frames import _frame_from_columns
from schedlab.analytics.jobs.schema import ALIASES
from schedlab.errors import JobFormatError
from schedlab.workload.cleaning_report import CleaningReport


def read_sacct(path: Path, tz: str, report: CleaningReport):
    """``sacct --parsable2`` output ('|'-separated, header line).  Job steps (``123.batch``,
    ``123.0``, ``123.extern``) are folded into their job and counted; the job's own line wins."""
    import io

    import pandas as pd

    text = Path(path).read_text(encoding="utf-8", errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or "|" not in lines[0]:
        raise JobFormatError(f"{path}: not sacct --parsable2 output (no '|'-separated header line)")
    ncol = lines[0].count("|") + 1
    for i, ln in enumerate(lines[1:], start=2):
        if ln.count("|") + 1 != ncol:
            raise JobFormatError(f"{path}: line {i} has {ln.count('|') + 1} fields, the header has {ncol}")
    df = pd.read_csv(io.StringIO("\n".join(lines)), sep="|", dtype=str, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    idcol = next((c for c in df.columns if c.lower() in ("jobid", "jobidraw")), None)
    if idcol is None:
        raise JobFormatError(f"{path}: no JobID column; found {', '.join(df.columns)}")
    step = df[idcol].str.contains(".", regex=False)
    report.read = int((~step).sum())
    report.notes.append(f"{int(step.sum()):,} job-step lines (e.g. 123.batch) folded into their jobs")
    lines_no = np.flatnonzero(~step.to_numpy()) + 2  # file lines (header = line 1), for error messages
    jobs = df[~step].reset_index(drop=True)
    return _frame_from_columns(jobs, str(path), tz, report, rows=lines_no)


def read_csv_jobs(path: Path, tz: str, report: CleaningReport):
    """A CSV with canonical or sacct-style column names (see :data:`ALIASES`)."""
    import pandas as pd

    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise JobFormatError(f"{path}: not a readable CSV ({exc})") from None
    for c in df.columns:  # numbers stay numbers, text stays text
        num = pd.to_numeric(df[c], errors="coerce")
        if len(df) and num.notna().sum() == (df[c].str.strip() != "").sum() and c.lower() not in ALIASES["job_id"]:
            df[c] = num
    report.read = len(df)
    return _frame_from_columns(df, str(path), tz, report, rows=np.arange(len(df)) + 2)
