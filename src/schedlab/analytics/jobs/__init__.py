"""One job table for every source: Slurm ``sacct`` (text and JSON), CSV/Parquet, SWF, OpenDC, the
Alibaba GPU pod list and schedlab's own simulation output, read into a canonical schema with a
counted cleaning report.

The table lives in DuckDB (a view named by :attr:`JobTable.view`) so that the statistics in
:mod:`schedlab.analytics.characterize` run as SQL over the source file: a Parquet file is never
loaded whole into pandas.  Text formats (sacct, CSV, SWF) are parsed with pandas first and then
registered with the same connection.

The readers and the canonical columns (:data:`JOB_COLUMNS`, the table in
:mod:`schedlab.workload.jobtables`) are shared with the simulator's job-table loader
(:func:`schedlab.workload.jobs.workload_from_jobs`): they live in :mod:`schedlab.workload.jobtables`,
below both, and are re-exported here.

Modules here: :mod:`~.hostlist` (Slurm hostlists), :mod:`~.cleaning` (counted cleaning for
statistics), :mod:`~.table` (:class:`JobTable`) and :mod:`~.read` (:func:`read_jobs`).
"""

from __future__ import annotations

from schedlab.analytics.jobs.hostlist import expand_hostlist
from schedlab.analytics.jobs.read import read_jobs
from schedlab.analytics.jobs.table import JobTable
from schedlab.errors import HostlistError, JobFormatError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.detect import detect_format
from schedlab.workload.jobtables.fields import normalize_state, parse_duration
from schedlab.workload.jobtables.pods import read_alibaba_pods
from schedlab.workload.jobtables.schema import ALIASES, FORMATS, JOB_COLUMNS, REQUIRED, RESOURCE_COLUMNS, STATES
from schedlab.workload.jobtables.slurm_json import read_sacct_json
from schedlab.workload.jobtables.swf import read_swf_jobs
from schedlab.workload.jobtables.text import read_csv_jobs, read_sacct
from schedlab.workload.jobtables.timezones import parse_times

__all__ = [
    "ALIASES",
    "FORMATS",
    "JOB_COLUMNS",
    "REQUIRED",
    "RESOURCE_COLUMNS",
    "STATES",
    "CleaningReport",
    "HostlistError",
    "JobFormatError",
    "JobTable",
    "detect_format",
    "expand_hostlist",
    "normalize_state",
    "parse_duration",
    "parse_times",
    "read_alibaba_pods",
    "read_csv_jobs",
    "read_jobs",
    "read_sacct",
    "read_sacct_json",
    "read_swf_jobs",
]
