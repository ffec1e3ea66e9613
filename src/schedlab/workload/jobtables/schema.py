"""The canonical job schema: column names and SQL types, the source names accepted for each
column, the final states and the input formats (see the table in :mod:`schedlab.workload.jobtables`)."""

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
    "account",
    "qos",
    "cpus",
    "mem_per_node",
    "gpu_type",
    "gpu_share",
    "nice",
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
    "account": "VARCHAR",
    "qos": "VARCHAR",
    "cpus": "DOUBLE",
    "mem_per_node": "DOUBLE",
    "gpu_type": "VARCHAR",
    "gpu_share": "DOUBLE",
    "nice": "BIGINT",
}
#: the resource columns a multi-resource simulation reads (NULL: not in the source)
RESOURCE_COLUMNS = ("account", "qos", "cpus", "mem_per_node", "gpu_type", "gpu_share", "nice")
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
FORMATS = ("auto", "sacct", "sacct_json", "csv", "parquet", "swf", "opendc", "schedlab", "alibaba_pods")

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
    "time_limit": ("time_limit", "timelimit", "walltime", "req_time", "time_limit_s", "timelimitraw"),
    "state": ("state", "status", "final_state", "job_state"),
    "exit_code": ("exit_code", "exitcode"),
    "nodelist": ("nodelist", "node_list", "hosts", "hostlist"),
    "account": ("account", "acct", "project"),
    "qos": ("qos",),
    # total CPUs; without such a column: the cores column, TRES cpu=, ReqCPUS (see .requests)
    "cpus": ("cpus", "cpus_total", "total_cpus"),
    # MiB per node (numbers) or Slurm sizes ("64G"); sacct's ReqMem and TRES mem= are read apart
    "mem_per_node": ("mem_per_node", "memory_per_node", "mem_per_node_mib"),
    "gpu_type": ("gpu_type", "gpu_model", "gpu_spec"),
    "gpu_share": ("gpu_share",),
    "nice": ("nice",),
}


def _find_col(columns, canonical: str):
    low = {c.lower(): c for c in columns}
    for a in ALIASES[canonical]:
        if a in low:
            return low[a]
    return None


def absent_resources(n: int, **given) -> dict:
    """The :data:`RESOURCE_COLUMNS` of a source that has none of them (all NA), except those ``given``."""
    import pandas as pd

    kinds = {"DOUBLE": "Float64", "BIGINT": "Int64", "VARCHAR": "string"}
    out = {c: pd.Series([pd.NA] * n, dtype=kinds[_SQL_TYPES[c]]) for c in RESOURCE_COLUMNS}
    out.update({c: pd.Series(v) for c, v in given.items()})
    return out
