"""Workload: SWF reading, job tables (:mod:`.jobtables`, :mod:`.jobs`), counted cleaning, the columnar
job table, windows and load scaling."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from schedlab.errors import SchedlabError
from schedlab.workload.bundled import BUNDLED, DEFAULT_TRACE, resolve_trace
from schedlab.workload.cleaning import RULE_SETS, clean
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.swf import RawTrace, TraceFormatError, read_swf
from schedlab.workload.table import Workload


def load_trace(
    name_or_path: str | Path = DEFAULT_TRACE,
    rules: str = "textbook",
    lenient: bool = False,
    *,
    timezone: str = "UTC",
    partitions: Collection[str] | None = None,
) -> Workload:
    """Read a bundled trace name or an SWF path and apply a cleaning rule set; or read a job table
    (``sacct --parsable2`` / ``--json``, CSV, Parquet, OpenDC, the Alibaba pod list; a path or
    ``data:DATASET/FILE``) through :func:`schedlab.workload.jobs.workload_from_jobs`.

    A file is a job table when the job-table reader recognises it as one and not as SWF; anything
    else is read as SWF, as always.  ``rules`` and ``lenient`` apply to SWF (a job table has one rule
    set and its reader is strict; another ``rules`` is refused); ``timezone`` and ``partitions``
    apply to job tables (see :func:`~schedlab.workload.jobs.workload_from_jobs`)."""
    path = _resolve(name_or_path)
    fmt = _table_format(path)
    if fmt is None:
        if partitions is not None:
            raise SchedlabError(f"{path}: partitions apply to job tables; an SWF trace numbers its partitions")
        return clean(read_swf(path, lenient=lenient), rules=rules)
    if rules != "textbook":
        raise SchedlabError(
            f"cleaning rules {rules!r} are for SWF traces; {path} is a {fmt} job table (its rules: "
            "see schedlab.workload.jobs)"
        )
    from schedlab.workload.jobs import workload_from_jobs

    return workload_from_jobs(path, format=fmt, timezone=timezone, partitions=partitions)


def _resolve(name_or_path: str | Path) -> Path:
    """A bundled name or a path (:func:`resolve_trace`), or ``data:DATASET/FILE`` (a dataset's file)."""
    if str(name_or_path).startswith("data:"):
        from schedlab.datasets import resolve_data_path

        return resolve_data_path(str(name_or_path))
    return resolve_trace(name_or_path)


def _table_format(path: Path) -> str | None:
    """The job-table format of ``path``, or None for SWF and for what the detector cannot tell."""
    from schedlab.errors import JobFormatError
    from schedlab.workload.jobtables.detect import detect_format

    try:
        fmt = detect_format(path)
    except JobFormatError:
        return None
    return None if fmt == "swf" else fmt


__all__ = [
    "BUNDLED",
    "DEFAULT_TRACE",
    "RULE_SETS",
    "CleaningReport",
    "RawTrace",
    "TraceFormatError",
    "Workload",
    "clean",
    "load_trace",
    "read_swf",
    "resolve_trace",
]
