"""The canonical job schema: column names and SQL types, the source names accepted for each
column, the final states and the input formats (see the table in :mod:`schedlab.analytics.jobs`)."""

from __future__ import annotations

JOB_COLUMNS: tuple[str, ...] = (
    "job_id",
    "user",
    "partition",
    "node_type",
    "submit",
    "start",
    "end",
    "nodes",
    "cores",
    "gpus",
    "time_limit",
    "state",
    "exit_code",
    "nodelist",
)
_SQL_TYPES = {
    "job_id": "VARCHAR",
    "user": "VARCHAR",
    "partition": "VARCHAR",
    "node_type": "VARCHAR",
    "submit": "DOUBLE",
    "start": "DOUBLE",
    "end": "DOUBLE",
    "nodes": "BIGINT",
    "cores": "BIGINT",
    "gpus": "BIGINT",
    "time_limit": "DOUBLE",
    "state": "VARCHAR",
    "exit_code": "VARCHAR",
    "nodelist": "VARCHAR",
}
REQUIRED = ("job_id", "submit")
STATES = (
    "COMPLETED",
    "FAILED",
    "TIMEOUT",
    "CANCELLED",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
    "UNKNOWN",
)
FORMATS = ("auto", "sacct", "csv", "parquet", "swf", "opendc", "schedlab")

#: Source column names accepted for each canonical column (case-insensitive), for CSV and Parquet.
ALIASES: dict[str, tuple[str, ...]] = {
    "job_id": ("job_id", "jobid", "jobidraw", "id", "job"),
    "user": ("user", "username", "user_id", "uid"),
    "partition": ("partition", "queue"),
    "node_type": ("node_type", "nodetype", "hardware", "node_class"),
    "submit": ("submit", "submit_time", "submission_time", "submitted", "eligible"),
    "start": ("start", "start_time", "started"),
    "end": ("end", "end_time", "ended", "finish", "finish_time"),
    "nodes": ("nodes", "nnodes", "node_count", "num_nodes", "allocnodes"),
    "cores": ("cores", "ncpus", "cpus", "cpu_count", "alloccpus", "num_cores", "procs"),
    "gpus": ("gpus", "ngpus", "gpu_count", "num_gpus"),
    "time_limit": ("time_limit", "timelimit", "walltime", "req_time", "time_limit_s"),
    "state": ("state", "status", "final_state", "job_state"),
    "exit_code": ("exit_code", "exitcode"),
    "nodelist": ("nodelist", "node_list", "hosts", "hostlist"),
}


def _find_col(columns, canonical: str):
    low = {c.lower(): c for c in columns}
    for a in ALIASES[canonical]:
        if a in low:
            return low[a]
    return None
