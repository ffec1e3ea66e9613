"""A generic pandas frame (CSV, sacct-style or Parquet columns) mapped onto the canonical columns."""

from __future__ import annotations

import numpy as np

from schedlab.errors import JobFormatError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.fields import _gpus_from_tres, check_numbers, counts, durations, normalize_state
from schedlab.workload.jobtables.schema import ALIASES, JOB_COLUMNS, REQUIRED, _find_col
from schedlab.workload.jobtables.timezones import MAX_EPOCH, parse_times
from schedlab.workload.jobtables.tres import _resource_columns


def _frame_from_columns(df, path: str, tz: str, report: CleaningReport, rows=None):
    """Map a generic (CSV / sacct-style / Parquet-as-pandas) frame onto the canonical columns."""
    import pandas as pd

    out = pd.DataFrame(index=df.index)
    cols = {c: _find_col(df.columns, c) for c in JOB_COLUMNS}
    dur = _check_columns(df, cols, path)
    out["job_id"] = df[cols["job_id"]].astype("string")
    _text_columns(out, df, cols)
    _time_columns(out, df, cols, dur, path, tz, report, rows)
    _count_columns(out, df, cols, path, rows)
    out["time_limit"] = _time_limit(df, cols, path, report, rows)
    out["state"] = _state(df, cols)
    out = out.reset_index(drop=True)
    _resource_columns(out, df.reset_index(drop=True), cols, path, report, rows)
    return out[list(JOB_COLUMNS)]


def _check_columns(df, cols: dict, path: str):
    """Raise unless the required columns are there; the duration column when start or end is missing."""
    missing = [c for c in REQUIRED if cols[c] is None]
    if missing:
        raise JobFormatError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}. "
            f"Accepted names: " + "; ".join(f"{c}: {'/'.join(ALIASES[c])}" for c in missing)
        )
    dur = None
    if cols["start"] is None or cols["end"] is None:
        dur = next(
            (c for c in df.columns if c.lower() in ("elapsed", "duration", "run", "runtime", "elapsedraw")), None
        )
        if dur is None:
            raise JobFormatError(
                f"{path}: needs start and end columns (or a duration/elapsed column); "
                f"found {', '.join(map(str, df.columns))}"
            )
    return dur


def _text_columns(out, df, cols: dict) -> None:
    """user, partition, node_type, exit_code, nodelist, account, qos: stripped text, Slurm's empty
    markers as NA."""
    import pandas as pd

    for c in ("user", "partition", "node_type", "exit_code", "nodelist", "account", "qos"):
        if cols[c] is None:
            out[c] = pd.Series(pd.NA, index=df.index, dtype="string")
            continue
        v = df[cols[c]].astype("string").str.strip()
        out[c] = v.mask(v.isin(["", "None assigned", "(null)", "None"]))


def _time_columns(out, df, cols: dict, dur, path: str, tz: str, report: CleaningReport, rows) -> None:
    """submit, start and end as epoch seconds; a missing start is the submit, a missing end start + duration.
    A time before 1970 (negative epoch seconds; -1 is "unknown" in SWF-style tables) is missing, counted."""
    import pandas as pd

    for c in ("submit", "start", "end"):
        if cols[c] is not None:
            x = parse_times(
                df[cols[c]].to_numpy() if not pd.api.types.is_datetime64_any_dtype(df[cols[c]]) else df[cols[c]],
                tz=tz,
                path=path,
                column=cols[c],
                report=report,
                rows=rows,
            )
            with np.errstate(invalid="ignore"):
                neg = x < 0
            report.change(f"{c}: negative time (before 1970) -> missing", int(neg.sum()))
            out[c] = np.where(neg, np.nan, x)
    if cols["start"] is None:
        out["start"] = out["submit"]
        report.notes.append("no start column: start taken = submit (wait unknown)")
    if cols["end"] is None:
        d = df[dur]
        if pd.api.types.is_numeric_dtype(d):
            secs = d.to_numpy(dtype=np.float64, na_value=np.nan)
            check_numbers(secs, path, dur, rows, lo=-MAX_EPOCH, hi=MAX_EPOCH * 1000)
        else:
            secs = durations(d.to_numpy(), path, dur, rows)
        if dur.lower() == "duration" and pd.api.types.is_numeric_dtype(d) and np.nanmax(secs, initial=0) > 1e7:
            secs = secs / 1000.0
            report.notes.append(f"{dur}: taken as milliseconds")
        out["end"] = out["start"].to_numpy(dtype=np.float64) + secs


def _count_columns(out, df, cols: dict, path: str, rows) -> None:
    """nodes, cores and gpus as integers (gpus from an AllocTRES column when there is no GPU column;
    NA without either: "not in the source", read as 0 by the analytics cleaning); a value that is
    not a whole number up to 10^8 is refused (see :func:`.fields.counts`)."""
    import pandas as pd

    for c in ("nodes", "cores", "gpus"):
        if cols[c] is not None:
            out[c] = counts(df[cols[c]], path, cols[c], rows).array
        else:
            out[c] = pd.Series(pd.NA, index=df.index, dtype="Int64")
    if cols["gpus"] is None:
        tres = next((c for c in df.columns if c.lower() in ("alloctres", "reqtres", "tres")), None)
        if tres is not None:
            out["gpus"] = _gpus_from_tres(df[tres], path, tres, rows).to_numpy()


def _time_limit(df, cols: dict, path: str, report: CleaningReport, rows):
    """Requested wall time in seconds (numbers as they are, Slurm durations parsed); NaN without a
    column.  Infinite or absurd numbers are refused; a negative one (-1: unknown) is NaN, counted."""
    import pandas as pd

    col = cols["time_limit"]
    if col is None:
        return np.nan
    tl = df[col]
    if not pd.api.types.is_numeric_dtype(tl):  # a bare number is minutes (Slurm's TimelimitRaw too)
        return durations(tl.to_numpy(), path, col, rows)
    x = tl.to_numpy(dtype=np.float64, na_value=np.nan)
    if col.lower() == "timelimitraw":  # sacct's TimelimitRaw: minutes
        x = x * 60.0
    check_numbers(x, path, col, rows, lo=-MAX_EPOCH, hi=MAX_EPOCH)
    with np.errstate(invalid="ignore"):
        neg = x < 0
    report.change("time_limit < 0 -> unknown (NULL)", int(neg.sum()))
    return np.where(neg, np.nan, x)


def _state(df, cols: dict):
    """Canonical final states (SWF-style numeric codes 1/0/5 mapped first); UNKNOWN without a column."""
    import pandas as pd

    if cols["state"] is None:
        return "UNKNOWN"
    st = df[cols["state"]]
    if pd.api.types.is_numeric_dtype(st):
        st = st.map({1: "COMPLETED", 0: "FAILED", 5: "CANCELLED"}).fillna("UNKNOWN")
    return normalize_state(st)
