"""Text job tables parsed with pandas: ``sacct --parsable2`` output and CSV.

Both are read through :func:`read_text_lines`: plain or gzip, at most 1 MiB per line (a longer
line, ``/dev/zero`` or a binary file is refused naming the line), strict UTF-8 (a byte that is not
UTF-8 is refused naming the line, never replaced), a leading byte-order mark skipped.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from schedlab.errors import JobFormatError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.frames import _frame_from_columns
from schedlab.workload.jobtables.schema import ALIASES


def read_text_lines(path: Path, what: str) -> list[str]:
    """The lines of a text job table (line ends removed), bounded and strictly UTF-8 (see module doc)."""
    from schedlab.workload.swf import iter_lines

    lines = []
    for lineno, raw in iter_lines(Path(path), JobFormatError, what):
        try:
            lines.append(raw.decode("utf-8").rstrip("\r\n"))
        except UnicodeDecodeError as exc:
            raise JobFormatError(
                f"{path}:{lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            ) from None
    return lines


#: the cleaning-report entry of the job-step lines a simulation drops (``steps="drop"``)
STEP_RULE = "job steps (123.batch, 123.0, 123.extern): part of their job"


def read_sacct(path: Path, tz: str, report: CleaningReport, steps: str = "fold"):
    """``sacct --parsable2`` output ('|'-separated, header line).  Job steps (``123.batch``,
    ``123.0``, ``123.extern``) are left out, the job's own line wins: with ``steps="fold"`` (analyze)
    a note counts them and ``read`` counts jobs; with ``steps="drop"`` (a simulation) ``read``
    counts every line and the steps are a dropped rule (:data:`STEP_RULE`)."""
    import io

    import pandas as pd

    numbered = [(i, ln) for i, ln in enumerate(read_text_lines(path, "sacct --parsable2 table"), start=1) if ln.strip()]
    if not numbered or "|" not in numbered[0][1]:
        raise JobFormatError(f"{path}: not sacct --parsable2 output (no '|'-separated header line)")
    ncol = numbered[0][1].count("|") + 1
    for i, ln in numbered[1:]:
        if ln.count("|") + 1 != ncol:
            raise JobFormatError(f"{path}: line {i} has {ln.count('|') + 1} fields, the header has {ncol}")
    text = "\n".join(ln for _, ln in numbered)
    try:  # parsable2 output is never quoted: a '"' is part of a value
        df = pd.read_csv(io.StringIO(text), sep="|", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise JobFormatError(f"{path}: not readable as sacct --parsable2 output ({exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    idcol = next((c for c in df.columns if c.lower() in ("jobid", "jobidraw")), None)
    if idcol is None:
        raise JobFormatError(f"{path}: no JobID column; found {', '.join(df.columns)}")
    step = df[idcol].str.contains(".", regex=False)
    if steps == "drop":
        report.read = len(df)
        report.drop(STEP_RULE, int(step.sum()))
    else:
        report.read = int((~step).sum())
        report.notes.append(f"{int(step.sum()):,} job-step lines (e.g. 123.batch) folded into their jobs")
    file_lines = np.array([i for i, _ in numbered[1:]], dtype=np.int64)
    lines_no = file_lines[~step.to_numpy()]  # file lines of the jobs, for error messages
    jobs = df[~step].reset_index(drop=True)
    return _frame_from_columns(jobs, str(path), tz, report, rows=lines_no)


def read_csv_jobs(path: Path, tz: str, report: CleaningReport):
    """A CSV with canonical or sacct-style column names (see :data:`ALIASES`)."""
    import io

    import pandas as pd

    text = "\n".join(read_text_lines(path, "CSV job table"))
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise JobFormatError(f"{path}: not a readable CSV ({exc})") from None
    df.columns = [str(c) for c in df.columns]
    for c in df.columns:  # numbers stay numbers, text stays text
        num = pd.to_numeric(df[c], errors="coerce")
        if len(df) and num.notna().sum() == (df[c].str.strip() != "").sum() and c.lower() not in ALIASES["job_id"]:
            df[c] = num
    report.read = len(df)
    return _frame_from_columns(df, str(path), tz, report, rows=np.arange(len(df)) + 2)
