"""A machine as plain data (what ``schedlab cluster show --json`` prints): :func:`describe`.

CPUs and GPUs are in whole units (a milli-unit machine shows ``0.5`` for half a GPU), memory in
MiB, times in seconds (``null``: unlimited) and as Slurm writes them; each partition's nodes as a
count and a Slurm hostlist.
"""

from __future__ import annotations

import math

import numpy as np

from schedlab.cluster.fields import compress, format_slurm_time
from schedlab.cluster.model import Cluster


def _units(value: float, unit: int) -> int | float:
    """``value`` in whole units: an int when it is one."""
    whole = value / unit
    return int(whole) if whole == int(whole) else whole


def _seconds(value: float) -> float | None:
    return None if math.isinf(value) else value


def describe(cluster: Cluster) -> dict:
    """Everything :func:`~schedlab.cluster.load.load_cluster` read, as JSON-ready data."""
    totals = cluster.totals()
    default = cluster.default_partition.name
    prio = cluster.priority
    return {
        "name": cluster.name,
        "source": cluster.source,
        "allocation": str(cluster.allocation),
        "select": str(cluster.select),
        "cpu_unit": cluster.cpu_unit,
        "gpu_unit": cluster.gpu_unit,
        "totals": {k: (int(v) if v == int(v) else v) for k, v in totals.items()},
        "node_types": [
            {
                "name": nt.name,
                "count": nt.count,
                "cpus": _units(nt.cpus, cluster.cpu_unit),
                "gpus": _units(nt.gpus, cluster.gpu_unit),
                "gpu_type": nt.gpu_type,
                "mem_mib": nt.mem_mib,
                "hostlist": compress(cluster.node_names[i] for i in np.flatnonzero(cluster.node_type == k)),
                "features": list(nt.features),
            }
            for k, nt in enumerate(cluster.node_types)
        ],
        "partitions": [
            {
                "name": p.name,
                "nodes": len(p.nodes),
                "hostlist": compress(cluster.node_names[i] for i in p.nodes),
                "max_time": format_slurm_time(p.max_time_s),
                "max_time_s": _seconds(p.max_time_s),
                "max_nodes": p.max_nodes,
                "default": p.name == default,
                "priority_tier": p.priority_tier,
                "priority_job_factor": p.priority_job_factor,
                "allow_qos": list(p.allow_qos),
                "qos": p.qos,
            }
            for p in cluster.partitions
        ],
        "qos": [
            {
                "name": q.name,
                "priority": q.priority,
                "max_jobs_per_user": q.max_jobs_per_user,
                "max_gpus_per_user": q.max_gpus_per_user,
                "max_wall": format_slurm_time(q.max_wall_s),
                "max_wall_s": _seconds(q.max_wall_s),
            }
            for q in cluster.qos
        ],
        "priority": {
            **{f: _units(getattr(prio, f), 1) for f in ("weight_age", "weight_fairshare", "weight_job_size")},
            **{f: _units(getattr(prio, f), 1) for f in ("weight_partition", "weight_qos", "weight_assoc")},
            "decay_half_life_s": _seconds(prio.decay_half_life_s),
            "max_age_s": _seconds(prio.max_age_s),
            "calc_period_s": _seconds(prio.calc_period_s),
            "favor_small": prio.favor_small,
            "fairshare": str(prio.fairshare),
            "shares": dict(prio.shares),
        },
        "notes": list(cluster.notes),
    }


__all__ = ["describe"]
