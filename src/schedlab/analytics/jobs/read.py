"""``read_jobs``: any supported source read (:mod:`schedlab.workload.jobtables`), staged in DuckDB,
cleaned and counted."""

from __future__ import annotations

from pathlib import Path

from schedlab.analytics.jobs.cleaning import _check_hostlists, _clean
from schedlab.analytics.jobs.table import JobTable
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.source import raise_foreign, read_source, resolve_source
from schedlab.workload.jobtables.store import _connect, _stage_frame, _stage_sql
from schedlab.workload.jobtables.timezones import check_timezone


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

    ``format``: auto (from name and content), sacct (``sacct --parsable2``), sacct_json (``sacct
    --json``), csv, parquet, swf, opendc (``tasks.parquet``), schedlab (a ``schedlab simulate --out``
    folder or its jobs table), alibaba_pods (the Alibaba GPU pod list).
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
    path, fmt = resolve_source(Path(path), format)
    report = CleaningReport(source=str(path))
    con = _connect(memory_limit, temp_directory, threads)
    try:
        frame, sql = read_source(con, path, fmt, timezone, report)
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
        raise_foreign(exc, path, fmt)
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
