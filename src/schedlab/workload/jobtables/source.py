"""Any supported job source read onto the canonical columns, before any cleaning rule: the one
entry point shared by ``schedlab analyze`` (:func:`schedlab.analytics.jobs.read_jobs`, which stages
the result in DuckDB and cleans it for statistics) and the simulator's job-table loader
(:func:`schedlab.workload.jobs.workload_from_jobs`, which cleans it for a simulation)."""

from __future__ import annotations

from pathlib import Path

from schedlab.errors import DataNotFound, JobFormatError, SchedlabError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.schema import FORMATS


def resolve_source(path: Path, format: str) -> tuple[Path, str]:
    """The file to read (a bundled trace name resolved) and its format (detected for ``auto``)."""
    from schedlab.workload.jobtables.detect import detect_format

    path = Path(path)
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


def read_source(con, path: Path, fmt: str, timezone: str, report: CleaningReport, steps: str = "fold"):
    """``(frame, None)`` for a source parsed with pandas, ``(None, sql)`` for a DuckDB SELECT over
    Parquet (``con``: a connection of :func:`.store._connect`); DuckDB and pyarrow errors become
    :class:`JobFormatError`.  ``steps``: what sacct's job-step lines become (see :func:`.text.read_sacct`)."""
    from schedlab.workload.jobtables.frames import _frame_from_columns
    from schedlab.workload.jobtables.parquet import _opendc_sql, _parquet_sql
    from schedlab.workload.jobtables.pods import read_alibaba_pods
    from schedlab.workload.jobtables.simulation import _schedlab_frame
    from schedlab.workload.jobtables.slurm_json import read_sacct_json
    from schedlab.workload.jobtables.swf import read_swf_jobs
    from schedlab.workload.jobtables.text import read_csv_jobs, read_sacct

    sql = None
    frame = None
    try:
        if fmt == "sacct":
            frame = read_sacct(path, timezone, report, steps=steps)
        elif fmt == "sacct_json":
            frame = read_sacct_json(path, timezone, report)
        elif fmt == "alibaba_pods":
            frame = read_alibaba_pods(path, timezone, report)
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

                report.notes.append("text columns in Parquet: parsed with pandas (whole file loaded)")
                df = pd.read_parquet(path)
                report.read = len(df)
                frame = _frame_from_columns(df, str(path), timezone, report)
    except Exception as exc:
        raise_foreign(exc, path, fmt)
        raise
    return frame, sql


def read_frame(path: str | Path, format: str = "auto", timezone: str = "UTC", steps: str = "drop"):
    """``(frame, format, report)``: the canonical columns of any supported source as one pandas
    frame, before any cleaning rule (Parquet goes through DuckDB, loaded whole).  ``report`` holds
    what the reader counted (``read``, job steps dropped with ``steps="drop"``, rewrites, notes)."""
    from schedlab.workload.jobtables.schema import JOB_COLUMNS
    from schedlab.workload.jobtables.store import _connect
    from schedlab.workload.jobtables.timezones import check_timezone

    timezone = check_timezone(timezone)
    path, fmt = resolve_source(Path(path), format)
    report = CleaningReport(source=str(path))
    con = _connect(threads=1) if fmt in ("parquet", "opendc") else None
    try:
        frame, sql = read_source(con, path, fmt, timezone, report, steps=steps)
        if frame is None:
            frame = con.sql(sql).df()
            if not report.read:
                report.read = len(frame)
    except Exception as exc:
        raise_foreign(exc, path, fmt)
        raise
    finally:
        if con is not None:
            con.close()
    return frame[list(JOB_COLUMNS)].reset_index(drop=True), fmt, report


def raise_foreign(exc: Exception, path: Path, fmt: str) -> None:
    """A DuckDB or pyarrow error (conversion, corrupt Parquet, ...) or an I/O error (pyarrow raises
    ``OSError`` for a corrupt page) as a one-line :class:`JobFormatError` naming the file; anything
    else is left to the caller to re-raise."""
    if isinstance(exc, SchedlabError):
        return
    if not (isinstance(exc, OSError) or type(exc).__module__.startswith(("duckdb", "_duckdb", "pyarrow"))):
        return
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    raise JobFormatError(f"{path}: cannot read as {fmt}: {first[:300]}") from None


__all__ = ["raise_foreign", "read_frame", "read_source", "resolve_source"]
