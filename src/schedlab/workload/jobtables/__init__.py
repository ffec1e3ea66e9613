"""The job-table readers: Slurm ``sacct`` (``--parsable2`` and ``--json``), CSV/Parquet, SWF,
OpenDC, the Alibaba GPU pod list and schedlab's own simulation output, read onto one canonical
schema.  One layer for both users: ``schedlab analyze`` (:func:`schedlab.analytics.jobs.read_jobs`
stages the frame in DuckDB and cleans it for statistics) and the simulator
(:func:`schedlab.workload.jobs.workload_from_jobs` cleans it into a :class:`~schedlab.workload.Workload`).

Canonical columns (:data:`~.schema.JOB_COLUMNS`; times are seconds since the Unix epoch, UTC):

============  ========  ============================================================================
job_id        VARCHAR   job id as the source writes it (Slurm array/het ids kept as text)
user          VARCHAR   user name or id; NULL if unknown
partition     VARCHAR   Slurm partition / queue; NULL if unknown
node_type     VARCHAR   hardware type of the nodes (from the hardware table or the partition); NULL
submit        DOUBLE    submit time
start         DOUBLE    start time; NULL if the job never started (e.g. cancelled while pending)
end           DOUBLE    end time; NULL if never started
nodes         BIGINT    nodes allocated (>= 1)
cores         BIGINT    CPU cores allocated; NULL if unknown
gpus          BIGINT    GPUs allocated, whole devices (analyze reads NULL, no GPU field, as 0)
time_limit    DOUBLE    requested wall time, seconds; NULL if unlimited/unknown
state         VARCHAR   final state, upper case: COMPLETED, FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY,
                        NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, or UNKNOWN
exit_code     VARCHAR   ``code:signal`` as sacct prints it; NULL if unknown
nodelist      VARCHAR   Slurm hostlist of the allocated nodes; NULL if unknown
account       VARCHAR   account charged; NULL if unknown
qos           VARCHAR   quality of service (Slurm QOS, Kubernetes QoS class); NULL if unknown
cpus          DOUBLE    total CPUs (fractions: Kubernetes milli-CPUs); NULL if unknown
mem_per_node  DOUBLE    memory per node, MiB; NULL if unknown
gpu_type      VARCHAR   GPU type asked for (``gres/gpu:a100``); NULL: any or unknown
gpu_share     DOUBLE    share of each GPU held, (0, 1] (GPU-sharing pods); NULL: whole GPUs
nice          BIGINT    Slurm nice value; NULL if unknown
============  ========  ============================================================================

Time stamps with a UTC offset (``2024-03-01T10:00:00+01:00``, ``...Z``) are converted to UTC.
Naive time stamps (sacct prints local time without an offset) are read in the ``timezone``
argument (default UTC), and the report says so; DST-ambiguous or non-existent local times are
resolved to standard time / shifted forward and counted.

Modules: :mod:`~.schema` (columns, aliases, states, formats), :mod:`~.timezones` (time stamps to
epoch seconds), :mod:`~.fields` (durations, counts, states, GPU counts), :mod:`~.tres` (the
resource columns from TRES, GRES and memory sizes), :mod:`~.frames` (a generic frame onto the
schema), the readers :mod:`~.text` (sacct, CSV), :mod:`~.slurm_json` (``sacct --json``),
:mod:`~.pods` (the Alibaba pod list), :mod:`~.swf`, :mod:`~.parquet` (Parquet, OpenDC, as DuckDB
SQL) and :mod:`~.simulation` (``schedlab simulate --out``), :mod:`~.detect` (format guessing),
:mod:`~.store` (DuckDB connection and staging) and :mod:`~.source` (:func:`~.source.read_source`,
:func:`~.source.read_frame`).  Heavy libraries (pandas, DuckDB, pyarrow) load inside the functions.
"""

from __future__ import annotations

from schedlab.workload.jobtables.detect import detect_format
from schedlab.workload.jobtables.fields import normalize_state, parse_duration
from schedlab.workload.jobtables.schema import ALIASES, FORMATS, JOB_COLUMNS, REQUIRED, RESOURCE_COLUMNS, STATES
from schedlab.workload.jobtables.source import read_frame, read_source, resolve_source
from schedlab.workload.jobtables.timezones import parse_times
from schedlab.workload.jobtables.tres import parse_size, parse_tres

__all__ = [
    "ALIASES",
    "FORMATS",
    "JOB_COLUMNS",
    "REQUIRED",
    "RESOURCE_COLUMNS",
    "STATES",
    "detect_format",
    "normalize_state",
    "parse_duration",
    "parse_size",
    "parse_times",
    "parse_tres",
    "read_frame",
    "read_source",
    "resolve_source",
]
