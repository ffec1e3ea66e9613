"""The outcome of one simulation: per-job times as columns, plus what produced them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from schedlab.simulator.config import SimConfig
from schedlab.workload.table import Workload


@dataclass
class SimResult:
    """Per-job schedule of a workload.

    start/end  float64 seconds on the workload's clock (submit of the first job = 0)
    run        effective runtime (clipped at the request when jobs are killed)
    size       units held (processors or nodes, see ``config.capacity_unit``); ``capacity`` units
    reservation  EASY: shadow time the job got when it last became the blocked head (on a
               ``--cluster`` machine: the earliest shadow time computed while it was the head, at
               its first pass as head and whenever a backfill decision needed it: a job's whose nodes
               may be the head's); conservative:
               reservation made at arrival; inf if none was needed
    sim_seconds  engine wall time (parsing and cleaning excluded)
    """

    workload: Workload
    config: SimConfig
    start: np.ndarray
    end: np.ndarray
    run: np.ndarray
    size: np.ndarray
    capacity: int
    reservation: np.ndarray
    sim_seconds: float = 0.0
    passes: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def wait(self) -> np.ndarray:
        return self.start - self.workload.submit

    def to_frame(self):
        """Per-job table: id, user, submit, start, end, wait, run, req_time, procs, size, bsld."""
        import pandas as pd

        from schedlab.metrics import bounded_slowdown

        wl = self.workload
        frame = pd.DataFrame(
            {
                "job_id": wl.job_id,
                "user": wl.user,
                "submit": wl.submit,
                "start": self.start,
                "end": self.end,
                "wait": self.wait,
                "run": self.run,
                "req_time": wl.req_time,
                "procs": wl.procs,
                "size": self.size,
                "bsld": bounded_slowdown(self.wait, self.run),
            }
        )
        if "predicted" in self.extra:  # the runtime predicted when the job arrived
            frame["predicted"] = self.extra["predicted"]
        if "multires" in self.extra:
            for k, v in self.resource_columns().items():
                frame[k] = v
        return frame

    def resource_columns(self) -> dict:
        """Multi-resource runs: per job its partition, the nodes it got (a Slurm hostlist), their
        count and what it held on each (CPUs and GPUs in whole units, memory in MiB; under
        exclusive allocation the whole node), its QOS, account and GPU type."""
        from schedlab.analytics.jobs.hostlist import compress_hostlist

        m = self.extra["multires"]
        cluster, prep, alloc, off = m["cluster"], m["prepared"], m["alloc"], m["off"]
        names = np.asarray(cluster.node_names, dtype=object)
        excl = cluster.allocation == "exclusive"
        per_node = prep.tot[alloc[off[:-1]]] if excl and len(off) > 1 else prep.req
        mem = np.where(per_node[:, 2] >= 2**50, 0, per_node[:, 2])
        cols = {
            "partition": np.asarray(cluster.partition_names, dtype=object)[prep.partition],
            "nodelist": [compress_hostlist(names[alloc[off[j] : off[j + 1]]]) for j in range(len(off) - 1)],
            "nodes": prep.nodes,
            "cpus_per_node": per_node[:, 0] / cluster.cpu_unit,
            "gpus_per_node": per_node[:, 1] / cluster.gpu_unit,
            "mem_per_node": mem,
        }
        res = self.workload.resources
        if res is not None:
            more = res.to_columns()
            cols.update({k: more[k] for k in ("qos", "account", "gpu_type")})
        return cols
