"""One job table for every source: Slurm ``sacct``, CSV/Parquet, SWF, OpenDC and schedlab's own
simulation output, read into a canonical schema with a counted cleaning report.

The table lives in DuckDB (a view named by :attr:`JobTable.view`) so that the statistics in
:mod:`schedlab.analytics.characterize` run as SQL over the source file: a Parquet file is never
loaded whole into pandas.  Text formats (sacct, CSV, SWF) are parsed with pandas first and then
registered with the same connection.

Canonical columns (:data:`JOB_COLUMNS`; times are seconds since the Unix epoch, UTC):

==========  ========  ==============================================================================
job_id      VARCHAR   job id as the source writes it (Slurm array/het ids kept as text)
user        VARCHAR   user name or id; NULL if unknown
partition   VARCHAR   Slurm partition / queue; NULL if unknown
node_type   VARCHAR   hardware type of the nodes (from the hardware table or the partition); NULL
submit      DOUBLE    submit time
start       DOUBLE    start time; NULL if the job never started (e.g. cancelled while pending)
end         DOUBLE    end time; NULL if never started
nodes       BIGINT    nodes allocated (>= 1)
cores       BIGINT    CPU cores allocated; NULL if unknown
gpus        BIGINT    GPUs allocated (0 when the source has no GPU field)
time_limit  DOUBLE    requested wall time, seconds; NULL if unlimited/unknown
state       VARCHAR   final state, upper case: COMPLETED, FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY,
                      NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, or UNKNOWN
exit_code   VARCHAR   ``code:signal`` as sacct prints it; NULL if unknown
nodelist    VARCHAR   Slurm hostlist of the allocated nodes; NULL if unknown
==========  ========  ==============================================================================

Time stamps with a UTC offset (``2024-03-01T10:00:00+01:00``, ``...Z``) are converted to UTC.
Naive time stamps (sacct prints local time without an offset) are read in the ``timezone``
argument (default UTC), and the report says so; DST-ambiguous or non-existent local times are
resolved to standard time / shifted forward and counted.

Modules: :mod:`~.schema` (columns, aliases, states, formats), :mod:`~.hostlist` (Slurm
hostlists), :mod:`~.timezones` (time stamps to epoch seconds), :mod:`~.fields` (durations,
states, GPU counts), :mod:`~.frames` (a generic frame onto the schema), the readers
:mod:`~.text` (sacct, CSV), :mod:`~.swf`, :mod:`~.parquet` (Parquet, OpenDC) and
:mod:`~.simulation` (``schedlab simulate --out``), :mod:`~.detect` (format guessing),
:mod:`~.store` (DuckDB connection and staging), :mod:`~.cleaning` (counted cleaning),
:mod:`~.table` (:class:`JobTable`) and :mod:`~.read` (:func:`read_jobs`).
"""

from __future__ import annotations

from schedlab.analytics.jobs.detect import detect_format
from schedlab.analytics.jobs.fields import normalize_state, parse_duration
from schedlab.analytics.jobs.hostlist import expand_hostlist
from schedlab.analytics.jobs.read import read_jobs
from schedlab.analytics.jobs.schema import ALIASES, FORMATS, JOB_COLUMNS, REQUIRED, STATES
from schedlab.analytics.jobs.swf import read_swf_jobs
from schedlab.analytics.jobs.table import JobTable
from schedlab.analytics.jobs.text import read_csv_jobs, read_sacct
from schedlab.analytics.jobs.timezones import parse_times
from schedlab.errors import HostlistError, JobFormatError
from schedlab.workload.cleaning_report import CleaningReport

__all__ = [
    "ALIASES",
    "FORMATS",
    "JOB_COLUMNS",
    "REQUIRED",
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
    "read_csv_jobs",
    "read_jobs",
    "read_sacct",
    "read_swf_jobs",
]
