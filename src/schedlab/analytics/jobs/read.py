"""``read_jobs``: any supported source read, staged in DuckDB, cleaned and counted."""

from __future__ import annotations

from pathlib import Path

from schedlab.analytics.jobs.cleaning import _check_hostlists, _clean
from schedlab.analytics.jobs.detect import detect_format
from schedlab.analytics.jobs.frames import _frame_from_columns
from schedlab.analytics.jobs.parquet import _opendc_sql, _parquet_sql
from schedlab.analytics.jobs.schema import FORMATS
from schedlab.analytics.jobs.simulation import _schedlab_frame
from schedlab.analytics.jobs.store import _connect, _stage_frame, _stage_sql
from schedlab.analytics.jobs.swf import read_swf_jobs
from schedlab.analytics.jobs.table import JobTable
from schedlab.analytics.jobs.text import read_csv_jobs, read_sacct
from schedlab.analytics.jobs.timezones import check_timezone
from schedlab.errors import DataNotFound, JobFormatError, SchedlabError
from schedlab.workload.cleaning_report import CleaningReport


def read_jobs(
    path: str | Path,
    format: str = "auto",
    timezone: str = "UTC",
    lenient: bool = False,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    threads: int | None = None,
    materialize: bool = True,
) -> JobTable:
    """Read a job table (schema: see :mod:`schedlab.analytics.jobs`) and clean it, counting each rule.

    ``format``: auto (from name and content), sacct (``sacct --parsable2``), csv, parquet, swf,
    opendc (``tasks.parquet``), schedlab (a ``schedlab simulate --out`` folder or its jobs table).
    ``timezone``: the zone of naive time stamps.  ``lenient``: clear unparseable node lists
    (counted) instead of raising :class:`HostlistError`.

    Memory: a Parquet (or OpenDC) file is never loaded into pandas; DuckDB scans it and keeps the
    cleaned table as a columnar temp table that it spills to ``temp_directory`` once its buffers
    reach ``memory_limit`` (e.g. ``"40MB"``; default DuckDB's, 80 % of RAM), so tables larger than
    memory work, only slower.  ``materialize=False`` keeps even that table out: the cleaned table
    is a view over the Parquet scan (slower statistics, each re-reads the file).  ``threads``: DuckDB
    threads (default 2; 1 under a memory limit below 128 MB).  Text formats (sacct, CSV, SWF,
    schedlab) are parsed with pandas.
    """
    timezone = check_timezone(timezone)
    path, fmt = _resolve(Path(path), format)
    report = CleaningReport(source=str(path))
    con = _connect(memory_limit, temp_directory, threads)
    try:
        frame, sql = _read_source(con, path, fmt, timezone, report)
        if frame is not None:
            _stage_frame(con, frame)
        else:
            _stage_sql(con, sql, path, fmt)
        lazy = frame is None and not materialize
        _clean(con, "jobs_raw", "jobs", report, materialize=not lazy)
        view = "jobs"
        if _check_hostlists(con, "jobs", str(path), report, lenient):
            view = "jobs_h"
        states_known = bool(con.sql(f"SELECT count(*) FILTER (WHERE state <> 'UNKNOWN') FROM {view}").fetchone()[0])
    except Exception as exc:
        _raise_foreign(exc, path, fmt)
        raise
    waits_known = fmt not in ("opendc",) and not any("start taken = submit" in n for n in report.notes)
    return JobTable(
        con,
        view,
        str(path),
        fmt,
        report,
        waits_known=waits_known,
        states_known=states_known,
        timezone=timezone,
        meta={"format": fmt},
    )


def _resolve(path: Path, format: str) -> tuple[Path, str]:
    """The file to read (a bundled trace name resolved) and its format (detected for ``auto``)."""
    if not path.exists():  # a bundled trace name, as --trace takes elsewhere
        from schedlab.workload.bundled import BUNDLED, resolve_trace

        try:
            path = resolve_trace(path)
        except FileNotFoundError:
            raise DataNotFound(f"job file not found: {path} (nor a bundled trace: {', '.join(BUNDLED)})") from None
    if format not in FORMATS:
        raise JobFormatError(f"unknown format {format!r}; choose from {', '.join(FORMATS)}")
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "opendc" and path.is_dir():
        path = path / "tasks.parquet"
    return path, fmt


def _read_source(con, path: Path, fmt: str, timezone: str, report: CleaningReport):
    """``(frame, None)`` for a source parsed with pandas, ``(None, sql)`` for a DuckDB SELECT over
    Parquet; DuckDB and pyarrow errors become :class:`JobFormatError`."""
    sql = None
    frame = None
    try:
        if fmt == "sacct":
            frame = read_sacct(path, timezone, report)
        elif fmt == "csv":
            frame = read_csv_jobs(path, timezone, report)
        elif fmt == "swf":
            frame = read_swf_jobs(path, report)
        elif fmt == "schedlab":
            frame = _schedlab_frame(path, report)
        elif fmt == "opendc":
            sql = _opendc_sql(con, path, timezone, report)
        elif fmt == "parquet":
            sql = _parquet_sql(con, path, timezone, report)
            if sql is None:
                import pandas as pd

                report.notes.append("text time columns in Parquet: parsed with pandas (whole file loaded)")
                df = pd.read_parquet(path)
                report.read = len(df)
                frame = _frame_from_columns(df, str(path), timezone, report)
    except Exception as exc:
        _raise_foreign(exc, path, fmt)
        raise
    return frame, sql


def _raise_foreign(exc: Exception, path: Path, fmt: str) -> None:
    """A DuckDB or pyarrow error (conversion, corrupt Parquet, ...) or an I/O error (pyarrow raises
    ``OSError`` for a corrupt page) as a one-line :class:`JobFormatError` naming the file; anything
    else is left to the caller to re-raise."""
    if isinstance(exc, SchedlabError):
        return
    if not (isinstance(exc, OSError) or type(exc).__module__.startswith(("duckdb", "_duckdb", "pyarrow"))):
        return
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    raise JobFormatError(f"{path}: cannot read as {fmt}: {first[:300]}") from None
